// MemoryLogStorage: a LogStorage keeping one group's log in memory, for tests and simulation.
//
// Entries are held as encoded records (raft/storage/log_record.h) and decoded on every read,
// so reads go through the same checksum path as on disk and tests can inject corruption.
// Nothing survives the object.
//
// Thread-safety: every method may be called from any thread; reads (get_entry, get_term,
// first/last index) run concurrently with one writer. A reader/writer mutex guards the log;
// nothing blocks on IO while holding it.
#pragma once

#include <deque>
#include <shared_mutex>
#include <string>

#include "raft/log_storage.h"

namespace raft {

class MemoryLogStorage : public LogStorage {
 public:
  // `group` only names the log in error messages.
  explicit MemoryLogStorage(GroupId group = "memory");

  LogIndex first_log_index() const override;
  LogIndex last_log_index() const override;
  Result<LogEntryPtr> get_entry(LogIndex index) const override;
  Result<Term> get_term(LogIndex index) const override;
  Status write(const LogWrite& write) override;
  Status truncate_prefix(LogIndex first_index_kept) override;

  // TEST HOOK, never call in production: flips the lowest bit of the last byte of the stored
  // record of `index`, so that reading it returns ECORRUPTION.
  // REQUIRES: first_log_index() <= index <= last_log_index().
  void corrupt_record_for_testing(LogIndex index);

 private:
  // REQUIRES: mu_ held (shared or exclusive). Returns the record of `index`, or ENOENT.
  Result<const std::string*> record_locked(LogIndex index) const;

  const GroupId group_;
  mutable std::shared_mutex mu_;
  // Guarded by mu_. Invariant: first_ >= 1.
  LogIndex first_{1};
  // Guarded by mu_. records_[i] is the encoded entry at index first_ + i, so the log is
  // [first_, first_ + records_.size() - 1].
  std::deque<std::string> records_;
};

}  // namespace raft
