// Snapshots on the production stack: real threads, TCP on 127.0.0.1, RocksDB logs and
// LocalSnapshotStorage on the real file system. A follower that slept through a compaction
// gets the leader's snapshot with InstallSnapshot and GetFile chunks (Raft §7), and every node
// comes back from its own snapshot after a restart.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/tcp_cluster.h"

using namespace raft;
using namespace raft::testing;
using namespace std::chrono_literals;

namespace {

constexpr Duration kWait = 20s;
constexpr int64_t kTail = 50;
constexpr size_t kEntries = 3000;

// Proposes `count` entries on the leader at once and waits until each has its outcome.
void propose_burst(TcpCluster& cluster, const std::string& prefix, size_t count) {
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  for (size_t k = 0; k < count; ++k) cluster.propose(*lead, prefix + std::to_string(k));
  const std::string last = prefix + std::to_string(count - 1);
  REQUIRE(cluster.wait_until(
      [&] {
        for (size_t k = 0; k < count; ++k) {
          if (!cluster.outcome(prefix + std::to_string(k))) return false;
        }
        return true;
      },
      kWait));
  for (size_t k = 0; k < count; ++k) {
    const std::string data = prefix + std::to_string(k);
    INFO(data << ": " << *cluster.outcome(data));
    REQUIRE(cluster.outcome(data)->ok());
  }
}

// Every running node has applied the same `count` entries in the same order.
bool all_applied_alike(TcpCluster& cluster, size_t count) {
  std::optional<uint64_t> hash;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.node(i)) continue;
    if (cluster.fsm(i).applied_count() != count) return false;
    if (!hash) hash = cluster.fsm(i).hash();
    if (cluster.fsm(i).hash() != *hash) return false;
  }
  return true;
}

}  // namespace

TEST_CASE(
    "tcp: a follower behind the compacted log installs the leader's snapshot, and every node "
    "restarts from its own (Raft 7)",
    "[tcp][snapshot]") {
  TcpClusterOptions cluster_options;
  cluster_options.snapshots = true;
  TcpCluster cluster(3, cluster_options);
  cluster.options().snapshot_interval_s = 0;  // only the snapshots this test asks for
  cluster.options().snapshot_log_tail_entries = kTail;
  cluster.options().snapshot_chunk_bytes = 16 * 1024;  // the snapshot travels in many chunks
  cluster.start_all();
  std::optional<size_t> first_leader = cluster.wait_for_leader(kWait);
  REQUIRE(first_leader.has_value());
  const size_t behind = (*first_leader + 1) % 3;
  cluster.stop(behind);

  propose_burst(cluster, "e", kEntries);
  REQUIRE(cluster.wait_until([&] { return all_applied_alike(cluster, kEntries); }, kWait));
  // Both running nodes snapshot and compact, so whichever leads when the follower returns
  // no longer has the entries it lacks.
  std::vector<LogId> snapshot_of(3);
  for (size_t i = 0; i < 3; ++i) {
    if (i == behind) continue;
    INFO("node " << i);
    REQUIRE(cluster.snapshot_and_wait(i, kWait).ok());
    NodeStatus status = cluster.node(i)->get_status();
    snapshot_of[i] = status.last_snapshot;
    CHECK(status.last_snapshot.index >= LogIndex(static_cast<int64_t>(kEntries)));
    CHECK(status.first_log_index == status.last_snapshot.index + 1 - kTail);
    CHECK(cluster.fsm(i).snapshots_saved() == 1);
  }
  // Entries after the snapshot reach the follower through the log, after the install.
  propose_burst(cluster, "after", 20);

  cluster.start(behind);
  const bool installed = cluster.wait_until(
      [&] {
        NodeStatus status = cluster.node(behind)->get_status();
        return status.last_snapshot.index > LogIndex(0) &&
               all_applied_alike(cluster, kEntries + 20);
      },
      kWait);
  NodeStatus caught_up = cluster.node(behind)->get_status();
  INFO("follower: snapshot " << caught_up.last_snapshot.index << ", log ["
                             << caught_up.first_log_index << ", " << caught_up.last_log_index
                             << "], applied " << cluster.fsm(behind).applied_count()
                             << ", install error " << caught_up.snapshot_install_error);
  REQUIRE(installed);
  CHECK(cluster.fsm(behind).snapshots_loaded() == 1);
  CHECK(cluster.fsm(behind).snapshots_saved() == 0);  // it got the leader's, not its own
  CHECK(caught_up.snapshot_install_error.ok());
  CHECK((caught_up.last_snapshot == snapshot_of[(behind + 1) % 3] ||
         caught_up.last_snapshot == snapshot_of[(behind + 2) % 3]));
  // Its log was reset to continue the snapshot.
  CHECK(caught_up.first_log_index == caught_up.last_snapshot.index + 1);
  CHECK(caught_up.applied_index >= caught_up.last_snapshot.index);
  snapshot_of[behind] = caught_up.last_snapshot;

  // A restart of everything: each node loads its own snapshot and applies only the log after.
  cluster.stop_all();
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(kWait).has_value());
  const bool restored = cluster.wait_until(
      [&] {
        for (size_t i = 0; i < 3; ++i) {
          if (cluster.fsm(i).snapshots_loaded() != 1) return false;
        }
        return all_applied_alike(cluster, kEntries + 20);
      },
      kWait);
  for (size_t i = 0; i < 3; ++i) {
    INFO("node " << i << " after the restart: loaded " << cluster.fsm(i).snapshots_loaded()
                 << ", applied " << cluster.fsm(i).applied_count());
    CHECK(cluster.node(i)->get_status().last_snapshot == snapshot_of[i]);
  }
  REQUIRE(restored);
  propose_burst(cluster, "restarted", 5);
  CHECK(cluster.wait_until([&] { return all_applied_alike(cluster, kEntries + 25); }, kWait));
  cluster.stop_all();
}
