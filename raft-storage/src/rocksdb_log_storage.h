// RocksDBLogStorage: the LogStorage of one group inside a RocksDBLogStore.
//
// Thread-safety: reads (get_entry, get_term, first/last index) from any thread concurrently
// with one writer (write, truncate_prefix). The bounds are atomics; a read that races a
// removal of its entry gets ENOENT, not ECORRUPTION (see mutation_seq_). Ownership: keeps its
// store (and so the database) alive; releases its group in the store when destroyed.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/slice.h>

#include <atomic>
#include <memory>
#include <string>

#include "raft/log_storage.h"
#include "raft/storage/rocksdb_log_store.h"

namespace raft {

class RocksDBLogStorage : public LogStorage {
 public:
  // Recovers the bounds of `group`'s log from `db`: the first index from the group's
  // first_log_index record (1 if absent), the last by seeking to the group's greatest key.
  // ECORRUPTION if the stored entries do not start at the recorded first index or a key under
  // the group's prefix is malformed. REQUIRES: `group` is marked open in `store`.
  static Result<std::unique_ptr<RocksDBLogStorage>> recover(std::shared_ptr<RocksDBLogStore> store,
                                                            rocksdb::DB* db, GroupId group);

  ~RocksDBLogStorage() override;

  LogIndex first_log_index() const override;
  LogIndex last_log_index() const override;
  Result<LogEntryPtr> get_entry(LogIndex index) const override;
  // One iterator bounded to the run.
  Result<std::vector<LogEntryPtr>> get_entries(LogIndex first, size_t max_count,
                                               size_t max_bytes) const override;
  Result<Term> get_term(LogIndex index) const override;
  Status write(const LogWrite& write) override;
  Status truncate_prefix(LogIndex first_index_kept) override;
  // With the store's shared sync (RocksDBLogStore::Options::shared_sync).
  bool defers_sync() const override { return store_->shared_sync(); }
  void sync_then(std::function<void(const Status&)> done) override;

 private:
  RocksDBLogStorage(std::shared_ptr<RocksDBLogStore> store, rocksdb::DB* db, GroupId group,
                    LogIndex first, LogIndex last);

  // Reads the stored record of `index` into `value`: ENOENT if `index` is outside the log (or
  // was removed while reading), ECORRUPTION if it is inside but missing, EIO on a read error.
  Status read_record(LogIndex index, rocksdb::PinnableSlice* value) const;
  // ENOENT for `index`, which lies outside the log [first, last].
  Status outside_log(LogIndex index, LogIndex first, LogIndex last) const;
  // The status for a record of `index` found missing by a read that started when mutation_seq_
  // was `seq_before` and the bounds [first, last]: ENOENT if a removal may have overlapped the
  // read, ECORRUPTION otherwise.
  Status missing_record(LogIndex index, uint64_t seq_before, LogIndex first, LogIndex last) const;

  // Applies `batch` and, if it succeeds, publishes the new bounds. Brackets the mutation
  // with mutation_seq_ so concurrent readers can tell a removed entry from a missing one.
  Status commit(rocksdb::WriteBatch* batch, bool sync, LogIndex new_first, LogIndex new_last,
                const std::string& what);

  const std::shared_ptr<RocksDBLogStore> store_;
  rocksdb::DB* const db_;
  const GroupId group_;
  const std::string log_prefix_;

  // Invariant: first_ >= 1 and last_ >= first_ - 1. Written only by the writer thread, after
  // the change is in the database, so a reader that sees an index inside the bounds finds it.
  std::atomic<int64_t> first_;
  std::atomic<int64_t> last_;
  // Odd while the writer is changing the database, incremented again when done (a seqlock).
  // A reader that finds no record for an index inside the bounds reports ECORRUPTION only if
  // this was even and unchanged across its read; otherwise the entry was just removed.
  std::atomic<uint64_t> mutation_seq_{0};
};

}  // namespace raft
