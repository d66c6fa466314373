// Cluster tests on real threads and TCP over 127.0.0.1, with RocksDB logs and file meta
// storage: the same scenarios as node_sim_test, on the production stack.
#include <catch2/catch.hpp>

#include "support/scenarios.h"
#include "support/tcp_cluster.h"

#include <mutex>
#include <optional>

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

TEST_CASE("tcp: a follower far behind the leader's log cache catches up from storage reads",
          "[tcp][catchup]") {
  TcpCluster cluster(3);
  cluster.options().log_cache_max_bytes = 4096;
  cluster.start_all();
  ScenarioLimits limits;
  limits.entries = 3000;
  limits.wait = std::chrono::seconds(60);
  scenario_lagging_follower_catches_up(cluster, limits);
  cluster.stop_all();
}

TEST_CASE("tcp: all nodes restarted rebuild the same state (Raft 5.1)", "[tcp][restart]") {
  run_on_tcp(3, scenario_full_restart, 500);
  run_on_tcp(5, scenario_full_restart, 500);
}

namespace {

// Runs one membership call on the leader over real threads and waits for its outcome,
// proposing meanwhile. The outcome is shared state: the callback runs on a node lane.
Status tcp_change(TcpCluster& cluster, const std::string& prefix,
                  const std::function<void(Node&, std::unique_ptr<Closure>)>& change) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::optional<size_t> lead = cluster.wait_for_leader(std::chrono::seconds(30));
    if (!lead) return Status::TimedOut("no leader");
    auto result = std::make_shared<std::pair<std::mutex, std::optional<Status>>>();
    change(*cluster.node(*lead), make_closure([result](const Status& s) {
      std::lock_guard<std::mutex> lock(result->first);
      result->second = s;
    }));
    auto outcome = [&]() -> std::optional<Status> {
      std::lock_guard<std::mutex> lock(result->first);
      return result->second;
    };
    for (int k = 0; !outcome() && k < 3000; ++k) {
      if (cluster.node(*lead))
        cluster.propose(*lead, prefix + std::to_string(attempt) + "-" + std::to_string(k));
      cluster.wait_until([&] { return outcome().has_value(); }, std::chrono::milliseconds(20));
    }
    if (!outcome()) return Status::TimedOut("the change did not finish");
    if (!outcome()->is_busy()) return *outcome();
    // EBUSY: the leader's own first configuration entry is not committed yet; wait for it.
    cluster.wait_until(
        [&] {
          NodeStatus status = cluster.node(*lead)->get_status();
          return status.commit_index >= status.last_log_index;
        },
        std::chrono::seconds(5));
  }
  return Status::Busy("still busy");
}

}  // namespace

TEST_CASE("tcp: 3 -> 5 -> 3 voters under load over real TCP and RocksDB (Raft 6)",
          "[tcp][membership]") {
  TcpCluster cluster(5);
  cluster.set_initial_members({0, 1, 2});
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("before", std::chrono::seconds(30)).ok());
  const Configuration five(
      {cluster.peer(0), cluster.peer(1), cluster.peer(2), cluster.peer(3), cluster.peer(4)});
  Status grown = tcp_change(cluster, "grow", [&](Node& leader, std::unique_ptr<Closure> done) {
    leader.change_peers(five, std::move(done));
  });
  INFO("grow: " << grown);
  REQUIRE(grown.ok());
  const Configuration three({cluster.peer(2), cluster.peer(3), cluster.peer(4)});
  Status shrunk = tcp_change(cluster, "shrink", [&](Node& leader, std::unique_ptr<Closure> done) {
    leader.change_peers(three, std::move(done));
  });
  INFO("shrink: " << shrunk);
  REQUIRE(shrunk.ok());
  cluster.stop(0);
  cluster.stop(1);
  REQUIRE(cluster.propose_and_wait("after", std::chrono::seconds(30)).ok());
  require_agreement(cluster, std::chrono::seconds(30));
  for (size_t i = 2; i < 5; ++i) {
    INFO("node " << i);
    CHECK(cluster.node(i)->get_status().conf == three);
  }
}

TEST_CASE("tcp: leadership transfer under load hands over to the target (thesis 3.10)",
          "[tcp][transfer]") {
  TcpCluster cluster(3);
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("before", std::chrono::seconds(30)).ok());
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const size_t lead = *cluster.wait_for_leader(std::chrono::seconds(30));
    const size_t target = (lead + 1) % 3;
    Status moved =
        tcp_change(cluster, "t" + std::to_string(round) + "-",
                   [&](Node& leader, std::unique_ptr<Closure> done) {
                     leader.transfer_leadership_to(cluster.peer(target), std::move(done));
                   });
    INFO("transfer: " << moved);
    REQUIRE(moved.ok());
    REQUIRE(cluster.wait_until([&] { return cluster.node(target)->is_leader(); },
                               std::chrono::seconds(10)));
  }
  REQUIRE(cluster.propose_and_wait("after", std::chrono::seconds(30)).ok());
  require_agreement(cluster, std::chrono::seconds(30));
}
