// Task: one proposal to the replicated log, handed to Node::apply().
#pragma once

#include <memory>
#include <string>

#include "raft/closure.h"
#include "raft/types.h"

namespace raft {

struct Task {
  // The payload; the state machine sees it through Iterator::data().
  std::string data;
  // Runs once: OK after the entry is applied to this node's state machine, or an error when
  // it can no longer be known to commit here (EPERM not leader / leadership lost, ESTALE
  // expected_term mismatch, EBUSY queue full, ESHUTDOWN). An error other than EBUSY, EINVAL
  // and ESTALE does not prove the entry was not committed: a new leader may still commit it.
  std::unique_ptr<Closure> done;
  // If not kAnyTerm, the task is rejected with ESTALE unless the leader's term equals it.
  Term expected_term = kAnyTerm;

  static constexpr Term kAnyTerm = Term(-1);
};

}  // namespace raft
