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
// Snapshots show the pattern every state machine should follow: on_snapshot_save captures the
// state synchronously (here two numbers; a bigger service would take a copy-on-write handle or
// a storage snapshot) and hands the writing to a thread of its own, so applying goes on while
// the snapshot is written. The snapshot is one file, "counter", holding
// "pontoon-counter 1 <value> <applied index>\n".
//
// Thread-safety: the StateMachine callbacks run on the node's state-machine lane, one at a
// time. value() and applied_index() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

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
  void on_shutdown() override;
  void on_snapshot_save(raft::SnapshotWriter& writer, std::unique_ptr<raft::Closure> done) override;
  raft::Status on_snapshot_load(raft::SnapshotReader& reader) override;

  ~CounterStateMachine() override;

  // The snapshot file's content for a state, and its parser: EINVAL for anything but exactly
  // the line encode_snapshot() writes.
  static std::string encode_snapshot(int64_t value, int64_t applied_index);
  static raft::Status decode_snapshot(const std::string& bytes, int64_t* value,
                                      int64_t* applied_index);

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
  // Invariant: only grows (entries are applied in log order, each once), except that loading a
  // snapshot at start-up sets it.
  std::atomic<int64_t> applied_index_{0};
  // Writes the snapshot being saved. Fsm lane only; joined before the next save and at
  // shutdown, so at most one runs.
  std::thread snapshot_writer_;
};

}  // namespace counter
