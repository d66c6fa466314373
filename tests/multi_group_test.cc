// Many groups per process (DESIGN: "a pontoon bridge is many rafts lashed together"): three
// "processes", each with one TcpTransport, one RocksDB instance and one ExecutorPool, host a
// replica of each of several groups. Every group elects and replicates on its own, through
// the shared port, threads and storage, and no entry crosses from one group to another.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "raft/executor_pool.h"
#include "raft/node.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/rocksdb_log_store.h"
#include "support/recording_fsm.h"
#include "support/temp_dir.h"

using namespace raft;
using namespace raft::testing;

namespace {

constexpr int kProcesses = 3;
constexpr int kGroups = 4;
constexpr int kEntriesPerGroup = 200;

struct Process {
  PeerId address;
  std::shared_ptr<rpc::TcpTransport> transport;
  std::shared_ptr<RocksDBLogStore> store;
  std::map<GroupId, std::unique_ptr<RecordingStateMachine>> fsms;
  std::map<GroupId, std::unique_ptr<Node>> nodes;
};

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST_CASE("tcp: many groups share each process's port, threads and RocksDB", "[tcp][multi_group]") {
  TempDir dir("pontoon-multi-group");
  auto pool = std::make_shared<ExecutorPool>(2);
  std::vector<Process> processes(kProcesses);
  std::vector<PeerId> peers;
  for (int p = 0; p < kProcesses; ++p) {
    processes[p].address = PeerId("127.0.0.1", pick_free_port());
    peers.push_back(processes[p].address);
  }
  const Configuration conf(peers);

  for (int p = 0; p < kProcesses; ++p) {
    Process& process = processes[p];
    process.transport = std::make_shared<rpc::TcpTransport>(process.address.endpoint());
    REQUIRE(process.transport->start().ok());
    std::string home = dir.path() + "/process" + std::to_string(p);
    std::filesystem::create_directories(home);
    auto store = RocksDBLogStore::open(home + "/log");
    REQUIRE(store.ok());
    process.store = *store;
    for (int g = 0; g < kGroups; ++g) {
      GroupId group = "group" + std::to_string(g);
      auto log = process.store->open_group(group);
      REQUIRE(log.ok());
      std::filesystem::create_directories(home + "/" + group);
      auto meta = FileRaftMetaStorage::open(home + "/" + group + "/raft_meta");
      REQUIRE(meta.ok());
      process.fsms[group] = std::make_unique<RecordingStateMachine>();
      NodeOptions options;
      options.election_timeout_ms = 400;
      options.max_election_delay_ms = 400;
      options.heartbeat_interval_ms = 40;
      options.initial_conf = conf;
      options.fsm = process.fsms[group].get();
      options.log_storage = *log;
      options.meta_storage = std::shared_ptr<RaftMetaStorage>(std::move(*meta));
      options.transport = process.transport;
      options.runtime = pool;
      process.nodes[group] = std::make_unique<Node>(group, process.address);
      REQUIRE(process.nodes[group]->init(options).ok());
    }
  }

  // Every group elects its own leader.
  std::map<GroupId, Node*> leaders;
  REQUIRE(wait_for(
      [&] {
        leaders.clear();
        for (auto& process : processes) {
          for (auto& [group, node] : process.nodes) {
            if (node->is_leader()) leaders[group] = node.get();
          }
        }
        return leaders.size() == kGroups;
      },
      std::chrono::seconds(60)));

  // Each group replicates its own entries, concurrently with the others. A leader may lose
  // its leadership under load (its closures then fail with an unknown outcome), so the checks
  // below hold acknowledged entries to account, not every proposal.
  std::mutex outcomes_mutex;
  std::map<GroupId, std::set<std::string>> acknowledged;
  std::atomic<int> outcomes{0};
  for (auto& [group, leader] : leaders) {
    for (int n = 0; n < kEntriesPerGroup; ++n) {
      std::string data = group + "/" + std::to_string(n);
      leader->apply(Task{data, make_closure([&, group = group, data](const Status& s) {
                           if (s.ok()) {
                             std::lock_guard<std::mutex> lock(outcomes_mutex);
                             acknowledged[group].insert(data);
                           }
                           ++outcomes;
                         })});
    }
  }
  REQUIRE(
      wait_for([&] { return outcomes == kGroups * kEntriesPerGroup; }, std::chrono::seconds(60)));

  for (int g = 0; g < kGroups; ++g) {
    GroupId group = "group" + std::to_string(g);
    std::set<std::string> acked;
    {
      std::lock_guard<std::mutex> lock(outcomes_mutex);
      acked = acknowledged[group];
    }
    // All three replicas of the group converge on the same entries, acknowledged ones included.
    REQUIRE(wait_for(
        [&] {
          size_t count = processes[0].fsms[group]->applied_count();
          for (auto& process : processes) {
            if (process.fsms[group]->applied_count() != count ||
                process.fsms[group]->hash() != processes[0].fsms[group]->hash() ||
                count < acked.size()) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(60)));
    for (auto& process : processes) {
      INFO(group << " on " << process.address);
      std::set<std::string> applied;
      for (const AppliedEntry& entry : process.fsms[group]->applied()) {
        REQUIRE(entry.data.rfind(group + "/", 0) == 0);  // nothing from another group
        applied.insert(entry.data);
      }
      for (const std::string& data : acked) REQUIRE(applied.count(data) == 1);
    }
  }

  for (auto& process : processes) {
    for (auto& [group, node] : process.nodes) node->shutdown(nullptr);
  }
  for (auto& process : processes) {
    for (auto& [group, node] : process.nodes) node->join();
    process.transport->shutdown();
  }
}
