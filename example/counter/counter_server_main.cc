// counter-server: one replica of a replicated counter (see README in this directory).
//
// Opens DIR/log (RocksDB) and DIR/raft_meta, serves Raft and the counter's methods on --peer,
// and runs until SIGTERM or SIGINT, then shuts the node down cleanly and exits 0.
// Exit codes: 0 after a clean shutdown, 1 when it cannot start (storage, port), 2 for bad flags.
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "counter_service.h"
#include "counter_state_machine.h"
#include "flag_parser.h"
#include "raft/node.h"
#include "replica_server.h"
#include "server_flags.h"
#include "service_reads.h"

namespace {

constexpr const char* kProgram = "counter-server";

std::string usage() {
  return std::string("usage: ") + kProgram + " " + example::ServerFlags::kUsage +
         " [--read index|lease|wait-free|log]";
}

struct CounterServerFlags {
  example::ServerFlags replica;
  example::ServiceReadMode read = example::ServiceReadMode::kIndex;
};

// The replica flags plus --read; --read is checked before the data directory is created.
raft::Result<CounterServerFlags> parse_flags(const std::vector<std::string>& args) {
  std::set<std::string> known = example::server_flag_names();
  known.insert("--read");
  example::FlagParser parser(std::move(known), example::server_flag_switches());
  if (raft::Status s = parser.parse(args); !s.ok()) return s;
  CounterServerFlags flags;
  if (std::optional<std::string> read = parser.get("--read")) {
    raft::Result<example::ServiceReadMode> mode = example::parse_service_read_mode(*read);
    if (!mode.ok()) return mode.status();
    flags.read = *mode;
  }
  raft::Result<example::ServerFlags> replica = example::parse_server_flags(parser);
  if (!replica.ok()) return replica.status();
  flags.replica = std::move(replica).value();
  return flags;
}

int run(const example::ServerFlags& flags, example::ServiceReadMode read,
        const sigset_t& stop_signals) {
  // Declared in this order: the service borrows the node, the node borrows the state machine.
  counter::CounterStateMachine fsm("counter " + flags.peer.to_string());
  raft::Node node(flags.group, flags.peer);
  counter::CounterService service(&node, &fsm, read);
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
  raft::Result<CounterServerFlags> flags =
      parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << kProgram << ": " << flags.status().message() << " (" << usage() << ")"
              << std::endl;
    return example::kExitUsage;
  }
  if (flags->replica.help) {
    std::cout << usage() << std::endl;
    return example::kExitOk;
  }
  // Blocked before any thread starts, so every thread inherits the mask.
  const sigset_t stop_signals = example::block_stop_signals(flags->replica);
  return run(flags->replica, flags->read, stop_signals);
}
