// Cluster tests on real threads and TCP over 127.0.0.1, with RocksDB logs and file meta
// storage: the same scenarios as node_sim_test, on the production stack.
#include <catch2/catch.hpp>

#include "support/scenarios.h"
#include "support/tcp_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

template <typename Scenario>
void run_on_tcp(size_t size, Scenario scenario, size_t entries = 10000) {
  INFO("cluster of " << size << " over TCP");
  TcpCluster cluster(size);
  cluster.start_all();
  ScenarioLimits limits;
  limits.entries = entries;
  limits.wait = std::chrono::seconds(60);
  scenario(cluster, limits);
  cluster.stop_all();
}

}  // namespace

TEST_CASE("tcp: one leader is elected and no term has two (Raft 5.2)", "[tcp][election]") {
  run_on_tcp(3, scenario_elects_one_leader);
  run_on_tcp(5, scenario_elects_one_leader);
}

TEST_CASE("tcp: 10000 entries are applied in the same order on every node (Raft 5.3)",
          "[tcp][replication]") {
  run_on_tcp(3, scenario_replicates_in_order);
  run_on_tcp(5, scenario_replicates_in_order);
}

TEST_CASE("tcp: a killed leader is replaced and no acknowledged entry is lost (Raft 5.4)",
          "[tcp][failover]") {
  run_on_tcp(3, scenario_leader_killed, 1000);
  run_on_tcp(5, scenario_leader_killed, 1000);
}

TEST_CASE(
    "tcp: an isolated leader steps down and its uncommitted entries are never applied "
    "(Raft 6.2 and 5.4.2)",
    "[tcp][partition]") {
  run_on_tcp(3, scenario_isolated_leader_steps_down);
  run_on_tcp(5, scenario_isolated_leader_steps_down);
}

TEST_CASE("tcp: a follower rejoining after a partition does not depose the leader (pre-vote)",
          "[tcp][prevote]") {
  run_on_tcp(3, scenario_rejoining_follower_keeps_leader);
  run_on_tcp(5, scenario_rejoining_follower_keeps_leader);
}

TEST_CASE("tcp: all nodes restarted rebuild the same state (Raft 5.1)", "[tcp][restart]") {
  run_on_tcp(3, scenario_full_restart, 500);
  run_on_tcp(5, scenario_full_restart, 500);
}
