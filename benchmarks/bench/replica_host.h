// ReplicaHost: the Raft groups of one replica of the benchmark cluster, as a real server
// process would host them (example/common/replica_server.cc): G groups ("bench-0" ...) that
// share one TcpTransport, one ExecutorPool and one log store (one RocksDBLogStore with
// open_group per group, or one segment store directory per group), each log wrapped in a
// CountingLogStorage that adds to the host's SyncCounters.
//
// Lifecycle: open() binds the transport on 127.0.0.1 port 0 (so concurrent benchmarks never
// race for a port) and serves whatever `register_methods` adds; start_groups() then starts the
// nodes once every replica's address is known; shutdown() (also run by the destructor) stops
// the nodes, then the transport.
//
// Thread-safety: node(), started() and sync_counters() from any thread; open, start_groups
// and shutdown from one thread. Before start_groups() returned, node() is not to be called
// (check started()).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "counting_log_storage.h"
#include "raft/executor_pool.h"
#include "raft/node.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/storage/file_log_storage.h"
#include "raft/storage/rocksdb_log_store.h"

namespace bench {

// The options each group's segment store is opened with: --log-preallocate, and with "auto"
// preallocation only for up to ClusterFlags::kMaxPreallocatedGroups groups.
raft::FileLogStorage::Options segment_options(const ClusterFlags& cluster);

// Counts what it applies and keeps nothing: the benchmark measures Raft, not a state machine.
class BenchStateMachine final : public raft::StateMachine {
 public:
  void on_apply(raft::Iterator& iter) override;
  uint64_t applied() const { return applied_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> applied_{0};
};

std::string bench_group_id(int group);

class ReplicaHost {
 public:
  using RegisterMethods =
      std::function<raft::Status(raft::rpc::TcpTransport&, const ReplicaHost* host)>;

  // Opens the logs and meta storage of every group under `data_dir` and starts the transport.
  // EIO/ECORRUPTION from the storage, EIO if the transport cannot listen.
  static raft::Result<std::unique_ptr<ReplicaHost>> open(const ClusterFlags& cluster,
                                                         std::string data_dir,
                                                         std::shared_ptr<raft::ExecutorPool> pool,
                                                         const RegisterMethods& register_methods);
  ~ReplicaHost();

  ReplicaHost(const ReplicaHost&) = delete;
  ReplicaHost& operator=(const ReplicaHost&) = delete;

  // This replica's address, known from open().
  const raft::PeerId& self() const { return self_; }

  // Starts every group with `peers` (including self()) as its initial configuration.
  // REQUIRES: called once.
  raft::Status start_groups(const std::vector<raft::PeerId>& peers);
  bool started() const { return started_.load(std::memory_order_acquire); }

  int groups() const { return static_cast<int>(logs_.size()); }
  // REQUIRES: started(), 0 <= group < groups().
  raft::Node* node(int group) const { return nodes_[static_cast<size_t>(group)].get(); }

  const SyncCounters& sync_counters() const { return *sync_counters_; }
  // The fsyncs this replica's logs asked for: synced writes, plus the shared WAL syncs of its
  // RocksDB store (--shared-sync on).
  uint64_t fsyncs() const {
    return sync_counters_->synced_writes.load(std::memory_order_relaxed) +
           (store_ != nullptr ? store_->shared_syncs() : 0);
  }

  // Idempotent.
  void shutdown();

 private:
  ReplicaHost(const ClusterFlags& cluster, std::shared_ptr<raft::ExecutorPool> pool);
  raft::Status open_storage(const std::string& data_dir);

  const ClusterFlags cluster_;
  const std::shared_ptr<raft::ExecutorPool> pool_;
  const std::shared_ptr<SyncCounters> sync_counters_ = std::make_shared<SyncCounters>();
  std::shared_ptr<raft::RocksDBLogStore> store_;  // With --log-storage rocksdb.
  std::shared_ptr<raft::rpc::TcpTransport> transport_;
  raft::PeerId self_;
  // One per group, indexed by group number; filled by open().
  std::vector<std::shared_ptr<raft::LogStorage>> logs_;
  std::vector<std::shared_ptr<raft::RaftMetaStorage>> metas_;
  std::vector<std::unique_ptr<BenchStateMachine>> fsms_;
  // Filled by start_groups() before started_ is set; never changed after.
  std::vector<std::unique_ptr<raft::Node>> nodes_;
  std::atomic<bool> started_{false};
  bool shut_down_ = false;
};

}  // namespace bench
