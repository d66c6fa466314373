// SimCluster: a TestCluster on SimScheduler and InProcessNetwork. The whole run — elections,
// message delays and losses, interleavings, disk latencies and what a crash keeps — follows
// from the seed.
//
// Storage is either in memory (MemoryLogStorage and MemoryRaftMetaStorage, which survive
// stop()/start() whole) or, with SimClusterOptions::sim_disk, one simulated disk per node
// (raft/storage/sim_file_system.h) holding a FileLogStorage, a FileRaftMetaStorage and, with
// `snapshots`, a LocalSnapshotStorage: the production file formats under crash semantics.
// crash(i) kills node i at whatever point the simulation is at — mid-write, mid-snapshot — and
// its disk keeps only what was durable (tearing the last unsynced write); start(i) reopens it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "raft/rpc/in_process_transport.h"
#include "raft/sim_scheduler.h"
#include "raft/storage/memory_log_storage.h"
#include "raft/storage/memory_meta_storage.h"
#include "raft/storage/sim_file_system.h"
#include "support/cluster.h"

namespace raft::testing {

struct SimClusterOptions {
  // Each node on its own simulated disk instead of memory storage.
  bool sim_disk = false;
  // With sim_disk: snapshots on that disk (NodeOptions.snapshot_* from options()).
  bool snapshots = false;
  // With sim_disk: per-operation latencies of every node's disk.
  SimFileSystem::Options disk;
  // Wraps the transport each member sends through (e.g. to fail chosen RPCs); null: none.
  std::function<std::shared_ptr<RaftTransport>(size_t member, std::shared_ptr<RaftTransport>)>
      wrap_transport;
};

// The configuration the crash-and-snapshot scenarios run: simulated disks with realistic
// latencies, snapshots every `margin` applied entries, a short log tail (so followers that
// fall behind need InstallSnapshot).
SimClusterOptions sim_disk_with_snapshots();
void use_frequent_snapshots(NodeOptions& options, int64_t margin = 40, int64_t tail = 10);

class SimCluster : public TestCluster {
 public:
  SimCluster(size_t size, uint64_t seed);
  SimCluster(size_t size, uint64_t seed, SimClusterOptions cluster_options);
  ~SimCluster() override;

  // Applied to every node started after the change.
  NodeOptions& options() { return base_options_; }
  SimScheduler& scheduler() { return *scheduler_; }
  rpc::InProcessNetwork& network() { return *network_; }
  // REQUIRES: memory storage (no sim_disk).
  MemoryLogStorage& log_storage(size_t i);
  MemoryRaftMetaStorage& meta_storage(size_t i);
  // REQUIRES: sim_disk.
  SimFileSystem& disk(size_t i);
  bool uses_sim_disk() const { return cluster_options_.sim_disk; }

  void start(size_t i) override;
  void stop(size_t i) override;
  // Kills member i at once: its lanes stop between two tasks, nothing is flushed, its disk
  // loses what was not durable. Closures it still held are destroyed without running (their
  // outcome stays unknown). REQUIRES: sim_disk (memory storage cannot lose anything).
  void crash(size_t i);
  // Member i's clock and timers run `rate` times as fast as the simulation's from its next
  // start (RateScaledRuntime): clock drift.
  void set_clock_rate(size_t i, double rate) { clock_rates_[i] = rate; }
  // How many crash() calls were made.
  size_t crashes() const { return crashes_; }
  // Counts the starts of member i; a proposal made to one incarnation and never answered is
  // acceptable only if that incarnation crashed.
  uint64_t incarnation(size_t i) const { return incarnations_.at(i); }
  bool crashed(size_t i, uint64_t incarnation) const {
    return crashed_.count({i, incarnation}) != 0;
  }
  bool wait_until(const std::function<bool()>& done, Duration limit) override;
  void isolate(size_t i) override;
  void partition(const std::vector<std::vector<size_t>>& sides) override;
  void heal() override;

 private:
  class NodeRuntime;

  std::shared_ptr<SimScheduler> scheduler_;
  std::shared_ptr<rpc::InProcessNetwork> network_;
  NodeOptions base_options_;
  const SimClusterOptions cluster_options_;
  std::vector<std::shared_ptr<MemoryLogStorage>> logs_;
  std::vector<std::shared_ptr<MemoryRaftMetaStorage>> metas_;
  std::vector<std::shared_ptr<SimFileSystem>> disks_;
  // The lanes of each member's current incarnation, so crash() can stop them all.
  std::vector<std::shared_ptr<NodeRuntime>> runtimes_;
  size_t crashes_ = 0;
  std::vector<uint64_t> incarnations_;
  std::map<size_t, double> clock_rates_;
  std::set<std::pair<size_t, uint64_t>> crashed_;
};

}  // namespace raft::testing
