// ReadIndexClosure: the completion of Node::read_index, carrying the read index.
//
// The framework sets read_index() before run(OK). Build one from a lambda with
// make_read_index_closure(). Like every Closure it runs exactly once and must not block.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "raft/closure.h"
#include "raft/types.h"

namespace raft {

// How Node::read_index makes a read linearizable (docs/reads.md).
enum class ReadMode {
  // ReadIndex: one heartbeat round confirms leadership. Needs no clock assumption.
  kSafe,
  // A leader within its lease (it heard from a quorum recently enough that no other leader can
  // exist, assuming clocks drift apart by at most NodeOptions.max_clock_drift_ms per election
  // timeout) answers without the round; anywhere else, or outside the lease, as kSafe. When the
  // lease published by the node lane holds and the first entry of the leader's term is
  // committed, the read does not pass the node lane either: read_index() is the commit index
  // the state-machine lane knew at the call (every write acknowledged before the call is at or
  // below it), and the closure runs on that lane once it is applied.
  kLease,
  // As kLease, and a leader inside its lease that has applied the first entry of its term
  // does not even wait for the state machine: the closure runs at once, with read_index() =
  // what was applied then, on the thread that called Node::read_index (before it returns) when
  // the lease published by the node lane holds, else on the node lane. Every acknowledged write
  // is already applied on that leader, so a read of the state machine is linearizable, but it
  // runs concurrently with on_apply: the state machine must allow that read from another
  // thread. Otherwise as kLease.
  kWaitFree,
};

class ReadIndexClosure : public Closure {
 public:
  // Valid when run() gets OK: this node's state machine has applied at least this index.
  LogIndex read_index() const { return read_index_; }
  void set_read_index(LogIndex index) { read_index_ = index; }

 private:
  LogIndex read_index_;
};

// A ReadIndexClosure that calls `fn(status, read_index)`.
class FunctionReadIndexClosure final : public ReadIndexClosure {
 public:
  explicit FunctionReadIndexClosure(std::function<void(const Status&, LogIndex)> fn)
      : fn_(std::move(fn)) {}
  void run(const Status& status) override {
    if (fn_) fn_(status, read_index());
  }

 private:
  std::function<void(const Status&, LogIndex)> fn_;
};

inline std::unique_ptr<ReadIndexClosure> make_read_index_closure(
    std::function<void(const Status&, LogIndex)> fn) {
  return std::make_unique<FunctionReadIndexClosure>(std::move(fn));
}

}  // namespace raft
