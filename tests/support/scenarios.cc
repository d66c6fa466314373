#include "support/scenarios.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>

namespace raft::testing {
namespace {

// Proposes `count` entries named prefix-0 .. prefix-(count-1) to the current leader, a window
// at a time, and waits for their outcomes. Returns the data of the acknowledged ones.
std::set<std::string> propose_many(TestCluster& cluster, const std::string& prefix, size_t count,
                                   const ScenarioLimits& limits) {
  std::set<std::string> acknowledged;
  const size_t window = 512;
  for (size_t base = 0; base < count; base += window) {
    std::optional<size_t> lead = cluster.wait_for_leader(limits.wait);
    REQUIRE(lead.has_value());
    size_t end = std::min(count, base + window);
    for (size_t n = base; n < end; ++n) cluster.propose(*lead, prefix + std::to_string(n));
    bool answered = cluster.wait_until(
        [&] {
          for (size_t n = base; n < end; ++n) {
            if (!cluster.outcome(prefix + std::to_string(n))) return false;
          }
          return true;
        },
        limits.wait);
    REQUIRE(answered);
    for (size_t n = base; n < end; ++n) {
      std::string data = prefix + std::to_string(n);
      if (cluster.outcome(data)->ok()) acknowledged.insert(data);
    }
  }
  return acknowledged;
}

std::set<std::string> applied_data(TestCluster& cluster, size_t i) {
  std::set<std::string> out;
  for (const AppliedEntry& entry : cluster.fsm(i).applied()) out.insert(entry.data);
  return out;
}

// Every running node applied the same sequence (same count, same hash).
void require_same_state(TestCluster& cluster) {
  std::optional<uint64_t> hash;
  std::optional<size_t> count;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.node(i)) continue;
    INFO("node " << i);
    if (!hash) {
      hash = cluster.fsm(i).hash();
      count = cluster.fsm(i).applied_count();
    }
    CHECK(cluster.fsm(i).applied_count() == *count);
    CHECK(cluster.fsm(i).hash() == *hash);
  }
}

size_t max_applied(TestCluster& cluster) {
  size_t most = 0;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (cluster.node(i)) most = std::max(most, cluster.fsm(i).applied_count());
  }
  return most;
}

}  // namespace

void require_agreement(TestCluster& cluster, Duration wait) {
  // Followers learn the last commit index with the next heartbeat: let everyone catch up.
  REQUIRE(cluster.wait_applied(max_applied(cluster), wait));
  require_same_state(cluster);
  const std::map<std::string, Status> outcomes = cluster.outcomes();
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.node(i)) continue;
    std::map<std::string, int> seen;
    for (const AppliedEntry& entry : cluster.fsm(i).applied()) ++seen[entry.data];
    for (const auto& [data, count] : seen) {
      INFO("node " << i << " applied " << data << " " << count << " times");
      REQUIRE(count == 1);
    }
    for (const auto& [data, status] : outcomes) {
      if (!status.ok()) continue;
      INFO("node " << i << " lost acknowledged entry " << data);
      REQUIRE(seen.count(data) == 1);
    }
  }
}

void scenario_elects_one_leader(TestCluster& cluster, const ScenarioLimits& limits) {
  std::optional<size_t> lead = cluster.wait_for_leader(limits.wait);
  REQUIRE(lead.has_value());
  // The leader's first entry (the configuration) commits and reaches every state machine.
  REQUIRE(cluster.wait_until(
      [&] {
        for (size_t i = 0; i < cluster.size(); ++i) {
          if (cluster.fsm(i).committed_confs().empty()) return false;
        }
        return true;
      },
      limits.wait));
  for (size_t i = 0; i < cluster.size(); ++i) {
    CHECK(cluster.fsm(i).committed_confs().back() == cluster.conf());
    CHECK(cluster.node(i)->leader_id() == cluster.peer(*lead));
  }
  CHECK(cluster.fsm(*lead).leader_terms().size() == 1);
  CHECK_FALSE(cluster.leaders_by_term().empty());
}

void scenario_replicates_in_order(TestCluster& cluster, const ScenarioLimits& limits) {
  std::set<std::string> acknowledged = propose_many(cluster, "e", limits.entries, limits);
  CHECK(acknowledged.size() == limits.entries);
  REQUIRE(cluster.wait_applied(limits.entries, limits.wait));
  require_same_state(cluster);
  // Entries appear in the order they were proposed on the leader.
  std::vector<AppliedEntry> applied = cluster.fsm(0).applied();
  REQUIRE(applied.size() == limits.entries);
  for (size_t n = 0; n < applied.size(); ++n) {
    INFO("position " << n);
    REQUIRE(applied[n].data == "e" + std::to_string(n));
  }
}

void scenario_leader_killed(TestCluster& cluster, const ScenarioLimits& limits) {
  const size_t before = std::min<size_t>(limits.entries / 2, 1000);
  std::set<std::string> acknowledged = propose_many(cluster, "a", before, limits);
  std::optional<size_t> old_leader = cluster.wait_for_leader(limits.wait);
  REQUIRE(old_leader.has_value());
  const Term old_term = cluster.node(*old_leader)->get_status().term;
  // Kill the leader with proposals in flight: their outcome may be unknown to the client.
  for (size_t n = 0; n < 50; ++n) cluster.propose(*old_leader, "inflight" + std::to_string(n));
  cluster.stop(*old_leader);

  std::optional<size_t> new_leader = cluster.wait_for_leader(limits.wait);
  REQUIRE(new_leader.has_value());
  CHECK(*new_leader != *old_leader);
  CHECK(cluster.node(*new_leader)->get_status().term > old_term);
  std::set<std::string> after = propose_many(cluster, "b", before, limits);
  acknowledged.insert(after.begin(), after.end());
  for (size_t n = 0; n < 50; ++n) {
    std::optional<Status> outcome = cluster.outcome("inflight" + std::to_string(n));
    REQUIRE(outcome.has_value());  // Shutdown answered every pending closure.
    if (outcome->ok()) acknowledged.insert("inflight" + std::to_string(n));
  }

  cluster.start(*old_leader);
  const size_t total = max_applied(cluster);
  REQUIRE(cluster.wait_applied(total, limits.wait));
  require_same_state(cluster);
  for (size_t i = 0; i < cluster.size(); ++i) {
    std::set<std::string> applied = applied_data(cluster, i);
    for (const std::string& data : acknowledged) {
      INFO("node " << i << " lost acknowledged entry " << data);
      REQUIRE(applied.count(data) == 1);
    }
  }
}

void scenario_isolated_leader_steps_down(TestCluster& cluster, const ScenarioLimits& limits) {
  propose_many(cluster, "pre", 10, limits);
  std::optional<size_t> old_leader = cluster.wait_for_leader(limits.wait);
  REQUIRE(old_leader.has_value());
  cluster.isolate(*old_leader);
  for (size_t n = 0; n < 20; ++n) cluster.propose(*old_leader, "lost" + std::to_string(n));
  // Raft §6.2: without a quorum's answers within an election timeout it stops leading.
  REQUIRE(cluster.wait_until([&] { return !cluster.node(*old_leader)->is_leader(); }, limits.wait));
  // The majority elects a new leader and keeps committing.
  std::optional<size_t> new_leader;
  REQUIRE(cluster.wait_until(
      [&] {
        new_leader = cluster.leader();
        return new_leader && *new_leader != *old_leader;
      },
      limits.wait));
  std::set<std::string> acknowledged = propose_many(cluster, "post", 20, limits);
  CHECK(acknowledged.size() == 20);

  cluster.heal();
  const size_t total = max_applied(cluster);
  REQUIRE(cluster.wait_applied(total, limits.wait));
  require_same_state(cluster);
  for (size_t n = 0; n < 20; ++n) {
    std::string data = "lost" + std::to_string(n);
    std::optional<Status> outcome = cluster.outcome(data);
    REQUIRE(outcome.has_value());
    // Appended by a leader that then stepped down: its own code, not EPERM ("never appended").
    INFO(data << ": " << *outcome);
    CHECK(outcome->is_step_down());
    for (size_t i = 0; i < cluster.size(); ++i) {
      INFO("node " << i << " applied " << data);
      CHECK(applied_data(cluster, i).count(data) == 0);
    }
  }
}

void scenario_rejoining_follower_keeps_leader(TestCluster& cluster, const ScenarioLimits& limits) {
  std::optional<size_t> lead = cluster.wait_for_leader(limits.wait);
  REQUIRE(lead.has_value());
  const Term term = cluster.node(*lead)->get_status().term;
  const size_t follower = (*lead + 1) % cluster.size();
  REQUIRE(cluster.wait_until(
      [&] { return cluster.node(follower)->leader_id() == cluster.peer(*lead); }, limits.wait));
  const Term follower_term = cluster.node(follower)->get_status().term;
  cluster.isolate(follower);
  // Long enough for several election timeouts to pass on the isolated follower.
  propose_many(cluster, "while-away", 50, limits);
  // Let several election timeouts pass on the isolated follower (nothing to wait for: the
  // point is that nothing happens).
  cluster.wait_until([] { return false; }, std::chrono::seconds(2));
  // Pre-vote: failing pre-votes never raise the isolated follower's term.
  CHECK(cluster.node(follower)->get_status().term == follower_term);
  cluster.heal();
  REQUIRE(cluster.wait_applied(50, limits.wait));
  CHECK(cluster.node(*lead)->is_leader());
  CHECK(cluster.node(*lead)->get_status().term == term);
  CHECK(cluster.node(follower)->leader_id() == cluster.peer(*lead));
}

void scenario_full_restart(TestCluster& cluster, const ScenarioLimits& limits) {
  const size_t count = std::min<size_t>(limits.entries, 500);
  std::set<std::string> acknowledged = propose_many(cluster, "r", count, limits);
  CHECK(acknowledged.size() == count);
  REQUIRE(cluster.wait_applied(count, limits.wait));
  const uint64_t hash = cluster.fsm(0).hash();
  std::vector<Term> terms;
  for (size_t i = 0; i < cluster.size(); ++i) terms.push_back(cluster.node(i)->get_status().term);

  cluster.stop_all();
  cluster.start_all();
  // Committed entries replay once a new leader commits its first entry.
  REQUIRE(cluster.wait_for_leader(limits.wait).has_value());
  REQUIRE(cluster.wait_applied(count, limits.wait));
  for (size_t i = 0; i < cluster.size(); ++i) {
    INFO("node " << i);
    CHECK(cluster.fsm(i).hash() == hash);
    CHECK(cluster.fsm(i).applied_count() == count);
    // Raft §5.1: the term is durable and never goes back.
    CHECK(cluster.node(i)->get_status().term >= terms[i]);
  }
}

void scenario_lagging_follower_catches_up(TestCluster& cluster, const ScenarioLimits& limits) {
  std::optional<size_t> lead = cluster.wait_for_leader(limits.wait);
  REQUIRE(lead.has_value());
  const size_t behind = (*lead + 1) % cluster.size();
  cluster.stop(behind);
  std::set<std::string> acknowledged = propose_many(cluster, "c", limits.entries, limits);
  CHECK(acknowledged.size() == limits.entries);
  lead = cluster.wait_for_leader(limits.wait);
  REQUIRE(lead.has_value());
  const Term term = cluster.node(*lead)->get_status().term;

  cluster.start(behind);
  REQUIRE(cluster.wait_until([&] { return cluster.fsm(behind).applied_count() >= limits.entries; },
                             limits.wait));
  require_agreement(cluster, limits.wait);

  // The leader learns the follower caught up once its answers arrive (the follower may apply
  // first: the requests carry the commit index).
  auto follower_status = [&]() -> std::optional<PeerReplicationStatus> {
    NodeStatus status = cluster.node(*lead)->get_status();
    if (status.role != Role::kLeader || status.term != term) return std::nullopt;
    for (const PeerReplicationStatus& p : status.peers) {
      if (p.peer == cluster.peer(behind) && p.match_index >= status.commit_index) return p;
    }
    return std::nullopt;
  };
  if (!cluster.wait_until([&] { return follower_status().has_value(); }, limits.wait)) {
    // The counters belong to one leadership; a new leader caught the follower up instead.
    NodeStatus status = cluster.node(*lead)->get_status();
    REQUIRE((status.role != Role::kLeader || status.term != term));
    WARN("leadership changed during catch-up; storage read counters not checked");
    return;
  }
  std::optional<PeerReplicationStatus> peer = follower_status();
  REQUIRE(peer.has_value());
  INFO("storage reads " << peer->storage_reads << ", entries from storage "
                        << peer->entries_read_from_storage << ", entries sent "
                        << peer->entries_sent << " in " << peer->appends_sent << " appends");
  // What the cache had dropped came from storage, many entries per read.
  CHECK(peer->entries_read_from_storage >= limits.entries / 2);
  CHECK(peer->storage_reads > 0);
  CHECK(peer->storage_reads * 8 <= peer->entries_read_from_storage);
}

}  // namespace raft::testing

#include "raft/logging.h"
#include "support/sim_cluster.h"

namespace raft::testing {

void scenario_chaos(SimCluster& cluster, size_t rounds) {
  std::mt19937_64& rng = cluster.scheduler().rng();
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const size_t n = cluster.size();
  const size_t max_down = (n - 1) / 2;
  size_t next_entry = 0;
  std::vector<std::string> proposed;
  // Which incarnation of which member each proposal went to.
  std::map<std::string, std::pair<size_t, uint64_t>> proposed_to;

  for (size_t round = 0; round < rounds; ++round) {
    size_t down = 0;
    for (size_t i = 0; i < n; ++i) down += cluster.node(i) == nullptr;
    switch (pick(7)) {
      case 0:
        cluster.isolate(pick(n));
        break;
      case 1: {
        std::vector<size_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        size_t cut = 1 + pick(n - 1);
        cluster.partition({std::vector<size_t>(order.begin(), order.begin() + cut),
                           std::vector<size_t>(order.begin() + cut, order.end())});
        break;
      }
      case 2:
        cluster.heal();
        break;
      case 3: {
        size_t victim = pick(n);
        if (!cluster.node(victim) || down >= max_down) break;
        // On a simulated disk, most kills are crashes: at whatever point the node is, mid-write
        // or mid-snapshot, keeping only what its disk made durable.
        if (cluster.uses_sim_disk() && pick(4) != 0) {
          cluster.crash(victim);
        } else {
          cluster.stop(victim);
        }
        break;
      }
      case 4:
        for (size_t i = 0; i < n; ++i) {
          if (!cluster.node(i)) {
            cluster.start(i);
            break;
          }
        }
        break;
      case 5:
        cluster.network().set_drop_probability(std::uniform_real_distribution<double>(0, 0.3)(rng));
        cluster.network().set_duplicate_probability(
            std::uniform_real_distribution<double>(0, 0.3)(rng));
        break;
      default:
        cluster.network().set_drop_probability(0);
        cluster.network().set_duplicate_probability(0);
        break;
    }
    // Propose to random running nodes; most land on followers and fail fast with EPERM.
    size_t burst = 1 + pick(40);
    for (size_t k = 0; k < burst; ++k) {
      size_t target = pick(n);
      if (!cluster.node(target)) continue;
      std::string data = "c" + std::to_string(next_entry++);
      proposed.push_back(data);
      proposed_to[data] = {target, cluster.incarnation(target)};
      cluster.propose(target, data);
    }
    cluster.wait_until([] { return false; }, std::chrono::milliseconds(50 + pick(1500)));
  }

  // Heal, bring everyone back, and let the cluster settle.
  PONTOON_LOG(kInfo) << "chaos: healing";
  cluster.heal();
  cluster.network().set_drop_probability(0);
  cluster.network().set_duplicate_probability(0);
  for (size_t i = 0; i < n; ++i) {
    if (!cluster.node(i)) cluster.start(i);
  }
  const Duration wait = std::chrono::seconds(60);
  // A leader elected just before the heal may still step down (it heard from too few peers
  // during the faults): retry like a client would, with a fresh payload each time so that a
  // retried command can never be applied twice.
  Status final_status;
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::string data = "final" + std::to_string(attempt);
    proposed.push_back(data);
    proposed_to.erase(data);
    final_status = cluster.propose_and_wait(data, wait);
    if (final_status.ok()) break;
  }
  INFO("final proposal: " << final_status);
  REQUIRE(final_status.ok());
  // Every proposal has an outcome by now: applied, failed, or failed on shutdown; only those
  // held by an incarnation that crashed may have none (their outcome is unknown).
  auto unanswered_allowed = [&] {
    std::map<std::string, Status> answered = cluster.outcomes();
    for (const std::string& data : proposed) {
      if (answered.count(data) != 0) continue;
      auto to = proposed_to.find(data);
      if (to == proposed_to.end()) return false;  // A final proposal: it was answered above.
      if (!cluster.crashed(to->second.first, to->second.second)) return false;
    }
    return true;
  };
  REQUIRE(cluster.wait_until(unanswered_allowed, wait));
  require_agreement(cluster, wait);
}

}  // namespace raft::testing
