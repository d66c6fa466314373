// ProcessCluster: one replica process per replica (--topology processes), the realistic
// deployment: every replica runs all G groups of its peer in `raft-bench replica` (ReplicaHost
// plus the bench service), and this process only runs the clients, which reach the leaders
// through RpcClient. Starting: spawn all, collect their ports, hand everyone the peer list,
// wait for READY (replica_main.h). Stopping: close their stdins, reap them.
//
// Thread-safety: as BenchCluster; write()/read() from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_cluster.h"
#include "bench_flags.h"
#include "bench_protocol.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/rpc_client.h"
#include "replica_process.h"

namespace bench {

class ProcessCluster final : public BenchCluster, private BenchTarget {
 public:
  // Spawns the replicas with their data under `data_dir`/replica<i>. EIO/ETIMEDOUT naming the
  // replica that did not start.
  static raft::Result<std::unique_ptr<ProcessCluster>> start(const BenchFlags& flags,
                                                             const std::string& data_dir);
  ~ProcessCluster() override;

  BenchTarget* target() override { return this; }
  raft::rpc::IoContextPool* reply_host() override {
    return host_client_fibers_ ? io_pool_.get() : nullptr;
  }
  LeaderTable& leaders() override { return leaders_; }
  raft::Status refresh_leaders() override;
  raft::Result<ClusterUsage> usage() override;
  std::vector<double> peak_rss_mb() override;
  void shutdown() override;

 private:
  explicit ProcessCluster(const BenchFlags& flags);

  raft::Status spawn_replicas(const BenchFlags& flags, const std::string& data_dir);
  // kBenchStatus of one replica, waiting for the answer.
  raft::Result<ReplicaStatus> ask_status(size_t replica);

  // BenchTarget.
  void write(int group, const std::string& payload, Done done) override;
  void read(int group, uint64_t sequence, Done done) override;

  const raft::ReadMode read_mode_;
  const ReadOn read_on_;
  LeaderTable leaders_;
  std::vector<std::unique_ptr<ReplicaProcess>> processes_;
  std::vector<std::string> endpoints_;  // Of the replicas, by index.
  // Declared after the processes: destroyed first.
  std::unique_ptr<raft::rpc::IoContextPool> io_pool_;
  const bool host_client_fibers_;
  std::unique_ptr<raft::rpc::RpcClient> client_;
  bool shut_down_ = false;
};

}  // namespace bench
