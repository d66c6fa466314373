// ReplicatorGroup: the leader's replicators, one per follower of the configuration.
//
// Created empty; a new leader calls start() with the followers of its configuration and
// stop_all() when its leadership ends. Membership change (a later capability) will add and
// remove single replicators here.
//
// Thread-safety: none; it lives on the node lane like the replicators it holds.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "raft/configuration.h"
#include "raft/node.h"
#include "replicator.h"

namespace raft {

class ReplicatorGroup {
 public:
  // Creates and starts a replicator for every peer in `peers` other than options.leader_id.
  // REQUIRES: empty().
  void start(const std::vector<PeerId>& peers, const ReplicatorOptions& options);
  // Starts replicating to `peer` too (a joining voter or a learner). No-op if it has one.
  void add(const PeerId& peer);
  // Stops replicating to `peer` (it left the configuration). No-op if it has none.
  void remove(const PeerId& peer);
  bool contains(const PeerId& peer) const { return replicators_.count(peer) != 0; }
  // What `peer` is known to store durably (0 if no replicator).
  LogIndex match_index(const PeerId& peer) const;
  // Whether `peer` has answered this leader at all.
  bool heard_back(const PeerId& peer) const;
  // Stops and drops every replicator; their late RPC completions are ignored.
  void stop_all();
  bool empty() const { return replicators_.empty(); }

  // The leader appended entries: each replicator sends what its window allows.
  void on_new_entries();
  // Followers that answered any RPC within `window` before `now`.
  std::vector<PeerId> heard_from(TimePoint now, Duration window) const;
  // The followers that answered, at the leader's term, an AppendEntries sent at or after
  // `since`.
  std::vector<PeerId> acked_since(TimePoint since) const;
  // Replicator::last_ack_sent_at of `peer`; TimePoint::min() if it has none.
  TimePoint last_ack_sent_at(const PeerId& peer) const;
  // Every follower gets a heartbeat now.
  void heartbeat_all_now();
  std::vector<PeerReplicationStatus> status() const;
  // Makes `*out` equal status(), reusing it (no allocation) when it lists the same peers.
  void update_status(std::vector<PeerReplicationStatus>* out) const;

 private:
  std::map<PeerId, std::shared_ptr<Replicator>> replicators_;
  ReplicatorOptions options_;  // Those of start(), for replicators added later.
};

}  // namespace raft
