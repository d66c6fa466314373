// counter-client: increments, reads and inspects a counter cluster, or puts load on it.
//
// Exit codes: 0 done; 1 gave up (no leader, or every replica failed, within --timeout-ms);
// 2 bad usage; 3 an increment whose outcome is unknown (it may or may not have been applied).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "client_flags.h"
#include "counter_client.h"
#include "load_generator.h"
#include "raft/logging.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/rpc_client.h"

namespace counter {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitGaveUp = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnknown = 3;

// How long `status` waits for each replica, at most.
constexpr std::chrono::milliseconds kStatusTimeout{2000};

std::string why(const OpResult& result) {
  return "last error from " + result.endpoint + ": " + result.error.to_string() + ", after " +
         std::to_string(result.attempts) + " attempt(s)";
}

int report_failure(const std::string& op, const OpResult& result, int64_t timeout_ms) {
  if (result.outcome == OpResult::Outcome::kUnknown) {
    std::cerr << "counter-client: " << op
              << ": OUTCOME UNKNOWN - the increment may or may not have been applied ("
              << why(result) << ")" << std::endl;
    return kExitUnknown;
  }
  std::cerr << "counter-client: " << op << ": gave up within --timeout-ms " << timeout_ms << " ("
            << why(result) << ")" << std::endl;
  return kExitGaveUp;
}

std::string format_status(const ReplicaStatus& s) {
  std::ostringstream line;
  line << s.endpoint << "  ";
  if (!s.error.ok()) {
    line << "unreachable (" << s.error << ")";
    return line.str();
  }
  line << "role=" << s.role << " term=" << s.term
       << " leader=" << (s.leader.empty() ? "none" : s.leader) << " last=" << s.last_log_index
       << " commit=" << s.commit_index << " applied=" << s.applied_index << " value=" << s.value;
  return line.str();
}

int run(const ClientFlags& flags, CounterClient& client) {
  switch (flags.command) {
    case ClientFlags::Command::kIncr: {
      OpResult result = client.increment(flags.delta);
      if (result.outcome != OpResult::Outcome::kOk) {
        return report_failure("incr " + std::to_string(flags.delta), result, flags.timeout_ms);
      }
      std::cout << result.value << std::endl;
      return kExitOk;
    }
    case ClientFlags::Command::kGet: {
      OpResult result = client.get();
      if (result.outcome != OpResult::Outcome::kOk) {
        return report_failure("get", result, flags.timeout_ms);
      }
      std::cout << result.value << std::endl;
      return kExitOk;
    }
    case ClientFlags::Command::kStatus: {
      const auto timeout =
          std::min<raft::Duration>(std::chrono::milliseconds(flags.timeout_ms), kStatusTimeout);
      bool any_answered = false;
      for (const ReplicaStatus& status : client.status_all(timeout)) {
        std::cout << format_status(status) << "\n";
        any_answered = any_answered || status.error.ok();
      }
      std::cout.flush();
      if (!any_answered) {
        std::cerr << "counter-client: status: no replica answered" << std::endl;
        return kExitGaveUp;
      }
      return kExitOk;
    }
    case ClientFlags::Command::kLoad: {
      LoadTotals totals = run_load(client, flags.load);
      std::cerr << totals.summary() << std::flush;
      std::cout << totals.totals_line() << std::endl;
      return kExitOk;
    }
  }
  return kExitUsage;
}

}  // namespace
}  // namespace counter

int main(int argc, char** argv) {
  using counter::ClientFlags;
  raft::Result<ClientFlags> flags =
      counter::parse_client_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << "counter-client: " << flags.status().message() << " (" << ClientFlags::kUsage
              << ")" << std::endl;
    return counter::kExitUsage;
  }
  if (flags->help) {
    std::cout << ClientFlags::kUsage << std::endl;
    return counter::kExitOk;
  }
  // The framework's info lines (a connection lost, a reconnect) are noise for a command-line
  // tool; PONTOON_LOG_LEVEL still overrides.
  if (std::getenv("PONTOON_LOG_LEVEL") == nullptr) raft::set_log_level(raft::LogLevel::kWarn);
  raft::rpc::IoContextPool pool(2, "counter-client");
  raft::rpc::RpcClient rpc(&pool, raft::rpc::RpcClientOptions{});
  pool.start();
  int code = counter::kExitOk;
  {
    counter::CounterClient client(&rpc, flags->endpoints,
                                  std::chrono::milliseconds(flags->timeout_ms));
    code = counter::run(*flags, client);
  }
  pool.stop();
  rpc.shutdown();
  return code;
}
