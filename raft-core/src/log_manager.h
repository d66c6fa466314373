// LogManager: the log as the node sees it — the entries durable in LogStorage, plus an
// in-memory tail of entries not yet durable and a bounded cache of recent durable ones.
//
// Writes come from the node lane only (one writer): append() and truncate_and_append() change
// the in-memory view at once and queue the disk work on the disk ring. The disk lane drains
// the ring and turns everything it drained into one LogWrite (one write batch, one fsync), then
// runs each operation's callback. With a storage that defers its syncs (the groups of one
// RocksDB store), the write goes out unsynced and the storage's shared sync, one fsync for
// every group that wrote meanwhile, runs the callbacks; the disk lane does not wait for it. The
// leader therefore sends new entries to followers while its own fsync is still running (DESIGN:
// "leader appends in parallel with replication").
//
// Reads (get_entry, get_term, indexes) may come from any thread.
//
// Invariants (under mutex_):
//   first_index_ <= mem_first_ <= last_index_ + 1
//   first_index_ <= snapshot_id_.index + 1 (entries before the log are in the snapshot)
//   stable_index_ <= last_index_
//   every entry with index <= stable_index_ is durable with exactly the content mem_ shows.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "raft/executor.h"
#include "raft/log_storage.h"
#include "raft/ring_queue.h"

namespace raft {

class LogManager {
 public:
  // Runs once the operation is durable, or with the error that stopped it: on the disk lane,
  // or, with a storage that defers its syncs (LogStorage::defers_sync), on whichever thread ran
  // the shared sync. Callbacks run in the order their operations were queued, on a thread that
  // holds no lock and inside an InlineDispatchScope (kFrameworkOnly): a callback may
  // Executor::dispatch() a short task to an idle lane and have it run right there instead of
  // waking that lane's worker, but nothing that runs the state machine runs there.
  using StableCallback = std::function<void(const Status&)>;
  // Which callbacks of one drained batch run. kLatestInBatch is for callbacks that only look at
  // the state after the batch (stable_index(), and the status every callback of a batch shares):
  // of several such in one batch only the last runs, as the earlier ones would repeat its work.
  enum class StableNotify { kEach, kLatestInBatch };

  struct Options {
    size_t disk_queue_capacity = 16384;
    size_t disk_batch_max = 1024;
    // One storage write carries about this many payload bytes at most (a larger drain is
    // written, and without a shared sync synced, in several): the encoded batch stays bounded.
    size_t disk_write_max_bytes = 32 * 1024 * 1024;
    size_t cache_max_bytes = 64 * 1024 * 1024;
  };

  LogManager(GroupId group_id, std::shared_ptr<LogStorage> storage,
             std::shared_ptr<Executor> disk_lane, const Options& options);
  ~LogManager();

  // Loads the indexes of what storage holds. With `snapshot` (the latest durable snapshot),
  // entries it covers count as durable, and a log that does not continue it — it ends before
  // the snapshot, or holds another term at its index — is discarded, as the snapshot wins
  // (a crash may have come between installing a snapshot and resetting the log).
  // ECORRUPTION if the log starts after snapshot.index + 1 (a gap nothing can fill).
  Status init(std::optional<LogId> snapshot = std::nullopt);

  // Node lane only. Appends entries that continue the log. EBUSY (and nothing changes) when
  // the disk ring is full; ESHUTDOWN after shutdown().
  // REQUIRES: entries non-empty, entries[0].index == last_log_index() + 1, contiguous.
  Status append(std::vector<LogEntryPtr> entries, StableCallback on_stable,
                StableNotify notify = StableNotify::kEach);
  // Node lane only. Drops every entry after `truncate_after`, then appends `entries` (which
  // may be empty). Follower side of Raft §5.3.
  // REQUIRES: truncate_after <= last_log_index(); entries continue from truncate_after + 1.
  Status truncate_and_append(LogIndex truncate_after, std::vector<LogEntryPtr> entries,
                             StableCallback on_stable);
  // Node lane only. `on_stable` runs once everything queued so far is durable.
  Status wait_stable(StableCallback on_stable);

  // Node lane only. A snapshot covering everything up to `snapshot` is durable: entries below
  // `first_index_kept` are discarded (at once from the in-memory view, then from storage in
  // order with the queued writes). The kept index is clamped so that nothing not yet durable
  // here is discarded. REQUIRES: first_index_kept <= snapshot.index + 1.
  Status compact(LogId snapshot, LogIndex first_index_kept);
  // Node lane only. A follower installed `snapshot` from its leader: if the log holds that very
  // entry, the entries after it stay (and those up to it go, like compact); otherwise the whole
  // log is discarded and continues at snapshot.index + 1.
  Status reset_to_snapshot(LogId snapshot);
  // The last entry the latest snapshot covers ({0, 0} if none).
  LogId snapshot_id() const;

  LogIndex first_log_index() const;
  LogIndex last_log_index() const;
  LogId last_log_id() const;
  // The highest index up to which the log is durable.
  LogIndex stable_index() const;
  // Term(0) for index 0; ENOENT outside the log; storage errors otherwise.
  Result<Term> get_term(LogIndex index) const;
  Result<LogEntryPtr> get_entry(LogIndex index) const;
  // A run of entries from `first` on, bounded as LogStorage::get_entries (at most max_count,
  // payload at most max_bytes after the first, ENOENT if `first` is outside the log): from the
  // in-memory tail and cache where they are, with one range read of storage for the part
  // below them.
  Result<std::vector<LogEntryPtr>> get_entries(LogIndex first, size_t max_count,
                                               size_t max_bytes) const;
  // Whether reading entry `index` would go to storage: it lies in the log but below the
  // in-memory tail and cache. A caller that must not block on the disk reads such entries
  // elsewhere. The answer may change at once (appends and evictions on other threads).
  bool reads_storage(LogIndex index) const;
  // Memory held by the in-memory tail and cache: the sum of their entries' memory_footprint().
  size_t cached_bytes() const;

  // Stops accepting operations (they fail with ESHUTDOWN). Operations already queued are still
  // written while the disk lane runs. Idempotent.
  void shutdown();

 private:
  // append() and truncate_and_append(): queues the disk op, then changes the in-memory view.
  Status queue_append(LogIndex truncate_after, std::vector<LogEntryPtr> entries,
                      StableCallback on_stable, StableNotify notify);

  struct DiskOp {
    std::optional<LogIndex> truncate_after;
    std::vector<LogEntryPtr> entries;
    // Discard entries before this index, after everything queued before this op.
    std::optional<LogIndex> truncate_prefix;
    StableCallback on_stable;
    StableNotify notify = StableNotify::kEach;
  };

  // One drained batch written without sync, waiting for the storage's shared sync.
  struct DeferredWrites {
    Status status;                     // of the writes themselves
    bool wrote = false;                // anything reached the storage
    std::vector<LogEntryPtr> written;  // in index order: durable once the sync succeeds
    std::vector<StableCallback> callbacks;
  };

  Status enqueue(DiskOp op);
  void handle_disk_batch(std::vector<DiskOp>& ops);
  // Writes `write` (if it changes anything). Without `deferred`, synced, and the stable index
  // advances at once; with it, unsynced, and what it wrote is added to `deferred`.
  Status flush_write(LogWrite& write, DeferredWrites* deferred);
  // The shared sync covering `pending` is done.
  // Runs the callbacks of one write, in order, inside a SendBatchScope.
  static void run_stable_callbacks(std::vector<StableCallback>& callbacks, const Status& status);
  void finish_deferred(DeferredWrites& pending, const Status& synced);
  void wait_for_deferred_syncs();
  // REQUIRES: mutex_ held; no operation queued yet (init).
  Status recover_with_snapshot_locked(LogId snapshot);
  // REQUIRES: mutex_ held. Drops the in-memory view below `first`.
  void discard_memory_below_locked(LogIndex first);
  // REQUIRES: mutex_ held.
  void truncate_memory_locked(LogIndex truncate_after);
  void advance_stable_locked(const std::vector<LogEntryPtr>& written);
  void evict_cache_locked();
  Result<LogEntryPtr> get_from_memory_locked(LogIndex index) const;

  const GroupId group_id_;
  const std::shared_ptr<LogStorage> storage_;
  const Options options_;
  std::unique_ptr<RingQueue<DiskOp>> disk_queue_;

  mutable std::mutex mutex_;
  LogIndex first_index_{1};      // Guarded by mutex_.
  LogId snapshot_id_;            // Guarded by mutex_.
  LogIndex last_index_{0};       // Guarded by mutex_.
  Term last_term_{0};            // Guarded by mutex_.
  LogIndex stable_index_{0};     // Guarded by mutex_.
  LogIndex mem_first_{1};        // Guarded by mutex_. Index of mem_.front().
  std::deque<LogEntryPtr> mem_;  // Guarded by mutex_.
  size_t mem_bytes_ = 0;         // Guarded by mutex_.
  // Guarded by mutex_. Batches whose shared sync has not finished (their callbacks hold this).
  int deferred_in_flight_ = 0;
  std::condition_variable deferred_done_;
};

}  // namespace raft
