#include "support/tcp_cluster.h"

#include <filesystem>
#include <thread>

#include "raft/check.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/local_snapshot_storage.h"
#include "raft/storage/rocksdb_log_store.h"
#include "support/temp_dir.h"

namespace raft::testing {

TcpCluster::TcpCluster(size_t size, TcpClusterOptions cluster_options)
    : cluster_options_(cluster_options), pool_(std::make_shared<ExecutorPool>(2)) {
  char tmpl[] = "/tmp/pontoon-tcp-cluster-XXXXXX";
  PONTOON_CHECK(::mkdtemp(tmpl) != nullptr);
  root_dir_ = tmpl;
  for (size_t i = 0; i < size; ++i) {
    peers_.emplace_back("127.0.0.1", pick_free_port());
    Member member;
    member.dir = root_dir_ + "/node" + std::to_string(i);
    std::filesystem::create_directories(member.dir);
    members_.push_back(std::move(member));
  }
  nodes_.resize(size);
  fsms_.resize(size);
  // Real time on a shared 2-core CI machine: an fsync or a scheduling stall of a few hundred
  // milliseconds must not look like a dead leader, or tests that count on a stable leader flake.
  base_options_.election_timeout_ms = 1000;
  base_options_.max_election_delay_ms = 1000;
  base_options_.heartbeat_interval_ms = 100;
  base_options_.rpc_timeout_ms = 1000;
  base_options_.runtime = pool_;
}

TcpCluster::~TcpCluster() {
  stop_all();
  std::error_code ignored;
  std::filesystem::remove_all(root_dir_, ignored);
}

void TcpCluster::start(size_t i) {
  PONTOON_CHECK(!nodes_[i]);
  Member& member = members_[i];
  Result<std::shared_ptr<RocksDBLogStore>> store = RocksDBLogStore::open(member.dir + "/log");
  PONTOON_CHECK_MSG(store.ok(), store.status().to_string().c_str());
  Result<std::shared_ptr<LogStorage>> log = (*store)->open_group("tcp");
  PONTOON_CHECK_MSG(log.ok(), log.status().to_string().c_str());
  Result<std::unique_ptr<FileRaftMetaStorage>> meta =
      FileRaftMetaStorage::open(member.dir + "/raft_meta");
  PONTOON_CHECK_MSG(meta.ok(), meta.status().to_string().c_str());

  rpc::TcpTransportOptions transport_options;
  transport_options.io_threads = 1;
  member.tcp = std::make_shared<rpc::TcpTransport>(peers_[i].endpoint(), transport_options);
  if (cluster_options_.before_listen) cluster_options_.before_listen(i, *member.tcp);
  Status listening = member.tcp->start();
  PONTOON_CHECK_MSG(listening.ok(), listening.to_string().c_str());
  member.faults = std::make_shared<rpc::FaultInjectingTransport>(member.tcp);
  member.faults->set_blocked(member.blocked);

  NodeOptions options = base_options_;
  if (cluster_options_.snapshots) {
    Result<std::unique_ptr<LocalSnapshotStorage>> snapshots =
        LocalSnapshotStorage::open(PosixFileSystem::instance(), member.dir + "/snapshot");
    PONTOON_CHECK_MSG(snapshots.ok(), snapshots.status().to_string().c_str());
    options.snapshot_storage = std::move(snapshots).value();
  }
  start_node(i, "tcp", options, *log, std::shared_ptr<RaftMetaStorage>(std::move(*meta)),
             member.faults);
}

void TcpCluster::stop(size_t i) {
  PONTOON_CHECK(nodes_[i]);
  nodes_[i]->shutdown(nullptr);
  nodes_[i]->join();
  nodes_[i].reset();
  members_[i].tcp->shutdown();
  members_[i].faults.reset();
  members_[i].tcp.reset();
}

bool TcpCluster::wait_until(const std::function<bool()>& done, Duration limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    observe();
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Polling a condition against a deadline: the cluster runs on its own threads.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void TcpCluster::apply_blocks() {
  for (Member& member : members_) {
    if (member.faults) member.faults->set_blocked(member.blocked);
  }
}

void TcpCluster::isolate(size_t i) {
  for (size_t j = 0; j < size(); ++j) {
    if (j == i) continue;
    members_[i].blocked.insert(peers_[j]);
    members_[j].blocked.insert(peers_[i]);
  }
  apply_blocks();
}

void TcpCluster::partition(const std::vector<std::vector<size_t>>& sides) {
  std::vector<size_t> side_of(size(), SIZE_MAX);
  for (size_t s = 0; s < sides.size(); ++s) {
    for (size_t i : sides[s]) side_of[i] = s;
  }
  for (size_t i = 0; i < size(); ++i) {
    members_[i].blocked.clear();
    for (size_t j = 0; j < size(); ++j) {
      if (j != i && (side_of[i] == SIZE_MAX || side_of[i] != side_of[j])) {
        members_[i].blocked.insert(peers_[j]);
      }
    }
  }
  apply_blocks();
}

void TcpCluster::heal() {
  for (Member& member : members_) member.blocked.clear();
  apply_blocks();
}

}  // namespace raft::testing
