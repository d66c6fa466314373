// Leadership transfer (Raft thesis §3.10) and priority election on the deterministic
// simulation: the target takes over under load with nothing acknowledged lost; a transfer that
// cannot finish gives up after an election timeout and the leader leads on; the arguments a
// transfer refuses; the highest priority is elected first, priority 0 never leads, and decay
// keeps a cluster whose best candidates are down from staying leaderless.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;
using namespace std::chrono_literals;

namespace {

std::optional<Status> transfer_and_wait(SimCluster& cluster, size_t from, const PeerId& to,
                                        Duration limit = 10s) {
  std::optional<Status> result;
  cluster.node(from)->transfer_leadership_to(to,
                                             make_closure([&](const Status& s) { result = s; }));
  cluster.wait_until([&] { return result.has_value(); }, limit);
  return result;
}

// Lets virtual time pass.
void idle(SimCluster& cluster, Duration how_long) {
  cluster.wait_until([] { return false; }, how_long);
}

Configuration with_priorities(const SimCluster& cluster, const std::vector<int32_t>& priorities) {
  Configuration conf = cluster.conf();
  for (size_t i = 0; i < priorities.size(); ++i) {
    PONTOON_CHECK(conf.set_priority(cluster.peer(i), priorities[i]).ok());
  }
  return conf;
}

}  // namespace

TEST_CASE("transfer under load: the target leads at once and nothing acknowledged is lost",
          "[sim][transfer]") {
  for (size_t size : {3, 5}) {
    for (uint64_t seed : {301, 302, 303}) {
      INFO("size " << size << " seed " << seed);
      SimCluster cluster(size, seed);
      cluster.start_all();
      REQUIRE(cluster.propose_and_wait("before", 30s).ok());
      const size_t old_leader = *cluster.wait_for_leader(30s);
      const Term old_term = cluster.node(old_leader)->get_status().term;
      const size_t target = (old_leader + 1) % size;

      std::optional<Status> result;
      const TimePoint asked = cluster.scheduler().now();
      cluster.node(old_leader)
          ->transfer_leadership_to(cluster.peer(target),
                                   make_closure([&](const Status& s) { result = s; }));
      // Keep proposing on whoever leads while the transfer runs.
      size_t n = 0;
      while (!result && cluster.scheduler().now() - asked < 10s) {
        if (std::optional<size_t> lead = cluster.leader()) {
          cluster.propose(*lead, "during" + std::to_string(n++));
        }
        cluster.wait_until([&] { return result.has_value(); }, 3ms);
      }
      REQUIRE(result.has_value());
      INFO("transfer: " << *result);
      REQUIRE(result->ok());
      // The old leader is alive and heartbeating: without TimeoutNow and the transfer flag on
      // the votes, nobody would campaign at all, let alone within one election timeout.
      REQUIRE(cluster.wait_until([&] { return cluster.node(target)->is_leader(); },
                                 std::chrono::milliseconds(cluster.options().election_timeout_ms)));
      CHECK(cluster.node(target)->get_status().term == old_term + 1);
      CHECK_FALSE(cluster.node(old_leader)->is_leader());
      // Proposals the old leader refused while transferring answered EBUSY, never EPERM.
      for (const auto& [data, status] : cluster.outcomes()) {
        if (data.starts_with("during") && !status.ok()) {
          INFO(data << ": " << status);
          CHECK((status.is_busy() || status.is_step_down()));
        }
      }
      REQUIRE(cluster.propose_and_wait("after", 30s).ok());
      require_agreement(cluster, 30s);
    }
  }
}

TEST_CASE("transfer to any voter picks one that may lead", "[sim][transfer]") {
  SimCluster cluster(3, 311);
  // Peer 0 never leads; 1 and 2 have no priority.
  cluster.set_initial_conf(with_priorities(cluster, {Configuration::kNeverLeader}));
  cluster.start_all();
  const size_t lead = *cluster.wait_for_leader(30s);
  REQUIRE(lead != 0);
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  std::optional<Status> result = transfer_and_wait(cluster, lead, PeerId());
  REQUIRE(result.has_value());
  INFO(*result);
  REQUIRE(result->ok());
  const std::optional<size_t> next = cluster.wait_for_leader(30s);
  REQUIRE(next.has_value());
  CHECK(*next == 3 - lead);  // The other voter that may lead; never peer 0.
  REQUIRE(cluster.propose_and_wait("b", 30s).ok());
  require_agreement(cluster, 30s);
}

TEST_CASE("a transfer nobody takes up gives up after an election timeout; the leader leads on",
          "[sim][transfer]") {
  SimCluster cluster(3, 321);
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  const size_t lead = *cluster.wait_for_leader(30s);
  const size_t target = (lead + 1) % 3;
  const Term term = cluster.node(lead)->get_status().term;
  cluster.isolate(target);

  std::optional<Status> result;
  const TimePoint asked = cluster.scheduler().now();
  cluster.node(lead)->transfer_leadership_to(cluster.peer(target),
                                             make_closure([&](const Status& s) { result = s; }));
  // While it waits: proposals and membership changes are EBUSY, so is a second transfer.
  std::optional<Status> proposal, change, second;
  cluster.propose(lead, "while-transferring");
  cluster.node(lead)->remove_peer(cluster.peer(target),
                                  make_closure([&](const Status& s) { change = s; }));
  cluster.node(lead)->transfer_leadership_to(cluster.peer((lead + 2) % 3),
                                             make_closure([&](const Status& s) { second = s; }));
  REQUIRE(cluster.wait_until(
      [&] { return cluster.outcome("while-transferring").has_value() && change && second; }, 1s));
  CHECK(cluster.outcome("while-transferring")->is_busy());
  CHECK(change->is_busy());
  CHECK(second->is_busy());

  REQUIRE(cluster.wait_until([&] { return result.has_value(); }, 10s));
  INFO(*result);
  CHECK(result->is_timed_out());
  CHECK(std::string(result->message()).find(cluster.peer(target).to_string()) != std::string::npos);
  const Duration waited = cluster.scheduler().now() - asked;
  CHECK(waited >= std::chrono::milliseconds(cluster.options().election_timeout_ms));
  CHECK(waited < std::chrono::milliseconds(2 * cluster.options().election_timeout_ms));
  // Still the leader of the same term, taking proposals again.
  CHECK(cluster.node(lead)->is_leader());
  CHECK(cluster.node(lead)->get_status().term == term);
  cluster.propose(lead, "after-timeout");
  REQUIRE(cluster.wait_until([&] { return cluster.outcome("after-timeout").has_value(); }, 10s));
  CHECK(cluster.outcome("after-timeout")->ok());
  cluster.heal();
  require_agreement(cluster, 30s);
}

TEST_CASE("transfer arguments: follower, non-voter, priority 0, self", "[sim][transfer]") {
  SimCluster cluster(4, 331);
  cluster.set_initial_members({0, 1, 2});
  Configuration conf = cluster.initial_conf();
  REQUIRE(conf.set_priority(cluster.peer(2), Configuration::kNeverLeader).ok());
  cluster.set_initial_conf(conf);
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  const size_t lead = *cluster.wait_for_leader(30s);
  REQUIRE(lead != 2);
  const size_t follower = lead == 0 ? 1 : 0;

  std::optional<Status> on_follower = transfer_and_wait(cluster, follower, cluster.peer(lead));
  REQUIRE(on_follower.has_value());
  CHECK(on_follower->is_not_leader());
  std::optional<Status> not_member = transfer_and_wait(cluster, lead, cluster.peer(3));
  REQUIRE(not_member.has_value());
  CHECK(not_member->is_invalid_argument());
  std::optional<Status> never = transfer_and_wait(cluster, lead, cluster.peer(2));
  REQUIRE(never.has_value());
  CHECK(never->is_invalid_argument());
  CHECK(std::string(never->message()).find("priority 0") != std::string::npos);
  std::optional<Status> self = transfer_and_wait(cluster, lead, cluster.peer(lead));
  REQUIRE(self.has_value());
  CHECK(self->ok());
  CHECK(cluster.node(lead)->is_leader());
  REQUIRE(cluster.propose_and_wait("b", 30s).ok());
}

TEST_CASE("priority election: the highest priority leads; the next one when it is down",
          "[sim][priority]") {
  for (uint64_t seed : {341, 342, 343}) {
    INFO("seed " << seed);
    SimCluster cluster(3, seed);
    cluster.set_initial_conf(with_priorities(cluster, {10, 100, 50}));
    cluster.start_all();
    REQUIRE(cluster.wait_for_leader(30s) == std::optional<size_t>(1));
    REQUIRE(cluster.propose_and_wait("a", 30s).ok());
    cluster.stop(1);
    // 50 decays its wait (100 -> 80 -> 64 -> 52 -> 42) faster than 10 does, so it leads next.
    std::optional<size_t> next = cluster.wait_for_leader(30s);
    REQUIRE(next == std::optional<size_t>(2));
    REQUIRE(cluster.propose_and_wait("b", 30s).ok());
    // Once the best candidate is back it follows; the transfer hands leadership back to it.
    cluster.start(1);
    REQUIRE(cluster.wait_applied(2, 30s));
    std::optional<Status> back = transfer_and_wait(cluster, 2, cluster.peer(1));
    REQUIRE(back.has_value());
    REQUIRE(back->ok());
    REQUIRE(cluster.wait_for_leader(30s) == std::optional<size_t>(1));
    REQUIRE(cluster.propose_and_wait("c", 30s).ok());
    require_agreement(cluster, 30s);
  }
}

TEST_CASE("priority 0 never leads; decay elects among the rest when the best is gone",
          "[sim][priority]") {
  SimCluster cluster(3, 351);
  cluster.set_initial_conf(with_priorities(cluster, {0, 0, 7}));
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(30s) == std::optional<size_t>(2));
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  cluster.stop(2);
  const Term term = cluster.node(0)->get_status().term;
  idle(cluster, 20s);
  // Nobody may lead: the two left have priority 0, and they never even pre-vote.
  CHECK_FALSE(cluster.leader().has_value());
  CHECK(cluster.node(0)->get_status().term == term);
  CHECK(cluster.node(1)->get_status().term == term);
  cluster.start(2);
  REQUIRE(cluster.wait_for_leader(30s) == std::optional<size_t>(2));
  REQUIRE(cluster.propose_and_wait("b", 30s).ok());
  require_agreement(cluster, 30s);

  // A group whose highest priority is down for good still elects: the others' wait decays.
  SimCluster decaying(3, 352);
  decaying.set_initial_conf(with_priorities(decaying, {1000, 1, 1}));
  decaying.start(1);
  decaying.start(2);
  const std::optional<size_t> lead = decaying.wait_for_leader(60s);
  REQUIRE(lead.has_value());
  CHECK(*lead != 0);
  REQUIRE(decaying.propose_and_wait("c", 30s).ok());
}
