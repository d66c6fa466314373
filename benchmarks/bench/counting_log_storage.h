// CountingLogStorage: a LogStorage decorator that counts the synced writes of a log and the
// entries they carry, and can turn sync off (--no-fsync) without a change to raft-core.
//
// LogManager writes everything its disk lane drained in one LogWrite, so the counts say how
// many fsyncs were asked for and how many entries each covered (group commit). A synced write
// counts as one fsync. An unsynced one that a shared sync will cover (defers_sync: the groups
// of one RocksDB store) counts its entries only; the store counts the syncs
// (RocksDBLogStore::shared_syncs), and the two together are the fsyncs the disk saw.
//
// Thread-safety: as the wrapped storage (LogStorage's contract); the counters are atomics that
// any thread may read, and may be shared by the logs of many groups.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "raft/log_storage.h"

namespace bench {

struct SyncCounters {
  std::atomic<uint64_t> synced_writes{0};
  std::atomic<uint64_t> synced_entries{0};
};

class CountingLogStorage final : public raft::LogStorage {
 public:
  // With `fsync` false every write is passed on with sync cleared (and not counted).
  // REQUIRES: inner and counters non-null.
  CountingLogStorage(std::shared_ptr<raft::LogStorage> inner,
                     std::shared_ptr<SyncCounters> counters, bool fsync);

  raft::LogIndex first_log_index() const override { return inner_->first_log_index(); }
  raft::LogIndex last_log_index() const override { return inner_->last_log_index(); }
  raft::Result<raft::LogEntryPtr> get_entry(raft::LogIndex index) const override {
    return inner_->get_entry(index);
  }
  raft::Result<raft::Term> get_term(raft::LogIndex index) const override {
    return inner_->get_term(index);
  }
  raft::Status write(const raft::LogWrite& write) override;
  raft::Status truncate_prefix(raft::LogIndex first_index_kept) override {
    return inner_->truncate_prefix(first_index_kept);
  }
  // Without fsync nothing is deferred: the writes go out unsynced and are "durable" at once.
  bool defers_sync() const override { return fsync_ && inner_->defers_sync(); }
  void sync_then(std::function<void(const raft::Status&)> done) override {
    inner_->sync_then(std::move(done));
  }

 private:
  const std::shared_ptr<raft::LogStorage> inner_;
  const std::shared_ptr<SyncCounters> counters_;
  const bool fsync_;
};

}  // namespace bench
