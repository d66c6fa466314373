#include "replica_main.h"

#include <csignal>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "bench_service.h"
#include "raft/logging.h"
#include "replica_host.h"

namespace bench {
namespace {

int fail(const std::string& what, const raft::Status& status) {
  std::cerr << "raft-bench replica: " << what << ": " << status << std::endl;
  return 1;
}

raft::Result<std::vector<raft::PeerId>> parse_peers_line(const std::string& line) {
  const std::string prefix = "PEERS ";
  if (line.rfind(prefix, 0) != 0) {
    return raft::Status::InvalidArgument("expected 'PEERS ...' from the driver, got '" + line +
                                         "'");
  }
  std::vector<raft::PeerId> peers;
  std::istringstream list(line.substr(prefix.size()));
  std::string item;
  while (std::getline(list, item, ',')) {
    raft::Result<raft::PeerId> peer = raft::PeerId::parse(item);
    if (!peer.ok()) return peer.status();
    peers.push_back(*peer);
  }
  return peers;
}

}  // namespace

int run_replica_process(int argc, char** argv) {
  raft::Result<ReplicaFlags> flags = parse_replica_flags(argc, argv, 2);
  if (!flags.ok()) {
    std::cerr << "raft-bench replica: " << flags.status().message() << std::endl;
    return 2;
  }
  // A Ctrl-C at a terminal reaches the whole process group: the driver then ends the run and
  // closes our stdin, which is how a replica stops, so that it can still answer the driver.
  std::signal(SIGINT, SIG_IGN);
  raft::set_log_level(raft::LogLevel::kWarn);
  auto pool =
      std::make_shared<raft::ExecutorPool>(static_cast<size_t>(flags->cluster.executor_threads));
  raft::Result<std::unique_ptr<ReplicaHost>> host =
      ReplicaHost::open(flags->cluster, flags->data_dir, pool,
                        [](raft::rpc::TcpTransport& transport, const ReplicaHost* host) {
                          return register_bench_service(transport, host);
                        });
  if (!host.ok()) return fail("starting replica " + std::to_string(flags->index), host.status());
  std::cout << "LISTEN " << (*host)->self().port() << std::endl;

  std::string line;
  if (!std::getline(std::cin, line)) return 0;  // The driver went away before the start.
  raft::Result<std::vector<raft::PeerId>> peers = parse_peers_line(line);
  if (!peers.ok()) return fail("reading the peers", peers.status());
  if (raft::Status s = (*host)->start_groups(*peers); !s.ok()) return fail("starting groups", s);
  std::cout << "READY" << std::endl;

  // Serve until the driver closes our stdin (or dies: then PR_SET_PDEATHSIG ends us too).
  while (std::getline(std::cin, line)) {
  }
  (*host)->shutdown();
  return 0;
}

}  // namespace bench
