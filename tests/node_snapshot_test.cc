// Snapshots on the deterministic simulation, with every node on its own simulated disk
// (SimFileSystem) holding the production file formats: saving and compaction, restart from a
// snapshot, InstallSnapshot to a follower behind the leader's log (Raft §7), the triggers, and
// crashes in the middle of all of it. A failing seed replays exactly.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "raft/storage/file_system.h"
#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;
using namespace std::chrono_literals;

namespace {

// A cluster on simulated disks with snapshots on, no timer, and a short log tail.
std::unique_ptr<SimCluster> make_cluster(size_t size, uint64_t seed, int64_t tail = 20) {
  auto cluster = std::make_unique<SimCluster>(size, seed, sim_disk_with_snapshots());
  cluster->options().snapshot_interval_s = 0;
  cluster->options().snapshot_log_tail_entries = tail;
  cluster->options().snapshot_chunk_bytes = 4096;
  return cluster;
}

// Proposes `count` entries "<prefix><n>" one at a time on the leader; every one must succeed.
void propose_all(SimCluster& cluster, const std::string& prefix, size_t count) {
  for (size_t k = 0; k < count; ++k) {
    Status s = cluster.propose_and_wait(prefix + std::to_string(k), 30s);
    INFO("proposal " << k << ": " << s);
    REQUIRE(s.ok());
  }
}

// Proposes `count` entries on the leader without waiting for each (a burst under load).
std::vector<std::string> propose_burst(SimCluster& cluster, const std::string& prefix,
                                       size_t count) {
  std::optional<size_t> lead = cluster.wait_for_leader(30s);
  REQUIRE(lead.has_value());
  std::vector<std::string> sent;
  for (size_t k = 0; k < count; ++k) {
    sent.push_back(prefix + std::to_string(k));
    cluster.propose(*lead, sent.back());
  }
  return sent;
}

Status snapshot_and_wait(SimCluster& cluster, size_t i) {
  return cluster.snapshot_and_wait(i, 30s);
}

// The state machine's file in node i's latest snapshot.
std::string snapshot_file(SimCluster& cluster, size_t i) {
  Result<std::vector<std::string>> dirs = cluster.disk(i).list_dir("node/snapshot");
  REQUIRE(dirs.ok());
  std::string file;
  for (const std::string& name : *dirs) {
    if (name.rfind("snapshot_", 0) == 0) file = "node/snapshot/" + name + "/applied";
  }
  REQUIRE(!file.empty());
  return file;
}

}  // namespace

TEST_CASE("a snapshot covers what was applied and compacts the log down to the kept tail",
          "[sim][snapshot]") {
  auto cluster = make_cluster(3, 101, /*tail=*/20);
  cluster->start_all();
  propose_all(*cluster, "a", 200);
  size_t lead = *cluster->wait_for_leader(30s);
  REQUIRE(snapshot_and_wait(*cluster, lead).ok());
  NodeStatus status = cluster->node(lead)->get_status();
  INFO("snapshot at " << status.last_snapshot.index << ", log from " << status.first_log_index);
  CHECK(status.last_snapshot.index >= LogIndex(200));
  CHECK(status.last_snapshot.index <= status.applied_index);
  CHECK(status.last_snapshot.term == status.term);
  // The log keeps `tail` entries below the snapshot for followers a little behind.
  CHECK(status.first_log_index == status.last_snapshot.index + 1 - 20);
  CHECK(cluster->fsm(lead).snapshots_saved() == 1);
  // Snapshotting again with nothing new applied succeeds and changes nothing.
  const LogId before = status.last_snapshot;
  REQUIRE(snapshot_and_wait(*cluster, lead).ok());
  CHECK(cluster->node(lead)->get_status().last_snapshot == before);
  CHECK(cluster->fsm(lead).snapshots_saved() == 1);
  // The cluster keeps working past the snapshot.
  propose_all(*cluster, "b", 20);
  require_agreement(*cluster, 30s);
}

TEST_CASE("Node::snapshot is EINVAL without snapshot storage and EBUSY while one is saved",
          "[sim][snapshot]") {
  SECTION("no snapshot storage") {
    SimCluster cluster(3, 102);
    cluster.start_all();
    REQUIRE(cluster.wait_for_leader(30s).has_value());
    std::optional<Status> result;
    cluster.node(0)->snapshot(make_closure([&](const Status& s) { result = s; }));
    REQUIRE(cluster.wait_until([&] { return result.has_value(); }, 5s));
    CHECK(result->is_invalid_argument());
  }
  SECTION("a second save while the first runs") {
    auto cluster = make_cluster(3, 103);
    cluster->start_all();
    propose_all(*cluster, "a", 10);
    std::optional<Status> first, second;
    cluster->node(0)->snapshot(make_closure([&](const Status& s) { first = s; }));
    cluster->node(0)->snapshot(make_closure([&](const Status& s) { second = s; }));
    REQUIRE(cluster->wait_until([&] { return first && second; }, 30s));
    CHECK(first->ok());
    CHECK(second->is_busy());
  }
}

TEST_CASE("all nodes restarted after snapshots keep their state and replay only the log after",
          "[sim][snapshot][restart]") {
  for (auto [seed, crash] : {std::pair{111, false}, std::pair{112, true}, std::pair{113, true}}) {
    INFO("seed " << seed << (crash ? ", every node crashes" : ", clean restart"));
    auto cluster = make_cluster(3, seed);
    cluster->start_all();
    propose_all(*cluster, "a", 150);
    REQUIRE(cluster->wait_applied(150, 30s));
    for (size_t i = 0; i < 3; ++i) REQUIRE(snapshot_and_wait(*cluster, i).ok());
    propose_all(*cluster, "b", 30);  // Log after the snapshots.
    REQUIRE(cluster->wait_applied(180, 30s));
    const uint64_t hash = cluster->fsm(0).hash();
    for (size_t i = 0; i < 3; ++i) {
      if (crash) {
        cluster->crash(i);
      } else {
        cluster->stop(i);
      }
    }
    cluster->start_all();
    REQUIRE(cluster->wait_for_leader(30s).has_value());
    REQUIRE(cluster->wait_applied(180, 30s));
    for (size_t i = 0; i < 3; ++i) {
      INFO("node " << i);
      CHECK(cluster->fsm(i).snapshots_loaded() == 1);
      CHECK(cluster->fsm(i).hash() == hash);
      CHECK(cluster->fsm(i).applied_count() == 180);
      // What was replayed through on_apply is only the log after the snapshot (entries before
      // it came from the snapshot): the restarted log starts near the snapshot.
      NodeStatus status = cluster->node(i)->get_status();
      CHECK(status.first_log_index >= status.last_snapshot.index + 1 - 20);
    }
    propose_all(*cluster, "c", 10);
    require_agreement(*cluster, 30s);
  }
}

TEST_CASE("a follower behind the leader's first log index installs the leader's snapshot (Raft 7)",
          "[sim][snapshot][install]") {
  for (uint64_t seed : {121, 122, 123}) {
    INFO("seed " << seed);
    auto cluster = make_cluster(3, seed, /*tail=*/5);
    cluster->start_all();
    size_t lead = *cluster->wait_for_leader(30s);
    const size_t lagger = (lead + 1) % 3;
    cluster->isolate(lagger);
    propose_all(*cluster, "a", 300);
    lead = *cluster->wait_for_leader(30s);
    REQUIRE(lead != lagger);
    REQUIRE(snapshot_and_wait(*cluster, lead).ok());
    REQUIRE(cluster->node(lead)->get_status().first_log_index > LogIndex(10));
    // Under load: proposals keep coming while the follower catches up.
    std::vector<std::string> burst = propose_burst(*cluster, "b", 100);
    cluster->heal();
    REQUIRE(cluster->wait_applied(400, 60s));
    CHECK(cluster->fsm(lagger).snapshots_loaded() == 1);
    NodeStatus follower = cluster->node(lagger)->get_status();
    CHECK(follower.last_snapshot.index >= LogIndex(300));
    require_agreement(*cluster, 30s);
  }
}

TEST_CASE("the log-distance margin and the interval timer take snapshots by themselves",
          "[sim][snapshot][trigger]") {
  SECTION("margin") {
    auto cluster = make_cluster(3, 131);
    cluster->options().snapshot_log_index_margin = 50;
    cluster->start_all();
    propose_all(*cluster, "a", 120);
    REQUIRE(cluster->wait_until(
        [&] {
          for (size_t i = 0; i < 3; ++i) {
            if (cluster->fsm(i).snapshots_saved() < 2) return false;
          }
          return true;
        },
        30s));
    for (size_t i = 0; i < 3; ++i) {
      CHECK(cluster->node(i)->get_status().last_snapshot.index >= LogIndex(100));
    }
  }
  SECTION("timer") {
    auto cluster = make_cluster(3, 132);
    cluster->options().snapshot_interval_s = 10;
    cluster->start_all();
    propose_all(*cluster, "a", 30);
    const TimePoint start = cluster->scheduler().now();
    // The first snapshot comes somewhere within the first interval, the next one interval on.
    REQUIRE(cluster->wait_until([&] { return cluster->fsm(0).snapshots_saved() >= 1; }, 11s));
    propose_all(*cluster, "b", 5);
    REQUIRE(cluster->wait_until([&] { return cluster->fsm(0).snapshots_saved() >= 2; }, 11s));
    CHECK(cluster->scheduler().now() - start <= 21s);
  }
}

TEST_CASE("a damaged snapshot file stops the node at restart with a message naming the file",
          "[sim][snapshot][corruption]") {
  auto cluster = make_cluster(3, 141);
  cluster->start_all();
  propose_all(*cluster, "a", 50);
  REQUIRE(snapshot_and_wait(*cluster, 0).ok());
  cluster->stop(0);
  // Cut the state machine's file short behind the storage's back.
  SimFileSystem& disk = cluster->disk(0);
  const std::string file = snapshot_file(*cluster, 0);
  REQUIRE(disk.truncate_file(file, 3).ok());
  cluster->start(0);
  REQUIRE(cluster->wait_until([&] { return !cluster->fsm(0).errors().empty(); }, 10s));
  const std::string message(cluster->fsm(0).errors().front().message());
  INFO(message);
  CHECK(message.find("applied") != std::string::npos);
  CHECK(cluster->node(0)->get_status().role == Role::kError);
  // The other two still serve.
  propose_all(*cluster, "b", 5);
}

TEST_CASE("a snapshot file that reaches the follower short is rejected, naming the file",
          "[sim][snapshot][install][corruption]") {
  auto cluster = make_cluster(3, 151, /*tail=*/5);
  cluster->start_all();
  size_t lead = *cluster->wait_for_leader(30s);
  const size_t lagger = (lead + 1) % 3;
  cluster->isolate(lagger);
  propose_all(*cluster, "a", 600);
  lead = *cluster->wait_for_leader(30s);
  REQUIRE(snapshot_and_wait(*cluster, lead).ok());
  const LogIndex before = cluster->node(lagger)->get_status().applied_index;
  cluster->heal();
  // Once the follower has its first chunk, cut the leader's file short under its open reader:
  // the leader then serves fewer bytes than its meta promises.
  REQUIRE(cluster->wait_until(
      [&] { return cluster->disk(lagger).exists("node/snapshot/temp/applied"); }, 30s));
  REQUIRE(cluster->disk(lead).truncate_file(snapshot_file(*cluster, lead), 10).ok());
  REQUIRE(cluster->wait_until(
      [&] { return !cluster->node(lagger)->get_status().snapshot_install_error.ok(); }, 30s));
  const Status error = cluster->node(lagger)->get_status().snapshot_install_error;
  INFO(error);
  CHECK(error.is_corruption());
  CHECK(error.message().find("applied") != std::string_view::npos);
  // It keeps retrying and never loads the damaged snapshot: its old state stays.
  cluster->wait_until([] { return false; }, 3s);
  CHECK(cluster->fsm(lagger).snapshots_loaded() == 0);
  CHECK(cluster->node(lagger)->get_status().applied_index == before);
  CHECK(cluster->node(lagger)->get_status().role == Role::kFollower);
}

TEST_CASE("a large snapshot interrupted by a partition resumes from the bytes it has",
          "[sim][snapshot][install]") {
  auto cluster = make_cluster(3, 161, /*tail=*/5);
  cluster->options().snapshot_chunk_bytes = 128 * 1024;
  cluster->start_all();
  size_t lead = *cluster->wait_for_leader(30s);
  const size_t lagger = (lead + 1) % 3;
  cluster->isolate(lagger);
  // 50 MB of state: 800 entries of 64 KiB.
  const std::string payload(64 * 1024, 'x');
  for (size_t k = 0; k < 800; ++k) {
    REQUIRE(cluster->propose_and_wait("big" + std::to_string(k) + payload, 30s).ok());
  }
  lead = *cluster->wait_for_leader(30s);
  REQUIRE(snapshot_and_wait(*cluster, lead).ok());
  const uint64_t state_bytes = 800 * (64 * 1024 + 8);
  const uint64_t appended_before = cluster->disk(lagger).stats().bytes_appended;
  cluster->heal();
  auto downloaded = [&]() -> uint64_t {
    SimFileSystem& disk = cluster->disk(lagger);
    Result<std::unique_ptr<RandomAccessFile>> file =
        disk.open_readable("node/snapshot/temp/applied");
    if (!file.ok()) return 0;
    Result<uint64_t> size = (*file)->size();
    return size.ok() ? *size : 0;
  };
  REQUIRE(cluster->wait_until([&] { return downloaded() > state_bytes / 3; }, 60s));
  // The connection drops mid-transfer for longer than the fetch retries last.
  cluster->isolate(lagger);
  cluster->wait_until([] { return false; }, 5s);
  const uint64_t had = downloaded();
  CHECK(had > state_bytes / 3);
  cluster->heal();
  REQUIRE(cluster->wait_until([&] { return cluster->fsm(lagger).snapshots_loaded() == 1; }, 120s));
  const uint64_t appended = cluster->disk(lagger).stats().bytes_appended - appended_before;
  INFO("state " << state_bytes << " bytes, follower appended " << appended << " after healing");
  // Restarting the transfer would have written about 1.33 times the state at least.
  CHECK(appended < state_bytes + state_bytes / 5);
  require_agreement(*cluster, 30s);
}

TEST_CASE("chaos on simulated disks: crashes mid-write and mid-snapshot lose nothing acknowledged",
          "[sim][snapshot][chaos]") {
  for (uint64_t seed : {171, 172, 173}) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      SimCluster cluster(size, seed, sim_disk_with_snapshots());
      use_frequent_snapshots(cluster.options());
      cluster.start_all();
      scenario_chaos(cluster, 40);
      cluster.stop_all();
    }
  }
}

TEST_CASE("a follower stopped or crashed in the middle of an install restarts on one state",
          "[sim][snapshot][install][restart]") {
  for (bool crash : {false, true}) {
    INFO((crash ? "crash" : "clean stop"));
    auto cluster = make_cluster(3, crash ? 182 : 181, /*tail=*/5);
    cluster->start_all();
    size_t lead = *cluster->wait_for_leader(30s);
    const size_t lagger = (lead + 1) % 3;
    cluster->isolate(lagger);
    propose_all(*cluster, "a", 600);
    lead = *cluster->wait_for_leader(30s);
    REQUIRE(snapshot_and_wait(*cluster, lead).ok());
    cluster->heal();
    REQUIRE(cluster->wait_until(
        [&] { return cluster->disk(lagger).exists("node/snapshot/temp/applied"); }, 30s));
    if (crash) {
      cluster->crash(lagger);
    } else {
      cluster->stop(lagger);
    }
    cluster->start(lagger);
    REQUIRE(cluster->wait_applied(600, 60s));
    CHECK(cluster->fsm(lagger).snapshots_loaded() == 1);
    require_agreement(*cluster, 30s);
  }
}
