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
  // Runs once: OK after the entry is applied to this node's state machine, or an error.
  // Errors that prove the entry was never appended, so retrying cannot apply it twice:
  //   EPERM      this node is not the leader;
  //   EBUSY      a queue or the uncommitted backlog is full;
  //   ESTALE     expected_term does not match the leader's term;
  //   ESHUTDOWN  the node was stopping before the entry was appended.
  // ESTEPDOWN means the entry was appended but its leader stepped down (or shut down) before
  // it was applied here: a new leader may still commit it, so its outcome is unknown. So is
  // that of any other error (EIO when the node stopped on a disk error, or the error of a
  // state machine that refused an entry): the entry may have been committed.
  std::unique_ptr<Closure> done;
  // If not kAnyTerm, the task is rejected with ESTALE unless the leader's term equals it.
  Term expected_term = kAnyTerm;

  static constexpr Term kAnyTerm = Term(-1);
};

}  // namespace raft
