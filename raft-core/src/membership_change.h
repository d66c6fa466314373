// MembershipChange: the state of a membership change the leader runs (node_configuration.cc,
// docs/membership.md). Node lane state; NodeImpl owns at most one.
#pragma once

#include <memory>
#include <vector>

#include "raft/clock.h"
#include "raft/closure.h"
#include "raft/configuration.h"
#include "raft/types.h"

namespace raft {

// A membership change this leader runs. Node lane state.
struct MembershipChange {
  enum class Stage {
    kCatchingUp,  // New voters replicate as non-voters until they are close enough.
    kJoint,       // C_old,new is in the log, waiting to commit.
    kNew,         // C_new is in the log, waiting to commit.
  };
  Stage stage = Stage::kCatchingUp;
  Configuration target;
  // New voters not yet caught up (kCatchingUp only).
  std::vector<PeerId> catching_up;
  TimePoint deadline;
  // The configuration entry of the current stage (kJoint, kNew).
  LogIndex entry_index;
  // Null for a change this leader inherited (a joint configuration found in its log).
  std::unique_ptr<Closure> done;
  uint64_t generation = 0;
};

}  // namespace raft
