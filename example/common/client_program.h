// What the example clients' main() functions share: an RpcClient on a small IO pool, and the
// messages and exit codes (exit_codes.h) for an operation that did not succeed.
// Thread-safety: call from main().
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "exit_codes.h"
#include "leader_client.h"
#include "raft/rpc/rpc_client.h"

namespace example {

// Runs `body` with an RpcClient, and returns what it returns. The framework's info lines (a
// connection lost, a reconnect) are noise for a command-line tool, so the log level is lowered
// to warnings unless PONTOON_LOG_LEVEL is set.
int with_rpc_client(const std::string& program,
                    const std::function<int(raft::rpc::RpcClient* rpc)>& body);
// As above, also handing `body` the IO pool whose threads read the client's replies (running
// while `body` runs), for a load that hosts its client fibers there (FiberThreads).
int with_rpc_client(
    const std::string& program,
    const std::function<int(raft::rpc::RpcClient* rpc, raft::rpc::IoContextPool* pool)>& body);

// Reports on stderr an operation `op` that ended kUnknown or kFailed, and returns kExitUnknown
// or kExitGaveUp. REQUIRES: result.outcome != kOk.
int report_failure(const std::string& program, const std::string& op, const CallResult& result,
                   int64_t timeout_ms);

// Prints one line per replica on stdout; kExitGaveUp (with a line on stderr) if none answered.
int print_status_lines(const std::string& program, const std::vector<std::string>& lines,
                       bool any_answered);

// Turns SIGINT and SIGTERM into a flag, so that a long-running command (a load) can end early
// and still print what it did. Construct it in main() before any other thread starts: the
// constructor blocks both signals, which every later thread inherits, and a watcher thread
// takes them with sigtimedwait. The destructor stops and joins the watcher; the signals stay
// blocked. Thread-safety: stopped() may be called from any thread.
class StopOnSignals {
 public:
  StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  const std::atomic<bool>& stopped() const { return stopped_; }

 private:
  sigset_t signals_;
  std::atomic<bool> stopped_{false};
  std::jthread watcher_;  // Last: it uses the members above and joins before they go.
};

}  // namespace example
