#include "client_program.h"

#include <cstdlib>
#include <iostream>

#include "raft/check.h"
#include "raft/logging.h"
#include "raft/rpc/io_context_pool.h"

namespace example {

int with_rpc_client(const std::string& program,
                    const std::function<int(raft::rpc::RpcClient* rpc)>& body) {
  return with_rpc_client(
      program, [&](raft::rpc::RpcClient* rpc, raft::rpc::IoContextPool*) { return body(rpc); });
}

int with_rpc_client(
    const std::string& program,
    const std::function<int(raft::rpc::RpcClient* rpc, raft::rpc::IoContextPool* pool)>& body) {
  if (std::getenv("PONTOON_LOG_LEVEL") == nullptr) raft::set_log_level(raft::LogLevel::kWarn);
  raft::rpc::IoContextPool pool(2, program);
  raft::rpc::RpcClient rpc(&pool, raft::rpc::RpcClientOptions{});
  pool.start();
  const int code = body(&rpc, &pool);
  pool.stop();
  rpc.shutdown();
  return code;
}

int report_failure(const std::string& program, const std::string& op, const CallResult& result,
                   int64_t timeout_ms) {
  PONTOON_CHECK(result.outcome != CallResult::Outcome::kOk);
  const std::string why = "last error from " + result.endpoint + ": " + result.error.to_string() +
                          ", after " + std::to_string(result.attempts) + " attempt(s)";
  if (result.outcome == CallResult::Outcome::kUnknown) {
    std::cerr << program << ": " << op
              << ": OUTCOME UNKNOWN - the write may or may not have been applied (" << why << ")"
              << std::endl;
    return kExitUnknown;
  }
  std::cerr << program << ": " << op << ": gave up within --timeout-ms " << timeout_ms << " ("
            << why << ")" << std::endl;
  return kExitGaveUp;
}

int print_status_lines(const std::string& program, const std::vector<std::string>& lines,
                       bool any_answered) {
  for (const std::string& line : lines) std::cout << line << "\n";
  std::cout.flush();
  if (!any_answered) {
    std::cerr << program << ": status: no replica answered" << std::endl;
    return kExitGaveUp;
  }
  return kExitOk;
}

StopOnSignals::StopOnSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  watcher_ = std::jthread([this](std::stop_token stop) {
    // Polls so that the destructor's stop request is seen within one period.
    const timespec period{0, 100'000'000};
    while (!stop.stop_requested()) {
      if (sigtimedwait(&signals_, nullptr, &period) > 0) {
        stopped_.store(true);
        return;
      }
    }
  });
}

}  // namespace example
