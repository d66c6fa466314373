// Batching under load (NodeOptions::coalesce_after_inflight_msgs): with enough AppendEntries in
// flight to a follower, new entries wait for a response and go out together; requests that are
// already full (a follower catching up) are still pipelined. On the deterministic simulation.
#include <catch2/catch.hpp>

#include <optional>

#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

constexpr Duration kWait = std::chrono::seconds(60);

struct LeaderCounters {
  uint64_t appends_sent = 0;
  uint64_t entries_sent = 0;
  uint64_t appends_held = 0;
};

LeaderCounters leader_counters(SimCluster& cluster, size_t leader) {
  LeaderCounters counters;
  for (const PeerReplicationStatus& peer : cluster.node(leader)->get_status().peers) {
    counters.appends_sent += peer.appends_sent;
    counters.entries_sent += peer.entries_sent;
    counters.appends_held += peer.appends_held;
  }
  return counters;
}

// Every member applied the same entries at the same indexes.
void require_identical_logs(SimCluster& cluster) {
  const auto reference = cluster.fsm(0).applied();
  for (size_t i = 1; i < cluster.size(); ++i) {
    const auto applied = cluster.fsm(i).applied();
    REQUIRE(applied.size() == reference.size());
    for (size_t e = 0; e < applied.size(); ++e) {
      REQUIRE(applied[e].index == reference[e].index);
      REQUIRE(applied[e].data == reference[e].data);
    }
  }
}

// 3 members, every message 1 ms on the wire; `entries` proposals arrive on the leader every
// 20 us (50 per round trip). Returns the leader's counters once everything applied everywhere.
LeaderCounters run_steady_load(uint64_t seed, size_t coalesce_after, size_t entries) {
  INFO("seed " << seed << ", coalesce after " << coalesce_after);
  SimCluster cluster(3, seed);
  cluster.options().coalesce_after_inflight_msgs = coalesce_after;
  cluster.start_all();
  std::optional<size_t> leader = cluster.wait_for_leader(kWait);
  REQUIRE(leader.has_value());
  cluster.network().set_delay(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
  std::shared_ptr<Executor> client = cluster.scheduler().make_executor("client");
  for (size_t k = 0; k < entries; ++k) {
    client->post_after(std::chrono::microseconds(20 * k), [&cluster, k, at = *leader] {
      cluster.propose(at, "w" + std::to_string(k));
    });
  }
  REQUIRE(cluster.wait_until([&] { return cluster.outcomes().size() == entries; }, kWait));
  for (const auto& [data, status] : cluster.outcomes()) REQUIRE(status.ok());
  REQUIRE(cluster.wait_applied(entries, kWait));
  require_identical_logs(cluster);
  REQUIRE(cluster.leader() == leader);
  const LeaderCounters counters = leader_counters(cluster, *leader);
  cluster.stop_all();
  return counters;
}

// One follower is down while `entries` are committed by the other two, in requests of at most
// `max_entries_per_append`; then it starts again. Returns the simulated time it takes to catch
// up.
Duration catch_up_time(uint64_t seed, size_t coalesce_after, size_t max_inflight, size_t entries) {
  INFO("seed " << seed << ", coalesce after " << coalesce_after << ", inflight " << max_inflight);
  SimCluster cluster(3, seed);
  cluster.options().coalesce_after_inflight_msgs = coalesce_after;
  cluster.options().max_inflight_msgs = max_inflight;
  cluster.options().max_entries_per_append = 16;
  cluster.start_all();
  std::optional<size_t> leader = cluster.wait_for_leader(kWait);
  REQUIRE(leader.has_value());
  const size_t lagging = (*leader + 1) % 3;
  cluster.stop(lagging);
  for (size_t k = 0; k < entries; ++k) cluster.propose(*leader, "w" + std::to_string(k));
  REQUIRE(cluster.wait_until([&] { return cluster.outcomes().size() == entries; }, kWait));
  cluster.network().set_delay(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
  const TimePoint restarted = cluster.scheduler().now();
  cluster.start(lagging);
  REQUIRE(
      cluster.wait_until([&] { return cluster.fsm(lagging).applied_count() == entries; }, kWait));
  const Duration took = cluster.scheduler().now() - restarted;
  require_identical_logs(cluster);
  cluster.stop_all();
  return took;
}

}  // namespace

TEST_CASE("batching: under load new entries wait for a response and travel together",
          "[batching][sim]") {
  for (uint64_t seed : {1, 2}) {
    INFO("seed " << seed);
    const LeaderCounters at_once = run_steady_load(seed, 0, 3000);
    const LeaderCounters held = run_steady_load(seed, 2, 3000);
    // Without holding, nothing waits: each proposal goes out about as soon as it is appended.
    CHECK(at_once.appends_held == 0);
    CHECK(at_once.entries_sent >= 2 * 3000);
    CHECK(at_once.appends_sent * 2 > at_once.entries_sent);  // under 2 entries per request
    // Holding: both followers still got every entry, in a small fraction of the requests.
    CHECK(held.appends_held > 0);
    CHECK(held.entries_sent >= 2 * 3000);
    CHECK(held.appends_sent * 10 < held.entries_sent);  // over 10 entries per request
    CHECK(held.appends_sent * 5 < at_once.appends_sent);
  }
}

TEST_CASE("batching: a catching-up follower still gets full requests pipelined",
          "[batching][sim]") {
  const uint64_t seed = 3;
  const Duration pipelined = catch_up_time(seed, 0, 256, 3000);
  const Duration holding = catch_up_time(seed, 2, 256, 3000);
  const Duration two_in_flight = catch_up_time(seed, 0, 2, 3000);
  INFO("catch-up ms: pipelined "
       << std::chrono::duration_cast<std::chrono::milliseconds>(pipelined).count() << ", holding "
       << std::chrono::duration_cast<std::chrono::milliseconds>(holding).count()
       << ", two in flight "
       << std::chrono::duration_cast<std::chrono::milliseconds>(two_in_flight).count());
  // 3000 entries in requests of 16: with only two in flight that is ~94 round trips, and the
  // test can tell. Holding must not bring the catch-up anywhere near that.
  CHECK(two_in_flight > 3 * pipelined);
  CHECK(holding * 10 < pipelined * 12);
}
