#include "in_process_cluster.h"

#include "process_stats.h"

namespace bench {

InProcessCluster::InProcessCluster(const BenchFlags& flags)
    : read_mode_(read_mode_of(flags.workload)),
      read_on_(flags.read_on),
      leaders_(flags.cluster.groups, flags.cluster.replicas) {}

InProcessCluster::~InProcessCluster() { shutdown(); }

raft::Result<std::unique_ptr<InProcessCluster>> InProcessCluster::start(
    const BenchFlags& flags, const std::string& data_dir) {
  std::unique_ptr<InProcessCluster> cluster(new InProcessCluster(flags));
  // 0 threads: one per core.
  cluster->pool_ =
      std::make_shared<raft::ExecutorPool>(static_cast<size_t>(flags.cluster.executor_threads));
  std::vector<raft::PeerId> peers;
  for (int r = 0; r < flags.cluster.replicas; ++r) {
    raft::Result<std::unique_ptr<ReplicaHost>> host = ReplicaHost::open(
        flags.cluster, data_dir + "/replica" + std::to_string(r), cluster->pool_, nullptr);
    if (!host.ok()) return host.status();
    peers.push_back((*host)->self());
    cluster->hosts_.push_back(std::move(host).value());
  }
  for (auto& host : cluster->hosts_) {
    if (raft::Status s = host->start_groups(peers); !s.ok()) return s;
  }
  return cluster;
}

raft::Status InProcessCluster::refresh_leaders() {
  for (int g = 0; g < leaders_.groups(); ++g) {
    for (size_t r = 0; r < hosts_.size(); ++r) {
      if (hosts_[r]->node(g)->is_leader()) leaders_.set_leader(g, static_cast<int>(r));
    }
  }
  return raft::Status::OK();
}

raft::Result<ClusterUsage> InProcessCluster::usage() {
  ClusterUsage usage;
  usage.cpu_seconds = self_cpu_seconds();
  raft::Result<uint64_t> switches = process_context_switches(0);
  if (!switches.ok()) return switches.status();
  usage.context_switches = *switches;
  for (const auto& host : hosts_) {
    usage.synced_writes += host->fsyncs();
    usage.synced_entries += host->sync_counters().synced_entries.load(std::memory_order_relaxed);
  }
  return usage;
}

std::vector<double> InProcessCluster::peak_rss_mb() {
  raft::Result<ResidentMemory> memory = resident_memory(0);
  return {memory.ok() ? memory->peak_rss_mb : 0.0};
}

void InProcessCluster::shutdown() {
  for (auto& host : hosts_) host->shutdown();
}

void InProcessCluster::write(int group, const std::string& payload, Done done) {
  const int replica = leaders_.leader(group);
  if (replica < 0) return done(raft::Status::NotLeader("no leader known yet"));
  hosts_[static_cast<size_t>(replica)]->node(group)->apply(raft::Task{
      payload, raft::make_closure([this, done = std::move(done)](const raft::Status& status) {
        leaders_.note(status);
        done(status);
      })});
}

void InProcessCluster::read(int group, uint64_t sequence, Done done) {
  const int replica = leaders_.read_replica(group, sequence, read_on_);
  if (replica < 0) return done(raft::Status::NotLeader("no leader known yet"));
  hosts_[static_cast<size_t>(replica)]->node(group)->read_index(
      raft::make_read_index_closure(
          [this, done = std::move(done)](const raft::Status& status, raft::LogIndex) {
            leaders_.note(status);
            done(status);
          }),
      read_mode_);
}

}  // namespace bench
