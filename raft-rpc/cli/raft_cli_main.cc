// raft-cli: the operator's tool for a running Raft group — membership, leadership transfer,
// snapshots and status, through the CliService every replica serves (docs/operations.md).
//
//   raft-cli add-peer 127.0.0.1:8104 --group counter --conf 127.0.0.1:8101,127.0.0.1:8102
//
// Exit codes: 0 done, 1 failed, 2 bad usage, 3 outcome unknown (see cli_command.h).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli_command.h"
#include "raft/logging.h"
#include "raft/rpc/cli_client.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/rpc_client.h"

int main(int argc, char** argv) {
  using namespace raft::cli;
  raft::Result<CliCommand> command = parse_command(std::vector<std::string>(argv + 1, argv + argc));
  if (!command.ok()) {
    std::cerr << "raft-cli: " << command.status().message() << " (raft-cli --help for usage)"
              << std::endl;
    return kExitUsage;
  }
  if (command->help) {
    std::cout << usage();
    return kExitOk;
  }
  // A reconnect or a lost connection is noise for a command-line tool.
  if (std::getenv("PONTOON_LOG_LEVEL") == nullptr) raft::set_log_level(raft::LogLevel::kWarn);
  raft::rpc::IoContextPool pool(1, "raft-cli");
  raft::rpc::RpcClient rpc(&pool, raft::rpc::RpcClientOptions{});
  pool.start();
  int code = kExitFailed;
  {
    raft::rpc::CliClient client(&rpc, command->group, command->replicas,
                                std::chrono::milliseconds(command->timeout_ms));
    code = run_command(*command, client, std::cout, std::cerr);
  }
  std::cout.flush();
  pool.stop();
  rpc.shutdown();
  return code;
}
