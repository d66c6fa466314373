// counter-client: increments, reads and inspects a counter cluster, or puts load on it.
//
// Exit codes: 0 done; 1 gave up (no leader, or every replica failed, within --timeout-ms);
// 2 bad usage; 3 an increment whose outcome is unknown (it may or may not have been applied);
// 4 a load's get returned less than an increment acknowledged before it (a stale read).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "client_flags.h"
#include "client_program.h"
#include "counter_client.h"
#include "load_generator.h"

namespace counter {
namespace {

constexpr const char* kProgram = "counter-client";

// How long `status` waits for each replica, at most.
constexpr std::chrono::milliseconds kStatusTimeout{2000};

int print_value(const std::string& op, const OpResult& result, int64_t timeout_ms) {
  if (result.outcome != OpResult::Outcome::kOk) {
    return example::report_failure(kProgram, op, result, timeout_ms);
  }
  std::cout << result.value << std::endl;
  return example::kExitOk;
}

int run(const ClientFlags& flags, CounterClient& client, const std::atomic<bool>* stop) {
  switch (flags.command) {
    case ClientFlags::Command::kIncr:
      return print_value("incr " + std::to_string(flags.delta), client.increment(flags.delta),
                         flags.timeout_ms);
    case ClientFlags::Command::kGet:
      return print_value("get", client.get(), flags.timeout_ms);
    case ClientFlags::Command::kStatus: {
      const auto timeout =
          std::min<raft::Duration>(std::chrono::milliseconds(flags.timeout_ms), kStatusTimeout);
      std::vector<std::string> lines;
      bool any_answered = false;
      for (const ReplicaStatus& status : client.status_all(timeout)) {
        std::string line = example::describe(status);
        if (status.error.ok()) line += " value=" + std::to_string(status.value);
        lines.push_back(std::move(line));
        any_answered = any_answered || status.error.ok();
      }
      return example::print_status_lines(kProgram, lines, any_answered);
    }
    case ClientFlags::Command::kLoad: {
      LoadOptions options = flags.load;
      options.stop = stop;
      LoadTotals totals = run_load(client, options);
      std::cerr << totals.summary() << std::flush;
      std::cout << totals.totals_line() << std::endl;
      return totals.stale_reads > 0 ? example::kExitViolation : example::kExitOk;
    }
  }
  return example::kExitUsage;
}

}  // namespace
}  // namespace counter

int main(int argc, char** argv) {
  using counter::ClientFlags;
  raft::Result<ClientFlags> flags =
      counter::parse_client_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << counter::kProgram << ": " << flags.status().message() << " ("
              << ClientFlags::kUsage << ")" << std::endl;
    return example::kExitUsage;
  }
  if (flags->help) {
    std::cout << ClientFlags::kUsage << std::endl;
    return example::kExitOk;
  }
  // SIGINT or SIGTERM ends a load early, with its totals printed as at a planned end.
  std::optional<example::StopOnSignals> stop;
  if (flags->command == ClientFlags::Command::kLoad) stop.emplace();
  return example::with_rpc_client(
      counter::kProgram, [&](raft::rpc::RpcClient* rpc, raft::rpc::IoContextPool* pool) {
        counter::CounterClient client(rpc, flags->endpoints,
                                      std::chrono::milliseconds(flags->timeout_ms));
        if (flags->host_client_fibers) flags->load.host = pool;
        return counter::run(*flags, client, stop ? &stop->stopped() : nullptr);
      });
}
