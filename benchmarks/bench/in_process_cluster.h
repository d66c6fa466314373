// InProcessCluster: every replica in this process (--topology in-process): one ReplicaHost per
// replica, each with its own TcpTransport on 127.0.0.1, all sharing one ExecutorPool. Clients
// call Node::apply and Node::read_index directly, so the numbers leave out the client's RPC
// but keep the replicas' TCP and fsyncs.
//
// Thread-safety: as BenchCluster; write()/read() from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_cluster.h"
#include "bench_flags.h"
#include "replica_host.h"

namespace bench {

class InProcessCluster final : public BenchCluster, private BenchTarget {
 public:
  // Opens and starts every replica under `data_dir`. Storage and transport errors.
  static raft::Result<std::unique_ptr<InProcessCluster>> start(const BenchFlags& flags,
                                                               const std::string& data_dir);
  ~InProcessCluster() override;

  BenchTarget* target() override { return this; }
  LeaderTable& leaders() override { return leaders_; }
  raft::Status refresh_leaders() override;
  raft::Result<ClusterUsage> usage() override;
  std::vector<double> peak_rss_mb() override;
  void shutdown() override;

 private:
  explicit InProcessCluster(const BenchFlags& flags);

  // BenchTarget.
  void write(int group, const std::string& payload, Done done) override;
  void read(int group, uint64_t sequence, Done done) override;

  const raft::ReadMode read_mode_;
  const ReadOn read_on_;
  LeaderTable leaders_;
  std::shared_ptr<raft::ExecutorPool> pool_;
  std::vector<std::unique_ptr<ReplicaHost>> hosts_;
};

}  // namespace bench
