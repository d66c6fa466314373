#include "support/sim_cluster.h"

#include "raft/rate_scaled_runtime.h"

#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/local_snapshot_storage.h"

namespace raft::testing {

// The lanes of one node incarnation, made from the shared scheduler and remembered so that a
// crash can stop them all at once (a process dying takes all its threads with it).
class SimCluster::NodeRuntime final : public Runtime {
 public:
  explicit NodeRuntime(std::shared_ptr<SimScheduler> scheduler)
      : scheduler_(std::move(scheduler)) {}

  std::shared_ptr<Executor> make_executor(std::string_view name) override {
    std::shared_ptr<Executor> lane = scheduler_->make_executor(name);
    lanes_.push_back(lane);
    return lane;
  }
  const Clock& clock() const override { return scheduler_->clock(); }

  void kill() {
    for (const std::weak_ptr<Executor>& weak : lanes_) {
      if (auto lane = weak.lock()) lane->shutdown();
    }
  }

 private:
  const std::shared_ptr<SimScheduler> scheduler_;
  std::vector<std::weak_ptr<Executor>> lanes_;
};

SimClusterOptions sim_disk_with_snapshots() {
  SimClusterOptions options;
  options.sim_disk = true;
  options.snapshots = true;
  options.disk.with_latency(SimFileSystem::OpClass::kWrite, std::chrono::microseconds(20))
      .with_latency(SimFileSystem::OpClass::kSync, std::chrono::microseconds(300))
      .with_latency(SimFileSystem::OpClass::kMetadata, std::chrono::microseconds(50));
  options.disk.latency_jitter = std::chrono::microseconds(200);
  return options;
}

void use_frequent_snapshots(NodeOptions& options, int64_t margin, int64_t tail) {
  options.snapshot_interval_s = 0;
  options.snapshot_log_index_margin = margin;
  options.snapshot_log_tail_entries = tail;
  options.snapshot_chunk_bytes = 512;
}

SimCluster::SimCluster(size_t size, uint64_t seed) : SimCluster(size, seed, SimClusterOptions{}) {}

SimCluster::SimCluster(size_t size, uint64_t seed, SimClusterOptions cluster_options)
    : scheduler_(std::make_shared<SimScheduler>(seed)),
      network_(std::make_shared<rpc::InProcessNetwork>(*scheduler_, seed ^ 0x9e3779b97f4a7c15ull)),
      cluster_options_(std::move(cluster_options)) {
  for (size_t i = 0; i < size; ++i) {
    peers_.emplace_back("127.0.0.1", static_cast<uint16_t>(7000 + i));
    if (cluster_options_.sim_disk) {
      disks_.push_back(std::make_shared<SimFileSystem>(seed * 31 + i, cluster_options_.disk,
                                                       std::weak_ptr<SimScheduler>(scheduler_)));
      PONTOON_CHECK(disks_.back()->create_dir("node").ok());
      PONTOON_CHECK(disks_.back()->sync_dir(".").ok());
    } else {
      logs_.push_back(std::make_shared<MemoryLogStorage>("sim"));
      metas_.push_back(std::make_shared<MemoryRaftMetaStorage>());
    }
  }
  nodes_.resize(size);
  fsms_.resize(size);
  runtimes_.resize(size);
  incarnations_.resize(size, 0);
  base_options_.election_timeout_ms = 300;
  base_options_.max_election_delay_ms = 300;
  base_options_.heartbeat_interval_ms = 30;
  base_options_.rpc_timeout_ms = 300;
  base_options_.install_snapshot_timeout_ms = 30000;
  // Nodes a test builds itself from options() run on the scheduler directly; members started
  // by start() get a runtime of their own so that crash() can stop their lanes.
  base_options_.runtime = scheduler_;
}

SimCluster::~SimCluster() { stop_all(); }

MemoryLogStorage& SimCluster::log_storage(size_t i) {
  PONTOON_CHECK(!cluster_options_.sim_disk);
  return *logs_.at(i);
}

MemoryRaftMetaStorage& SimCluster::meta_storage(size_t i) {
  PONTOON_CHECK(!cluster_options_.sim_disk);
  return *metas_.at(i);
}

SimFileSystem& SimCluster::disk(size_t i) {
  PONTOON_CHECK(cluster_options_.sim_disk);
  return *disks_.at(i);
}

void SimCluster::start(size_t i) {
  NodeOptions options = base_options_;
  options.random_seed = scheduler_->rng()();
  ++incarnations_[i];
  runtimes_[i] = std::make_shared<NodeRuntime>(scheduler_);
  options.runtime = runtimes_[i];
  if (auto rate = clock_rates_.find(i); rate != clock_rates_.end()) {
    options.runtime = std::make_shared<RateScaledRuntime>(runtimes_[i], rate->second);
  }
  std::shared_ptr<RaftTransport> transport = network_->transport_for(peers_[i]);
  if (cluster_options_.wrap_transport) transport = cluster_options_.wrap_transport(i, transport);
  if (!cluster_options_.sim_disk) {
    start_node(i, "sim", options, logs_[i], metas_[i], transport);
    return;
  }
  // Opening runs outside any simulation task, so it costs no virtual time: a restart's reads
  // are instant, its writes (torn-tail repair) durable at once.
  std::shared_ptr<FileSystem> fs = disks_[i];
  Result<std::unique_ptr<FileLogStorage>> log =
      FileLogStorage::open(fs, "node/log", "sim",
                           FileLogStorage::Options{.segment_max_bytes = 64 * 1024,
                                                   .prepare_in_background = false,
                                                   .clock = &scheduler_->clock()});
  PONTOON_CHECK_MSG(log.ok(), log.status().to_string().c_str());
  Result<std::unique_ptr<FileRaftMetaStorage>> meta =
      FileRaftMetaStorage::open(fs, "node/raft_meta");
  PONTOON_CHECK_MSG(meta.ok(), meta.status().to_string().c_str());
  if (cluster_options_.snapshots) {
    Result<std::unique_ptr<LocalSnapshotStorage>> snapshots =
        LocalSnapshotStorage::open(fs, "node/snapshot");
    PONTOON_CHECK_MSG(snapshots.ok(), snapshots.status().to_string().c_str());
    options.snapshot_storage = std::move(snapshots).value();
  }
  start_node(i, "sim", options, std::move(log).value(), std::move(meta).value(), transport);
}

void SimCluster::stop(size_t i) {
  PONTOON_CHECK(nodes_[i]);
  nodes_[i]->shutdown(nullptr);
  bool stopped =
      scheduler_->run_until([&] { return nodes_[i]->is_shut_down(); }, std::chrono::seconds(60));
  PONTOON_CHECK_MSG(stopped, "node did not shut down");
  nodes_[i]->join();
  nodes_[i].reset();
  runtimes_[i].reset();
}

void SimCluster::crash(size_t i) {
  PONTOON_CHECK(cluster_options_.sim_disk);
  PONTOON_CHECK(nodes_[i]);
  runtimes_[i]->kill();
  nodes_[i]->crash_for_testing();
  nodes_[i].reset();
  runtimes_[i].reset();
  disks_[i]->crash();
  ++crashes_;
  crashed_.insert({i, incarnations_[i]});
}

bool SimCluster::wait_until(const std::function<bool()>& done, Duration limit) {
  return scheduler_->run_until(
      [&] {
        observe();
        return done();
      },
      limit);
}

void SimCluster::isolate(size_t i) { network_->isolate(peers_[i]); }

void SimCluster::partition(const std::vector<std::vector<size_t>>& sides) {
  std::vector<std::vector<PeerId>> peer_sides;
  for (const auto& side : sides) {
    peer_sides.emplace_back();
    for (size_t i : side) peer_sides.back().push_back(peers_[i]);
  }
  network_->partition(peer_sides);
}

void SimCluster::heal() { network_->heal(); }

}  // namespace raft::testing
