#include "replica_host.h"

#include <filesystem>

#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/rocksdb_log_store.h"

namespace bench {

void BenchStateMachine::on_apply(raft::Iterator& iter) {
  for (; iter.valid(); iter.next()) applied_.fetch_add(1, std::memory_order_relaxed);
}

std::string bench_group_id(int group) { return "bench-" + std::to_string(group); }

namespace {

raft::Result<std::shared_ptr<raft::LogStorage>> open_segments(const std::string& data_dir,
                                                              const std::string& group,
                                                              const ClusterFlags& cluster) {
  const raft::FileLogStorage::Options options = segment_options(cluster);
  raft::Result<std::unique_ptr<raft::FileLogStorage>> log = raft::FileLogStorage::open(
      raft::PosixFileSystem::instance(), data_dir + "/segments/" + group, group, options);
  if (!log.ok()) return log.status();
  return std::shared_ptr<raft::LogStorage>(std::move(log).value());
}

}  // namespace

raft::FileLogStorage::Options segment_options(const ClusterFlags& cluster) {
  raft::FileLogStorage::Options options;
  switch (cluster.log_preallocate) {
    case LogPreallocate::kAuto:
      // Preallocation is worth its zeros for a few groups, not for hundreds on one disk.
      options.preallocate_segments = cluster.groups <= ClusterFlags::kMaxPreallocatedGroups;
      break;
    case LogPreallocate::kAlways:
      options.preallocate_segments = true;
      options.preallocate_below_bytes_per_second = 0;
      break;
    case LogPreallocate::kOff:
      options.preallocate_segments = false;
      break;
  }
  return options;
}

ReplicaHost::ReplicaHost(const ClusterFlags& cluster, std::shared_ptr<raft::ExecutorPool> pool)
    : cluster_(cluster), pool_(std::move(pool)) {}

ReplicaHost::~ReplicaHost() { shutdown(); }

raft::Result<std::unique_ptr<ReplicaHost>> ReplicaHost::open(
    const ClusterFlags& cluster, std::string data_dir, std::shared_ptr<raft::ExecutorPool> pool,
    const RegisterMethods& register_methods) {
  std::unique_ptr<ReplicaHost> host(new ReplicaHost(cluster, std::move(pool)));
  if (raft::Status s = host->open_storage(data_dir); !s.ok()) return s;
  raft::rpc::TcpTransportOptions transport_options;
  // One IO thread per replica: the benchmark machine has few cores and several replicas.
  transport_options.io_threads = 1;
  // Every benchmark client may have a request in flight on the driver's one connection.
  transport_options.server.max_unanswered_requests_per_connection = 2 * BenchFlags::kMaxClients;
  host->transport_ = std::make_shared<raft::rpc::TcpTransport>("127.0.0.1:0", transport_options);
  if (register_methods) {
    if (raft::Status s = register_methods(*host->transport_, host.get()); !s.ok()) return s;
  }
  if (raft::Status s = host->transport_->start(); !s.ok()) return s;
  host->self_ = raft::PeerId("127.0.0.1", host->transport_->listen_port());
  return host;
}

raft::Status ReplicaHost::open_storage(const std::string& data_dir) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) return raft::Status::IoError("creating " + data_dir + ": " + error.message());
  for (const char* sub : {"/meta", "/segments"}) {
    std::filesystem::create_directories(data_dir + sub, error);
    if (error) return raft::Status::IoError("creating " + data_dir + sub + ": " + error.message());
  }
  std::shared_ptr<raft::RocksDBLogStore> store;
  if (cluster_.log_storage == LogStorageKind::kRocksDB) {
    // One database for all groups: their synced writes share WAL fsyncs (DESIGN.md).
    raft::RocksDBLogStore::Options options;
    options.shared_sync = cluster_.shared_sync;
    raft::Result<std::shared_ptr<raft::RocksDBLogStore>> opened =
        raft::RocksDBLogStore::open(data_dir + "/log", options);
    if (!opened.ok()) return opened.status();
    store = std::move(opened).value();
    store_ = store;
  }
  for (int g = 0; g < cluster_.groups; ++g) {
    const std::string group = bench_group_id(g);
    raft::Result<std::shared_ptr<raft::LogStorage>> log =
        store != nullptr ? store->open_group(group) : open_segments(data_dir, group, cluster_);
    if (!log.ok()) return log.status();
    logs_.push_back(std::make_shared<CountingLogStorage>(std::move(log).value(), sync_counters_,
                                                         cluster_.fsync));
    raft::Result<std::unique_ptr<raft::FileRaftMetaStorage>> meta =
        raft::FileRaftMetaStorage::open(data_dir + "/meta/" + group);
    if (!meta.ok()) return meta.status();
    metas_.push_back(std::move(meta).value());
    fsms_.push_back(std::make_unique<BenchStateMachine>());
  }
  return raft::Status::OK();
}

raft::Status ReplicaHost::start_groups(const std::vector<raft::PeerId>& peers) {
  PONTOON_CHECK(!started());
  PONTOON_CHECK(nodes_.empty());
  const raft::Configuration conf(peers);
  const int64_t election_timeout_ms = cluster_.election_timeout_ms();
  for (int g = 0; g < groups(); ++g) {
    raft::NodeOptions options;
    options.initial_conf = conf;
    options.fsm = fsms_[static_cast<size_t>(g)].get();
    options.log_storage = logs_[static_cast<size_t>(g)];
    options.meta_storage = metas_[static_cast<size_t>(g)];
    options.transport = transport_;
    options.runtime = pool_;
    options.election_timeout_ms = election_timeout_ms;
    options.max_election_delay_ms = election_timeout_ms;
    options.heartbeat_interval_ms = std::max<int64_t>(10, election_timeout_ms / 10);
    options.apply_queue_capacity = cluster_.queue_capacity();
    options.disk_queue_capacity = cluster_.queue_capacity();
    options.fsm_queue_capacity = cluster_.queue_capacity();
    options.read_queue_capacity = cluster_.queue_capacity();
    options.read_batch_max = std::min(options.read_batch_max, cluster_.queue_capacity());
    // The benchmark takes no snapshots: it measures the write and read paths.
    options.snapshot_interval_s = 0;
    options.coalesce_after_inflight_msgs = cluster_.coalesce_after_inflight;
    options.apply_on_io_threads = cluster_.apply_on_io_threads;
    auto node = std::make_unique<raft::Node>(bench_group_id(g), self_);
    if (raft::Status s = node->init(options); !s.ok()) return s;
    nodes_.push_back(std::move(node));
  }
  started_.store(true, std::memory_order_release);
  return raft::Status::OK();
}

void ReplicaHost::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& node : nodes_) node->shutdown(nullptr);
  for (auto& node : nodes_) node->join();
  // After the nodes: the answers to requests the shutdown failed still go out.
  if (transport_ != nullptr) transport_->shutdown();
}

}  // namespace bench
