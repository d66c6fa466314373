// BallotBox: decides the commit index on the leader from what each voter has durably stored.
//
// Raft §5.3/§5.4.2: an index is committed when a majority of the configuration stores it and
// the entry there belongs to the leader's current term; earlier entries commit with it. The
// first index of the current term (pending_index) makes that term check: nothing below it
// commits by counting replicas. During a joint change (Raft §6) an index needs a majority of
// both the new and the old voters. Learners are never counted.
//
// Thread-safety: none; the node lane owns it.
#pragma once

#include <map>

#include "raft/configuration.h"
#include "raft/types.h"

namespace raft {

class BallotBox {
 public:
  // Starts counting for a new term: `pending_index` is the first index of the leader's term.
  // Votes reset; the commit index is kept (it only grows).
  void reset(const ConfigurationEntry& conf, LogIndex pending_index);
  // The leader appended a configuration entry: from now on count with `conf` (for every entry
  // not yet committed; see docs/membership.md for why that is safe). Matches of peers that
  // stay are kept; new voters start at 0. REQUIRES: counting().
  void set_configuration(const ConfigurationEntry& conf);
  // Stops counting (this node is no longer leader).
  void clear();

  // `peer` durably stores every entry up to `match_index`. Returns true if that moved the
  // commit index. Reports for peers outside the configuration are ignored.
  bool update(const PeerId& peer, LogIndex match_index);

  // Counts again (after set_configuration). Returns true if the commit index moved.
  bool recount();

  // Followers learn the commit index from the leader. Never moves it backwards.
  bool advance_to(LogIndex committed_index);

  LogIndex commit_index() const { return commit_index_; }
  LogIndex pending_index() const { return pending_index_; }
  bool counting() const { return counting_; }

 private:
  // The highest index a majority of `voters` stores.
  LogIndex majority_index(const Configuration& voters) const;

  ConfigurationEntry conf_;
  // Every voter of conf_ (both halves when joint) and what it stores durably.
  std::map<PeerId, LogIndex> match_;
  LogIndex pending_index_;
  // Invariant: never decreases.
  LogIndex commit_index_;
  bool counting_ = false;
};

}  // namespace raft
