// The rule both RaftMetaStorage implementations enforce on every update.
#pragma once

#include "raft/check.h"
#include "raft/peer_id.h"
#include "raft/types.h"

namespace raft {

// Aborts if replacing (current_term, current_vote) with (term, vote) would move the term
// backwards or change a vote already cast in this term: both are Raft safety bugs (§5.1
// terms only grow, §5.2 at most one vote per term).
inline void check_meta_update(Term current_term, const PeerId& current_vote, Term term,
                              const PeerId& vote) {
  PONTOON_CHECK_MSG(term >= current_term, "the stored term must never decrease");
  if (term == current_term && !current_vote.empty()) {
    PONTOON_CHECK_MSG(vote == current_vote, "a replica must not change its vote within a term");
  }
}

}  // namespace raft
