// Configuration: the members of a group — the voting peers, and the learners that receive the
// log but never vote (docs/membership.md).
//
// Kept sorted and free of duplicates so that two configurations with the same members compare
// equal; no peer is both a voter and a learner. A voter may carry an election priority
// (docs/membership.md, "Priority election"): 0 never leads; among voters with priorities the
// highest one is elected first while it is alive. ConfigurationEntry pairs two of these during a
// joint change (Raft §6); quorum logic lives in BallotBox and the election code.
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "raft/peer_id.h"
#include "raft/status.h"

namespace raft {

class Configuration {
 public:
  Configuration() = default;
  explicit Configuration(std::vector<PeerId> peers, std::vector<PeerId> learners = {});

  // "No priority": the voter campaigns whenever its election timeout passes.
  static constexpr int32_t kNoPriority = -1;
  // Priority 0: the voter votes but never campaigns (it cannot become leader).
  static constexpr int32_t kNeverLeader = 0;
  static constexpr int32_t kMaxPriority = 1'000'000;

  // Parses "ip:port[:index[:priority]],...,ip:port[:index]/learner,...": voters, optionally
  // with an election priority in [0, kMaxPriority] (the index must then be written), and
  // learners marked with a "/learner" suffix. Errors are EINVAL naming the bad peer; a list
  // with no voter, a duplicate peer, a peer that is both voter and learner, or a learner with
  // a priority is an error.
  static Result<Configuration> parse(std::string_view text);

  const std::vector<PeerId>& peers() const { return peers_; }
  const std::vector<PeerId>& learners() const { return learners_; }
  // The number of voters.
  size_t size() const { return peers_.size(); }
  bool empty() const { return peers_.empty(); }
  // Whether `peer` votes.
  bool contains(const PeerId& peer) const;
  bool is_learner(const PeerId& peer) const;
  // The number of votes that make a majority of the voters: size()/2 + 1.
  size_t quorum() const { return peers_.size() / 2 + 1; }
  // Voters and learners, sorted.
  std::vector<PeerId> members() const;

  // The election priority of `peer`: kNoPriority unless it is a voter given one.
  int32_t priority(const PeerId& peer) const;
  // The highest priority among the voters (kNoPriority if none has one).
  int32_t max_priority() const;
  // Gives voter `peer` a priority in [kNoPriority, kMaxPriority] (kNoPriority removes it).
  // EINVAL if `peer` is not a voter or the value is out of range.
  Status set_priority(const PeerId& peer, int32_t priority);
  // This configuration with the priorities `other` gives to voters of this one.
  Configuration with_priorities_of(const Configuration& other) const;

  // The inverse of parse(): "a,b:8101:0:100,c/learner".
  std::string to_string() const;

  bool operator==(const Configuration&) const = default;

 private:
  std::vector<PeerId> peers_;     // Invariant: sorted, no duplicates.
  std::vector<PeerId> learners_;  // Invariant: sorted, no duplicates, none in peers_.
  // Invariant: keys are voters; values in [kNeverLeader, kMaxPriority].
  std::map<PeerId, int32_t> priorities_;
};

std::ostream& operator<<(std::ostream& os, const Configuration& conf);

// The membership a configuration log entry records: `conf`, and during a joint change (Raft §6,
// C_old,new) also `old_conf`, whose voters must agree too. Encoded in the entry (and in a
// snapshot's meta) as "<conf>" or "<conf>|<old_conf>".
struct ConfigurationEntry {
  Configuration conf;
  Configuration old_conf;  // Empty unless joint.

  bool joint() const { return !old_conf.empty(); }
  // A voter of either configuration.
  bool is_voter(const PeerId& peer) const { return conf.contains(peer) || old_conf.contains(peer); }
  // Voters of both and learners (of the new one), sorted, without duplicates.
  std::vector<PeerId> all_members() const;
  // Whether `granted` holds a majority of conf's voters and, if joint, of old_conf's.
  bool has_quorum(const std::vector<PeerId>& granted) const;

  std::string to_string() const;
  // EINVAL if either part does not parse.
  static Result<ConfigurationEntry> parse(std::string_view text);

  bool operator==(const ConfigurationEntry&) const = default;
};

std::ostream& operator<<(std::ostream& os, const ConfigurationEntry& entry);

}  // namespace raft
