// AtomicStateMachine: many named 64-bit registers, replicated.
//
// Every committed entry is an AtomicCommand (atomic_command.h), applied to the register it
// names; a register never written holds 0. set stores its value; compare_and_set stores its
// new value only if the register holds the expected one; fetch_add adds its delta (wrapping
// around, two's complement, identically on every replica); get changes nothing. For each entry
// this replica proposed, the state machine stores the entry's AtomicResult into the entry's
// AtomicClosure, which the framework then runs with OK.
//
// An entry that does not decode is refused with set_error_and_rollback(ECORRUPTION): the node
// stops rather than apply something it does not understand.
//
// Thread-safety: the StateMachine callbacks run on the node's state-machine lane, one at a
// time. value(), key_count() and applied_index() may be called from any thread, concurrently
// with on_apply (a wait-free read answers on the node lane while entries are applied): readers
// share a lock that on_apply takes exclusively for each entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>

#include "atomic_command.h"
#include "logged_state_machine.h"
#include "raft/closure.h"
#include "raft/types.h"

namespace atomic {

// What applying one command produced.
struct AtomicResult {
  // get: the value; set: the value stored; compare_and_set: the register right after (the new
  // value if it succeeded, the value found otherwise); fetch_add: the value before.
  int64_t value = 0;
  // compare_and_set: whether it swapped. Always true for the other kinds.
  bool succeeded = true;

  bool operator==(const AtomicResult&) const = default;
};

// Applies `command` to `registers` and says what it produced. The rules of every replica.
AtomicResult apply_command(const AtomicCommand& command, std::map<std::string, int64_t>* registers);

// The completion of one proposed command: carries its AtomicResult to `done`. `done` is called
// exactly once; with OK it gets the entry's result, otherwise a meaningless default.
class AtomicClosure final : public raft::Closure {
 public:
  using Callback = std::function<void(const raft::Status& status, const AtomicResult& result)>;

  explicit AtomicClosure(Callback done) : done_(std::move(done)) {}

  // Called by AtomicStateMachine while it applies this closure's entry.
  // REQUIRES: not yet set.
  void set_result(const AtomicResult& result);

  void run(const raft::Status& status) override;

 private:
  Callback done_;
  std::optional<AtomicResult> result_;
};

class AtomicStateMachine final : public example::LoggedStateMachine {
 public:
  // `name` prefixes the log lines (e.g. the replica's address).
  explicit AtomicStateMachine(std::string name = "atomic") : LoggedStateMachine(std::move(name)) {}

  void on_apply(raft::Iterator& iter) override;

  // The register `key` after the last applied entry (0 if never written).
  int64_t value(const std::string& key) const;
  // How many registers have been written.
  size_t key_count() const;
  // The index of the last entry applied (0 before the first).
  raft::LogIndex applied_index() const {
    return raft::LogIndex(applied_index_.load(std::memory_order_acquire));
  }

 protected:
  std::string describe_state() const override;

 private:
  mutable std::shared_mutex mu_;
  // Guarded by mu_. Written only on the state-machine lane (exclusively locked); readers on
  // other threads hold it shared.
  std::map<std::string, int64_t> registers_;
  // Invariant: only grows (entries are applied in log order, each once).
  std::atomic<int64_t> applied_index_{0};
};

}  // namespace atomic
