// TcpCluster: a TestCluster on real threads (ExecutorPool), real TCP on 127.0.0.1
// (TcpTransport), RocksDB logs and file meta storage in a temporary directory. Partitions are
// staged with FaultInjectingTransport. Waits poll the condition against a real-time deadline.
// With snapshots on, each member also keeps a LocalSnapshotStorage on the real file system under
// its data directory, which survives stop()/start() like the log.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "raft/executor_pool.h"
#include "raft/rpc/fault_injecting_transport.h"
#include "raft/rpc/tcp_transport.h"
#include "support/cluster.h"

namespace raft::testing {

struct TcpClusterOptions {
  // A LocalSnapshotStorage per member at <dir>/snapshot (NodeOptions.snapshot_* from options()).
  bool snapshots = false;
  // If set, called with member i's transport on every start, before it listens: the place to
  // register more methods on it (TcpTransport::register_method).
  std::function<void(size_t i, rpc::TcpTransport& transport)> before_listen;
};

class TcpCluster : public TestCluster {
 public:
  explicit TcpCluster(size_t size, TcpClusterOptions cluster_options = {});
  ~TcpCluster() override;

  NodeOptions& options() { return base_options_; }

  void start(size_t i) override;
  void stop(size_t i) override;
  bool wait_until(const std::function<bool()>& done, Duration limit) override;
  void isolate(size_t i) override;
  void partition(const std::vector<std::vector<size_t>>& sides) override;
  void heal() override;

 private:
  struct Member {
    std::string dir;
    std::shared_ptr<rpc::TcpTransport> tcp;
    std::shared_ptr<rpc::FaultInjectingTransport> faults;
    std::set<PeerId> blocked;
  };
  void apply_blocks();

  const TcpClusterOptions cluster_options_;
  std::string root_dir_;
  std::shared_ptr<ExecutorPool> pool_;
  NodeOptions base_options_;
  std::vector<Member> members_;
};

}  // namespace raft::testing
