#include "counting_log_storage.h"

#include "raft/check.h"

namespace bench {

CountingLogStorage::CountingLogStorage(std::shared_ptr<raft::LogStorage> inner,
                                       std::shared_ptr<SyncCounters> counters, bool fsync)
    : inner_(std::move(inner)), counters_(std::move(counters)), fsync_(fsync) {
  PONTOON_CHECK(inner_ != nullptr);
  PONTOON_CHECK(counters_ != nullptr);
}

raft::Status CountingLogStorage::write(const raft::LogWrite& write) {
  if (!write.sync) {
    raft::Status status = inner_->write(write);
    if (status.ok() && defers_sync()) {
      counters_->synced_entries.fetch_add(write.entries.size(), std::memory_order_relaxed);
    }
    return status;
  }
  if (!fsync_) {
    // A copy of the entry pointers, not of the entries: cheap next to the write itself.
    raft::LogWrite unsynced = write;
    unsynced.sync = false;
    return inner_->write(unsynced);
  }
  raft::Status status = inner_->write(write);
  if (status.ok()) {
    counters_->synced_writes.fetch_add(1, std::memory_order_relaxed);
    counters_->synced_entries.fetch_add(write.entries.size(), std::memory_order_relaxed);
  }
  return status;
}

}  // namespace bench
