// Cluster tests on the deterministic simulation: SimScheduler + InProcessNetwork + memory
// storage. A failing seed replays exactly; the seed is printed with every failure.
#include <catch2/catch.hpp>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

constexpr uint64_t kSeeds[] = {1, 2, 3};

template <typename Scenario>
void run_on_sim(size_t size, uint64_t seed, Scenario scenario, size_t entries = 10000) {
  INFO("cluster of " << size << ", seed " << seed);
  SimCluster cluster(size, seed);
  cluster.start_all();
  ScenarioLimits limits;
  limits.entries = entries;
  scenario(cluster, limits);
  cluster.stop_all();
}

}  // namespace

TEST_CASE("sim: one leader is elected and no term has two (Raft 5.2)", "[sim][election]") {
  for (uint64_t seed : kSeeds) {
    run_on_sim(3, seed, scenario_elects_one_leader);
    run_on_sim(5, seed, scenario_elects_one_leader);
  }
}

TEST_CASE("sim: 10000 entries are applied in the same order on every node (Raft 5.3)",
          "[sim][replication]") {
  run_on_sim(3, 11, scenario_replicates_in_order);
  run_on_sim(5, 12, scenario_replicates_in_order);
}

TEST_CASE("sim: a killed leader is replaced and no acknowledged entry is lost (Raft 5.4)",
          "[sim][failover]") {
  for (uint64_t seed : kSeeds) {
    run_on_sim(3, seed, scenario_leader_killed, 1000);
    run_on_sim(5, seed, scenario_leader_killed, 1000);
  }
}

TEST_CASE(
    "sim: an isolated leader steps down and its uncommitted entries are never applied "
    "(Raft 6.2 and 5.4.2)",
    "[sim][partition]") {
  for (uint64_t seed : kSeeds) {
    run_on_sim(3, seed, scenario_isolated_leader_steps_down);
    run_on_sim(5, seed, scenario_isolated_leader_steps_down);
  }
}

TEST_CASE("sim: a follower rejoining after a partition does not depose the leader (pre-vote)",
          "[sim][prevote]") {
  for (uint64_t seed : kSeeds) {
    run_on_sim(3, seed, scenario_rejoining_follower_keeps_leader);
    run_on_sim(5, seed, scenario_rejoining_follower_keeps_leader);
  }
}

TEST_CASE("sim: all nodes restarted rebuild the same state (Raft 5.1)", "[sim][restart]") {
  for (uint64_t seed : kSeeds) {
    run_on_sim(3, seed, scenario_full_restart, 500);
    run_on_sim(5, seed, scenario_full_restart, 500);
  }
}

TEST_CASE("sim: a follower far behind the leader's log cache catches up from storage reads",
          "[sim][catchup]") {
  for (uint64_t seed : kSeeds) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      SimCluster cluster(size, seed);
      // About forty entries' worth: the follower's 3,000 are read back from storage.
      cluster.options().log_cache_max_bytes = 4096;
      cluster.start_all();
      ScenarioLimits limits;
      limits.entries = 3000;
      scenario_lagging_follower_catches_up(cluster, limits);
      cluster.stop_all();
    }
  }
}

TEST_CASE("sim: safety holds under chaos with a log cache of a few entries", "[sim][chaos]") {
  // Every lagging follower is then served from storage, so reads race window resets,
  // elections, kills and restarts.
  for (uint64_t seed = 200; seed < 203; ++seed) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      SimCluster cluster(size, seed);
      cluster.options().log_cache_max_bytes = 1024;
      cluster.start_all();
      scenario_chaos(cluster, 40);
      cluster.stop_all();
    }
  }
}

TEST_CASE("sim: the same seed replays the same run exactly", "[sim][determinism]") {
  auto run = [](uint64_t seed) {
    SimCluster cluster(3, seed);
    cluster.network().set_drop_probability(0.05);
    cluster.start_all();
    ScenarioLimits limits;
    limits.entries = 200;
    scenario_replicates_in_order(cluster, limits);
    auto result = std::make_tuple(cluster.scheduler().steps(), cluster.scheduler().now(),
                                  cluster.leaders_by_term(), cluster.fsm(0).hash());
    cluster.stop_all();
    return result;
  };
  auto first = run(42);
  auto second = run(42);
  CHECK(std::get<0>(first) == std::get<0>(second));
  CHECK(std::get<1>(first) == std::get<1>(second));
  CHECK(std::get<2>(first) == std::get<2>(second));
  CHECK(std::get<3>(first) == std::get<3>(second));
  auto other = run(43);
  // A different seed takes a different path (different step count or timing).
  CHECK((std::get<0>(other) != std::get<0>(first) || std::get<1>(other) != std::get<1>(first)));
}

TEST_CASE("sim: safety holds under random partitions, loss, kills and restarts", "[sim][chaos]") {
  for (uint64_t seed = 100; seed < 106; ++seed) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      SimCluster cluster(size, seed);
      cluster.start_all();
      scenario_chaos(cluster, 40);
      cluster.stop_all();
    }
  }
}
