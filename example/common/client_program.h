// What the example clients' main() functions share: an RpcClient on a small IO pool, and the
// messages and exit codes (exit_codes.h) for an operation that did not succeed.
// Thread-safety: call from main().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
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

// Reports on stderr an operation `op` that ended kUnknown or kFailed, and returns kExitUnknown
// or kExitGaveUp. REQUIRES: result.outcome != kOk.
int report_failure(const std::string& program, const std::string& op, const CallResult& result,
                   int64_t timeout_ms);

// Prints one line per replica on stdout; kExitGaveUp (with a line on stderr) if none answered.
int print_status_lines(const std::string& program, const std::vector<std::string>& lines,
                       bool any_answered);

}  // namespace example
