// counter-server: one replica of a replicated counter (see README in this directory).
//
// Opens DIR/log (RocksDB) and DIR/raft_meta, serves Raft and the counter's methods on --peer,
// and runs until SIGTERM or SIGINT, then shuts the node down cleanly and exits 0.
// Exit codes: 0 after a clean shutdown, 1 when it cannot start (storage, port), 2 for bad flags.
#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "counter_service.h"
#include "counter_state_machine.h"
#include "raft/node.h"
#include "replica_server.h"
#include "server_flags.h"

namespace {

constexpr const char* kProgram = "counter-server";

// counter-server's own flag, a TEST HOOK (CounterService): gets answer one less than the value.
constexpr std::string_view kInjectStaleGets = "--inject-stale-gets";

int run(const example::ServerFlags& flags, bool inject_stale_gets, const sigset_t& stop_signals) {
  // Declared in this order: the service borrows the node, the node borrows the state machine.
  counter::CounterStateMachine fsm("counter " + flags.peer.to_string());
  raft::Node node(flags.group, flags.peer);
  counter::CounterService service(&node, &fsm, flags.read, inject_stale_gets);
  if (inject_stale_gets) {
    std::cout << kProgram << ": gets answer one less than the value (" << kInjectStaleGets
              << ", test hook)" << std::endl;
  }
  const int code = example::run_replica(
      kProgram, flags, &fsm, &node,
      [&service](raft::rpc::TcpTransport& transport) {
        return service.register_methods(transport);
      },
      stop_signals);
  if (code == example::kExitOk) {
    std::cout << kProgram << ": stopped (value " << fsm.value() << " at applied index "
              << fsm.applied_index() << ")" << std::endl;
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const auto hook = std::find(args.begin(), args.end(), kInjectStaleGets);
  const bool inject_stale_gets = hook != args.end();
  if (inject_stale_gets) args.erase(hook);
  raft::Result<example::ServerFlags> flags = example::parse_server_flags(args);
  if (!flags.ok()) {
    std::cerr << kProgram << ": " << flags.status().message() << " ("
              << example::server_usage(kProgram) << ")" << std::endl;
    return example::kExitUsage;
  }
  if (flags->help) {
    std::cout << example::server_usage(kProgram) << std::endl;
    return example::kExitOk;
  }
  // Blocked before any thread starts, so every thread inherits the mask.
  const sigset_t stop_signals = example::block_stop_signals(*flags);
  return run(*flags, inject_stale_gets, stop_signals);
}
