// Protocol scenarios that run unchanged on SimCluster and TcpCluster. Each one drives a
// started cluster and asserts with Catch2; each cites the Raft paper section it checks.
#pragma once

#include <chrono>

#include "support/cluster.h"

namespace raft::testing {

struct ScenarioLimits {
  // How long (virtual or real) any single wait may take before the scenario fails.
  Duration wait = std::chrono::seconds(30);
  size_t entries = 10000;
};

// State Machine Safety after the fact: waits (up to `wait`) until every running member applied
// as much as the one ahead, then requires that they applied the same sequence, each entry
// once, and every acknowledged proposal among them.
void require_agreement(TestCluster& cluster, Duration wait);

// Raft §5.2 Election Safety: one leader emerges and no term ever has two.
void scenario_elects_one_leader(TestCluster& cluster, const ScenarioLimits& limits);
// Raft §5.3 Log Matching / State Machine Safety: `limits.entries` entries are applied in the
// same order on every node (equal running hashes).
void scenario_replicates_in_order(TestCluster& cluster, const ScenarioLimits& limits);
// Raft §5.4 Leader Completeness: the leader is killed; a new one takes over and no entry
// acknowledged to a client is lost, including on the old leader once it restarts.
void scenario_leader_killed(TestCluster& cluster, const ScenarioLimits& limits);
// Raft §6.2 (check quorum) and §5.4.2: a leader cut off from the majority steps down; entries
// it accepted while isolated are never applied anywhere and their closures fail.
void scenario_isolated_leader_steps_down(TestCluster& cluster, const ScenarioLimits& limits);
// Raft thesis §9.6 (pre-vote) and §6: a follower that rejoins after a partition does not
// depose the healthy leader, and its term did not grow while it was cut off.
void scenario_rejoining_follower_keeps_leader(TestCluster& cluster, const ScenarioLimits& limits);
// Raft §5.1 persistent state: all nodes restart and rebuild the same state from their logs.
void scenario_full_restart(TestCluster& cluster, const ScenarioLimits& limits);
// Raft §5.3 catch-up: a follower stopped while `limits.entries` entries commit restarts and
// catches up. Run with a log cache far smaller than those entries, the leader reads them
// from storage in ranges off its node lane (PeerReplicationStatus::storage_reads), and the
// follower ends with the same state as the others.
void scenario_lagging_follower_catches_up(TestCluster& cluster, const ScenarioLimits& limits);

}  // namespace raft::testing

namespace raft::testing {

class SimCluster;

// Randomized faults on the simulation: partitions, isolation, message loss and duplication,
// kills and restarts of a minority, with proposals throughout. Then heals everything and
// checks Raft's safety properties: one leader per term, every acknowledged entry applied
// exactly once on every node, the same sequence everywhere. Every choice comes from the
// cluster's seed.
void scenario_chaos(SimCluster& cluster, size_t rounds);

}  // namespace raft::testing
