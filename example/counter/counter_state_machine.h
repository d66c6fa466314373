// CounterStateMachine: a replicated 64-bit counter.
//
// Every committed entry is a CounterCommand (counter_command.h). An increment adds its delta
// (wrapping around on overflow, two's complement, identically on every replica); a get leaves
// the counter alone. For each entry this replica proposed, the state machine stores the counter
// right after the entry into the entry's CounterClosure, which the framework then runs with OK:
// for an increment that is the value including it, for a get the value as of the get's place in
// the log.
//
// An entry that does not decode is refused with set_error_and_rollback(ECORRUPTION): the node
// stops rather than apply something it does not understand.
//
// Thread-safety: the StateMachine callbacks run on the node's state-machine lane, one at a
// time. value() and applied_index() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "logged_state_machine.h"
#include "raft/closure.h"
#include "raft/types.h"

namespace counter {

// The completion of one proposed counter command: carries the resulting value to `done`.
// `done` is called exactly once; with OK it gets the counter right after the entry, otherwise
// the value is meaningless (0).
class CounterClosure final : public raft::Closure {
 public:
  using Callback = std::function<void(const raft::Status& status, int64_t value)>;

  explicit CounterClosure(Callback done) : done_(std::move(done)) {}

  // Called by CounterStateMachine while it applies this closure's entry.
  // REQUIRES: not yet set.
  void set_value(int64_t value);

  void run(const raft::Status& status) override;

 private:
  Callback done_;
  std::optional<int64_t> value_;
};

class CounterStateMachine final : public example::LoggedStateMachine {
 public:
  // `name` prefixes the log lines (e.g. the replica's address).
  explicit CounterStateMachine(std::string name = "counter")
      : LoggedStateMachine(std::move(name)) {}

  void on_apply(raft::Iterator& iter) override;

  // The counter after the last applied entry.
  int64_t value() const { return value_.load(std::memory_order_acquire); }
  // The index of the last entry applied (0 before the first).
  raft::LogIndex applied_index() const {
    return raft::LogIndex(applied_index_.load(std::memory_order_acquire));
  }

 protected:
  std::string describe_state() const override;

 private:
  // Written only on the state-machine lane; read from any thread.
  std::atomic<int64_t> value_{0};
  // Invariant: only grows (entries are applied in log order, each once).
  std::atomic<int64_t> applied_index_{0};
};

}  // namespace counter
