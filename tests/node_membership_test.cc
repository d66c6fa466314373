// Membership changes on the deterministic simulation (Raft §6, docs/membership.md): joint
// consensus under load, removing the leader, restarts in the middle of a change, learners,
// catch-up failures, one change at a time, and the unsafe reset_peers. Every scenario keeps
// proposing while the change runs and checks that no acknowledged entry is lost and that every
// node applies the same sequence.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;
using namespace std::chrono_literals;

namespace {

Configuration members(const SimCluster& cluster, const std::vector<size_t>& voters,
                      const std::vector<size_t>& learners = {}) {
  std::vector<PeerId> v, l;
  for (size_t i : voters) v.push_back(cluster.peer(i));
  for (size_t i : learners) l.push_back(cluster.peer(i));
  return Configuration(std::move(v), std::move(l));
}

// Runs `change` on the current leader and waits for its outcome, proposing a steady stream of
// entries ("<prefix><n>") on the leader meanwhile.
Status change_under_load(SimCluster& cluster, const std::string& prefix,
                         const std::function<void(Node&, std::unique_ptr<Closure>)>& change,
                         Duration limit = 60s) {
  size_t n = 0;
  const TimePoint deadline = cluster.scheduler().now() + limit;
  // EBUSY means "retry": a leader's own first configuration entry may not be committed yet.
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::optional<size_t> lead = cluster.wait_for_leader(30s);
    if (!lead) return Status::TimedOut("no leader");
    std::optional<Status> result;
    change(*cluster.node(*lead), make_closure([&](const Status& s) { result = s; }));
    while (!result && cluster.scheduler().now() < deadline) {
      if (std::optional<size_t> now_leading = cluster.leader()) {
        cluster.propose(*now_leading, prefix + std::to_string(n++));
      }
      cluster.wait_until([&] { return result.has_value(); }, 5ms);
    }
    if (!result) return Status::TimedOut("the change did not finish");
    if (!result->is_busy()) return *result;
    cluster.wait_until([] { return false; }, 100ms);
  }
  return Status::Busy("still busy after 20 attempts");
}

// Waits until every running member of `expected` uses it, no longer joint. (Replicas removed
// from the group may never hear of the change's last step: they are not asked.)
bool wait_for_configuration(SimCluster& cluster, const Configuration& expected) {
  const std::vector<PeerId> wanted = expected.members();
  return cluster.wait_until(
      [&] {
        for (size_t i = 0; i < cluster.size(); ++i) {
          if (!cluster.node(i)) continue;
          if (std::find(wanted.begin(), wanted.end(), cluster.peer(i)) == wanted.end()) continue;
          NodeStatus status = cluster.node(i)->get_status();
          if (!(status.conf == expected) || !status.old_conf.empty()) return false;
        }
        return true;
      },
      30s);
}

Status propose_on_leader(SimCluster& cluster, const std::string& data) {
  return cluster.propose_and_wait(data, 30s);
}

}  // namespace

TEST_CASE("3 -> 5 -> 3 voters under continuous load loses no acknowledged entry (Raft 6)",
          "[sim][membership]") {
  for (uint64_t seed : {201, 202, 203}) {
    INFO("seed " << seed);
    SimCluster cluster(5, seed);
    cluster.set_initial_members({0, 1, 2});
    cluster.start_all();
    REQUIRE(propose_on_leader(cluster, "before").ok());

    const Configuration five = members(cluster, {0, 1, 2, 3, 4});
    Status grown = change_under_load(cluster, "grow", [&](Node& leader, auto done) {
      leader.change_peers(five, std::move(done));
    });
    INFO("grow: " << grown);
    REQUIRE(grown.ok());
    REQUIRE(wait_for_configuration(cluster, five));

    const Configuration three = members(cluster, {2, 3, 4});
    Status shrunk = change_under_load(cluster, "shrink", [&](Node& leader, auto done) {
      leader.change_peers(three, std::move(done));
    });
    INFO("shrink: " << shrunk);
    REQUIRE(shrunk.ok());
    // The removed members stop where they are; the rest agree on the new configuration.
    for (size_t removed : {0, 1}) {
      if (cluster.node(removed)) cluster.stop(removed);
    }
    REQUIRE(wait_for_configuration(cluster, three));
    REQUIRE(propose_on_leader(cluster, "after").ok());
    require_agreement(cluster, 30s);
  }
}

TEST_CASE("a change that removes the leader: it steps down once C_new commits and stays quiet",
          "[sim][membership]") {
  SimCluster cluster(3, 211);
  cluster.start_all();
  const size_t old_leader = *cluster.wait_for_leader(30s);
  REQUIRE(propose_on_leader(cluster, "a").ok());
  std::vector<size_t> rest;
  for (size_t i = 0; i < 3; ++i) {
    if (i != old_leader) rest.push_back(i);
  }
  Status removed = change_under_load(cluster, "r", [&](Node& leader, auto done) {
    leader.remove_peer(cluster.peer(old_leader), std::move(done));
  });
  INFO(removed);
  REQUIRE(removed.ok());
  REQUIRE(cluster.wait_until([&] { return !cluster.node(old_leader)->is_leader(); }, 10s));
  const std::optional<size_t> next = cluster.wait_for_leader(30s);
  REQUIRE(next.has_value());
  CHECK(*next != old_leader);
  // The removed node is out of the configuration: it never campaigns again, so its term does
  // not run ahead and it never leads.
  const Term term = cluster.node(old_leader)->get_status().term;
  cluster.wait_until([] { return false; }, 5s);
  CHECK(cluster.node(old_leader)->get_status().term <= cluster.node(*next)->get_status().term);
  CHECK(cluster.node(old_leader)->get_status().role == Role::kFollower);
  CHECK(cluster.node(old_leader)->get_status().term == term);
  REQUIRE(propose_on_leader(cluster, "b").ok());
  cluster.stop(old_leader);
  require_agreement(cluster, 30s);
}

TEST_CASE("nodes restarted during joint consensus still elect a leader and finish the change",
          "[sim][membership][restart]") {
  for (uint64_t seed : {221, 222}) {
    INFO("seed " << seed);
    SimCluster cluster(5, seed);
    cluster.set_initial_members({0, 1, 2});
    cluster.start_all();
    REQUIRE(propose_on_leader(cluster, "a").ok());
    const size_t lead = *cluster.wait_for_leader(30s);
    std::optional<Status> result;
    const Configuration target = members(cluster, {0, 3, 4});
    cluster.node(lead)->change_peers(target, make_closure([&](const Status& s) { result = s; }));
    // Stop at the first sign of C_old,new on any member.
    REQUIRE(cluster.wait_until(
        [&] {
          for (size_t i = 0; i < 5; ++i) {
            if (cluster.node(i) && !cluster.node(i)->get_status().old_conf.empty()) return true;
          }
          return false;
        },
        30s));
    // Every member restarts (braft #407: this once left no electable leader).
    cluster.stop_all();
    cluster.start_all();
    REQUIRE(wait_for_configuration(cluster, target));
    REQUIRE(result.has_value());  // The old leader's caller learned something.
    for (size_t removed : {1, 2}) cluster.stop(removed);
    REQUIRE(propose_on_leader(cluster, "b").ok());
    require_agreement(cluster, 30s);
  }
}

TEST_CASE("a learner replicates and applies but never votes or counts toward a quorum",
          "[sim][membership][learner]") {
  SimCluster cluster(4, 231);
  cluster.set_initial_members({0, 1, 2});
  cluster.start_all();
  REQUIRE(propose_on_leader(cluster, "a").ok());
  Status added = change_under_load(cluster, "l", [&](Node& leader, auto done) {
    leader.add_learners({cluster.peer(3)}, std::move(done));
  });
  REQUIRE(added.ok());
  const Configuration with_learner = members(cluster, {0, 1, 2}, {3});
  REQUIRE(wait_for_configuration(cluster, with_learner));
  REQUIRE(propose_on_leader(cluster, "b").ok());
  require_agreement(cluster, 30s);  // The learner applied the same entries.
  CHECK(cluster.node(3)->list_learners() == std::vector<PeerId>{cluster.peer(3)});

  // Two voters down: the remaining voter and the learner are no quorum, and the learner never
  // campaigns.
  const size_t lead = *cluster.wait_for_leader(30s);
  std::vector<size_t> voters{0, 1, 2};
  std::erase(voters, lead);
  cluster.stop(voters[0]);
  cluster.stop(voters[1]);
  const Term learner_term = cluster.node(3)->get_status().term;
  cluster.wait_until([] { return false; }, 10s);
  CHECK_FALSE(cluster.node(lead)->is_leader());
  CHECK(cluster.node(3)->get_status().role == Role::kFollower);
  CHECK(cluster.node(3)->get_status().term == learner_term);
  std::optional<size_t> any = cluster.leader();
  CHECK_FALSE(any.has_value());

  // Removing the learner takes it out of the group.
  cluster.start(voters[0]);
  cluster.start(voters[1]);
  Status removed = change_under_load(cluster, "m", [&](Node& leader, auto done) {
    leader.remove_learners({cluster.peer(3)}, std::move(done));
  });
  INFO(removed);
  REQUIRE(removed.ok());
  cluster.stop(3);
  REQUIRE(wait_for_configuration(cluster, members(cluster, {0, 1, 2})));
}

TEST_CASE("one change at a time; a new voter that cannot catch up fails with ECATCHUP",
          "[sim][membership]") {
  SimCluster cluster(4, 241);
  cluster.set_initial_members({0, 1, 2});
  cluster.options().catchup_timeout_ms = 2000;
  for (size_t i = 0; i < 3; ++i) cluster.start(i);  // Member 3 never starts: it cannot catch up.
  REQUIRE(propose_on_leader(cluster, "a").ok());
  const size_t lead = *cluster.wait_for_leader(30s);
  std::optional<Status> first, second, bad;
  cluster.node(lead)->add_peer(cluster.peer(3), make_closure([&](const Status& s) { first = s; }));
  cluster.node(lead)->remove_peer(cluster.peer((lead + 1) % 3),
                                  make_closure([&](const Status& s) { second = s; }));
  cluster.node(lead)->remove_peer(cluster.peer(3), make_closure([&](const Status& s) { bad = s; }));
  REQUIRE(cluster.wait_until([&] { return first && second && bad; }, 30s));
  INFO("first: " << *first << "; second: " << *second << "; bad: " << *bad);
  CHECK(second->is_busy());
  CHECK(bad->is_invalid_argument());  // 3 is not a voter yet: checked before anything else.
  CHECK(first->is_catchup());
  // Nothing changed, and the group keeps working.
  REQUIRE(wait_for_configuration(cluster, members(cluster, {0, 1, 2})));
  REQUIRE(propose_on_leader(cluster, "b").ok());
  // A follower refuses membership changes (EPERM), and a bad target is EINVAL.
  std::optional<Status> on_follower, invalid;
  cluster.node((lead + 1) % 3)->add_peer(cluster.peer(3), make_closure([&](const Status& s) {
                                           on_follower = s;
                                         }));
  cluster.node(lead)->remove_peer(cluster.peer(3),
                                  make_closure([&](const Status& s) { invalid = s; }));
  REQUIRE(cluster.wait_until([&] { return on_follower && invalid; }, 10s));
  CHECK(on_follower->is_not_leader());
  CHECK(invalid->is_invalid_argument());
}

TEST_CASE("reset_peers brings back a group that lost its majority for good (unsafe)",
          "[sim][membership]") {
  SimCluster cluster(3, 251);
  cluster.start_all();
  REQUIRE(propose_on_leader(cluster, "a").ok());
  REQUIRE(cluster.wait_applied(1, 30s));
  const size_t survivor = (*cluster.wait_for_leader(30s) + 1) % 3;
  for (size_t i = 0; i < 3; ++i) {
    if (i != survivor) cluster.stop(i);
  }
  cluster.wait_until([] { return false; }, 3s);
  CHECK_FALSE(cluster.leader().has_value());
  std::optional<Status> reset;
  cluster.node(survivor)->reset_peers(members(cluster, {survivor}),
                                      make_closure([&](const Status& s) { reset = s; }));
  REQUIRE(cluster.wait_until([&] { return reset.has_value(); }, 5s));
  REQUIRE(reset->ok());
  REQUIRE(cluster.wait_until([&] { return cluster.node(survivor)->is_leader(); }, 30s));
  std::optional<Status> applied;
  cluster.propose(survivor, "after-reset");
  REQUIRE(cluster.wait_until([&] { return cluster.outcome("after-reset").has_value(); }, 30s));
  CHECK(cluster.outcome("after-reset")->ok());
  CHECK(cluster.node(survivor)->list_peers() == std::vector<PeerId>{cluster.peer(survivor)});
}

TEST_CASE("on simulated disks, crashes during membership changes keep one configuration history",
          "[sim][membership][chaos]") {
  for (uint64_t seed : {261, 262, 263}) {
    INFO("seed " << seed);
    SimCluster cluster(5, seed, sim_disk_with_snapshots());
    use_frequent_snapshots(cluster.options(), 50, 20);
    cluster.set_initial_members({0, 1, 2});
    cluster.start_all();
    REQUIRE(propose_on_leader(cluster, "a").ok());
    std::mt19937_64& rng = cluster.scheduler().rng();
    const std::vector<Configuration> targets{
        members(cluster, {0, 1, 2, 3, 4}), members(cluster, {1, 2, 3}),
        members(cluster, {0, 1, 2, 3, 4}), members(cluster, {0, 1, 2})};
    for (const Configuration& target : targets) {
      std::optional<size_t> lead = cluster.wait_for_leader(60s);
      REQUIRE(lead.has_value());
      std::optional<Status> result;
      cluster.node(*lead)->change_peers(target, make_closure([&](const Status& s) { result = s; }));
      // Crash a random member at a random point of the change, then bring it back.
      cluster.wait_until(
          [&] { return result.has_value(); },
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
      const size_t victim = std::uniform_int_distribution<size_t>(0, 4)(rng);
      if (cluster.node(victim)) cluster.crash(victim);
      for (int k = 0; k < 20; ++k) {
        if (std::optional<size_t> now = cluster.leader()) {
          cluster.propose(*now, target.to_string() + "/" + std::to_string(k) + "/" +
                                    std::to_string(cluster.scheduler().steps()));
        }
        cluster.wait_until([] { return false; }, 20ms);
      }
      cluster.start(victim);
      // A change interrupted by the crash is retried until it holds.
      for (int attempt = 0; attempt < 10 && !wait_for_configuration(cluster, target); ++attempt) {
        std::optional<size_t> now = cluster.wait_for_leader(60s);
        REQUIRE(now.has_value());
        std::optional<Status> retry;
        cluster.node(*now)->change_peers(target, make_closure([&](const Status& s) { retry = s; }));
        cluster.wait_until([&] { return retry.has_value(); }, 60s);
      }
      REQUIRE(wait_for_configuration(cluster, target));
    }
    // Members removed by the last change hear of nothing after it: leave them out.
    for (size_t removed : {3, 4}) {
      if (cluster.node(removed)) cluster.stop(removed);
    }
    REQUIRE(propose_on_leader(cluster, "z").ok());
    require_agreement(cluster, 30s);
  }
}

TEST_CASE("a restarted follower whose configuration entry is cut takes the leader's (Raft 6)",
          "[sim][membership][restart]") {
  // The old leader's own first entry is a configuration entry nobody else stores. After a
  // restart it is the newest configuration that replica knows; the new leader's entries cut it
  // and bring their own configuration entry in the same AppendEntries.
  for (uint64_t seed : {271, 272, 273}) {
    INFO("seed " << seed);
    SimCluster cluster(3, seed);
    cluster.start_all();
    // Cut the first leader off the moment it is elected: its first entry (a configuration
    // entry) and what follows never leave it.
    std::optional<size_t> first;
    REQUIRE(cluster.wait_until(
        [&] {
          first = cluster.leader();
          return first.has_value();
        },
        30s));
    const size_t old_leader = *first;
    cluster.isolate(old_leader);
    for (int k = 0; k < 5; ++k) cluster.propose(old_leader, "lost" + std::to_string(k));
    REQUIRE(cluster.wait_until([&] { return !cluster.node(old_leader)->is_leader(); }, 30s));
    std::optional<size_t> next;
    REQUIRE(cluster.wait_until(
        [&] {
          next = cluster.leader();
          return next && *next != old_leader;
        },
        30s));
    REQUIRE(propose_on_leader(cluster, "b").ok());
    cluster.stop(old_leader);
    cluster.start(old_leader);
    cluster.heal();
    REQUIRE(propose_on_leader(cluster, "c").ok());
    require_agreement(cluster, 30s);
    CHECK(cluster.node(old_leader)->get_status().conf == cluster.conf());
  }
}
