#include "log_manager.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"
#include "raft/send_batch.h"

namespace raft {

LogManager::LogManager(GroupId group_id, std::shared_ptr<LogStorage> storage,
                       std::shared_ptr<Executor> disk_lane, const Options& options)
    : group_id_(std::move(group_id)), storage_(std::move(storage)), options_(options) {
  disk_queue_ = std::make_unique<RingQueue<DiskOp>>(
      "disk", options_.disk_queue_capacity, options_.disk_batch_max, std::move(disk_lane),
      [this](std::vector<DiskOp>& ops) { handle_disk_batch(ops); });
}

LogManager::~LogManager() {
  shutdown();
  // The drain task may still run; once the ring is gone no new batch starts, and a batch
  // whose sync is still pending holds `this` in its callback.
  disk_queue_.reset();
  wait_for_deferred_syncs();
}

Status LogManager::init(std::optional<LogId> snapshot) {
  std::lock_guard<std::mutex> lock(mutex_);
  first_index_ = storage_->first_log_index();
  last_index_ = storage_->last_log_index();
  PONTOON_CHECK(last_index_ + 1 >= first_index_);
  if (snapshot && snapshot->index > LogIndex(0)) {
    Status recovered = recover_with_snapshot_locked(*snapshot);
    if (!recovered.ok()) return recovered;
  }
  stable_index_ = last_index_;
  mem_first_ = last_index_ + 1;
  last_term_ = snapshot_id_.index == last_index_ ? snapshot_id_.term : Term(0);
  if (last_index_ >= first_index_) {
    Result<Term> term = storage_->get_term(last_index_);
    if (!term.ok()) return term.status();
    last_term_ = *term;
  }
  return Status::OK();
}

Status LogManager::recover_with_snapshot_locked(LogId snapshot) {
  snapshot_id_ = snapshot;
  if (first_index_ > snapshot.index + 1) {
    return Status::Corruption(
        "group " + group_id_ + ": the log starts at " + std::to_string(first_index_.value()) +
        " but the latest snapshot ends at " + std::to_string(snapshot.index.value()) +
        ": the entries between are missing");
  }
  bool continues = false;
  if (last_index_ >= snapshot.index) {
    if (snapshot.index < first_index_) {
      continues = true;  // The log starts right after the snapshot.
    } else {
      Result<Term> term = storage_->get_term(snapshot.index);
      if (!term.ok()) return term.status();
      continues = *term == snapshot.term;
    }
  }
  if (continues) return Status::OK();
  // The snapshot is durable and wins: a log that ends before it or disagrees with it at its
  // last entry holds nothing the group still needs.
  PONTOON_LOG(kInfo) << "group " << group_id_ << ": discarding log [" << first_index_ << ", "
                     << last_index_ << "], which does not continue the snapshot at "
                     << snapshot.index;
  if (last_index_ >= first_index_) {
    LogWrite discard;
    discard.truncate_after = first_index_ - 1;
    Status s = storage_->write(discard);
    if (!s.ok()) return s;
  }
  Status s = storage_->truncate_prefix(snapshot.index + 1);
  if (!s.ok()) return s;
  first_index_ = snapshot.index + 1;
  last_index_ = snapshot.index;
  return Status::OK();
}

Status LogManager::append(std::vector<LogEntryPtr> entries, StableCallback on_stable,
                          StableNotify notify) {
  PONTOON_CHECK(!entries.empty());
  return queue_append(last_log_index(), std::move(entries), std::move(on_stable), notify);
}

Status LogManager::truncate_and_append(LogIndex truncate_after, std::vector<LogEntryPtr> entries,
                                       StableCallback on_stable) {
  return queue_append(truncate_after, std::move(entries), std::move(on_stable),
                      StableNotify::kEach);
}

Status LogManager::queue_append(LogIndex truncate_after, std::vector<LogEntryPtr> entries,
                                StableCallback on_stable, StableNotify notify) {
  std::unique_lock<std::mutex> lock(mutex_);
  PONTOON_CHECK(truncate_after <= last_index_);
  PONTOON_CHECK(truncate_after + 1 >= first_index_);
  for (size_t i = 0; i < entries.size(); ++i) {
    PONTOON_CHECK(entries[i]->id.index == truncate_after + 1 + static_cast<int64_t>(i));
  }
  DiskOp op;
  if (truncate_after < last_index_) op.truncate_after = truncate_after;
  op.entries = entries;
  op.on_stable = std::move(on_stable);
  op.notify = notify;
  // Enqueue first: if the ring is full nothing may change, so the caller can retry or fail.
  Status queued = enqueue(std::move(op));
  if (!queued.ok()) return queued;
  if (truncate_after < last_index_) truncate_memory_locked(truncate_after);
  for (LogEntryPtr& entry : entries) {
    mem_bytes_ += memory_footprint(*entry);
    last_term_ = entry->id.term;
    mem_.push_back(std::move(entry));
  }
  last_index_ = mem_first_ + static_cast<int64_t>(mem_.size()) - 1;
  return Status::OK();
}

Status LogManager::wait_stable(StableCallback on_stable) {
  std::lock_guard<std::mutex> lock(mutex_);
  DiskOp op;
  op.on_stable = std::move(on_stable);
  return enqueue(std::move(op));
}

Status LogManager::compact(LogId snapshot, LogIndex first_index_kept) {
  std::lock_guard<std::mutex> lock(mutex_);
  PONTOON_CHECK(first_index_kept <= snapshot.index + 1);
  PONTOON_CHECK(snapshot.index >= snapshot_id_.index);
  snapshot_id_ = snapshot;
  // Never discard what is not durable here yet: its write is still queued, and the stable
  // index could not advance past a hole.
  first_index_kept = std::min(first_index_kept, stable_index_ + 1);
  if (first_index_kept <= first_index_) return Status::OK();
  DiskOp op;
  op.truncate_prefix = first_index_kept;
  Status queued = enqueue(std::move(op));
  if (!queued.ok()) return queued;
  first_index_ = first_index_kept;
  discard_memory_below_locked(first_index_kept);
  return Status::OK();
}

Status LogManager::reset_to_snapshot(LogId snapshot) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    PONTOON_CHECK(snapshot.index >= snapshot_id_.index);
    bool holds = false;
    if (snapshot.index >= first_index_ && snapshot.index <= last_index_) {
      Result<Term> term = snapshot.index >= mem_first_
                              ? Result<Term>(mem_[snapshot.index - mem_first_]->id.term)
                              : storage_->get_term(snapshot.index);
      holds = term.ok() && *term == snapshot.term;
    }
    if (!holds) {
      DiskOp op;
      if (last_index_ >= first_index_) op.truncate_after = first_index_ - 1;
      op.truncate_prefix = snapshot.index + 1;
      Status queued = enqueue(std::move(op));
      if (!queued.ok()) return queued;
      mem_.clear();
      mem_bytes_ = 0;
      snapshot_id_ = snapshot;
      first_index_ = snapshot.index + 1;
      last_index_ = snapshot.index;
      stable_index_ = snapshot.index;
      mem_first_ = snapshot.index + 1;
      last_term_ = snapshot.term;
      return Status::OK();
    }
  }
  return compact(snapshot, snapshot.index + 1);
}

LogId LogManager::snapshot_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_id_;
}

void LogManager::discard_memory_below_locked(LogIndex first) {
  while (!mem_.empty() && mem_first_ < first) {
    mem_bytes_ -= memory_footprint(*mem_.front());
    mem_.pop_front();
    ++mem_first_;
  }
  if (mem_.empty()) mem_first_ = std::max(mem_first_, first);
}

Status LogManager::enqueue(DiskOp op) { return disk_queue_->publish(std::move(op)); }

void LogManager::truncate_memory_locked(LogIndex truncate_after) {
  if (truncate_after + 1 < mem_first_) {
    // The cut reaches below what memory holds: forget the cache, keep the view consistent.
    for (const LogEntryPtr& entry : mem_) mem_bytes_ -= memory_footprint(*entry);
    mem_.clear();
    mem_first_ = truncate_after + 1;
  } else {
    while (!mem_.empty() && mem_.back()->id.index > truncate_after) {
      mem_bytes_ -= memory_footprint(*mem_.back());
      mem_.pop_back();
    }
  }
  last_index_ = truncate_after;
  stable_index_ = std::min(stable_index_, truncate_after);
  if (truncate_after == LogIndex(0) || truncate_after + 1 == first_index_) {
    last_term_ = truncate_after == snapshot_id_.index ? snapshot_id_.term : Term(0);
  } else if (!mem_.empty()) {
    last_term_ = mem_.back()->id.term;
  } else {
    Result<Term> term = storage_->get_term(truncate_after);
    // The entry is durable (it lies below memory); a read failure here is reported when the
    // entry is next read, and the term is only a cache of it.
    last_term_ = term.ok() ? *term : Term(0);
  }
}

void LogManager::handle_disk_batch(std::vector<DiskOp>& ops) {
  // Coalesce the drained operations into as few writes as their order allows: appends and
  // suffix truncations merge into one write (the lowest truncation point wins, and appended
  // entries that a later truncation in the same batch removes are never written); a prefix
  // truncation flushes what came before it, so it never discards an entry still unwritten.
  const bool deferred = storage_->defers_sync();
  DeferredWrites pending;
  LogWrite write;
  size_t write_bytes = 0;
  Status status;
  for (DiskOp& op : ops) {
    if (write_bytes > options_.disk_write_max_bytes && status.ok()) {
      status = flush_write(write, deferred ? &pending : nullptr);
      write_bytes = 0;
    }
    if (op.truncate_after) {
      LogIndex cut = *op.truncate_after;
      write.truncate_after = write.truncate_after ? std::min(*write.truncate_after, cut) : cut;
      while (!write.entries.empty() && write.entries.back()->id.index > cut) {
        write.entries.pop_back();
      }
    }
    write.entries.insert(write.entries.end(), op.entries.begin(), op.entries.end());
    for (const LogEntryPtr& entry : op.entries) write_bytes += entry->data.size();
    if (op.truncate_prefix && status.ok()) {
      status = flush_write(write, deferred ? &pending : nullptr);
      write_bytes = 0;
      if (status.ok()) status = storage_->truncate_prefix(*op.truncate_prefix);
    }
  }
  if (status.ok()) status = flush_write(write, deferred ? &pending : nullptr);
  if (!status.ok()) {
    PONTOON_LOG(kError) << "group " << group_id_ << ": log write failed: " << status;
  }
  pending.status = status;
  // Of the kLatestInBatch callbacks only the last one runs (it sees what the others would).
  size_t latest_only = ops.size();
  for (size_t i = ops.size(); i-- > 0;) {
    if (ops[i].on_stable && ops[i].notify == StableNotify::kLatestInBatch) {
      latest_only = i;
      break;
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    DiskOp& op = ops[i];
    if (!op.on_stable) continue;
    if (op.notify == StableNotify::kLatestInBatch && i != latest_only) continue;
    pending.callbacks.push_back(std::move(op.on_stable));
  }
  if (!deferred) {
    run_stable_callbacks(pending.callbacks, status);
    return;
  }
  bool durable_already = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Nothing new to sync and nothing of ours still syncing: everything queued so far is
    // durable already. (deferred_in_flight_ only grows on this lane, so it stays 0.)
    durable_already = !pending.wrote && deferred_in_flight_ == 0;
    if (!durable_already) ++deferred_in_flight_;
  }
  if (durable_already) {
    run_stable_callbacks(pending.callbacks, status);
    return;
  }
  // The callbacks run in order with the other batches' (sync_then keeps the order), on this
  // thread or the shared syncer's.
  storage_->sync_then([this, pending = std::move(pending)](const Status& synced) mutable {
    finish_deferred(pending, synced);
  });
}

void LogManager::run_stable_callbacks(std::vector<StableCallback>& callbacks,
                                      const Status& status) {
  // A follower answers every AppendEntries one write covered: together, in one send.
  SendBatchScope answers;
  // No lock is held here (the disk lane's task, or the shared syncer's thread, which runs its
  // callbacks outside its own lock). The node lane's short tasks may run here, the state
  // machine may not: this thread writes and syncs other groups' logs too.
  InlineDispatchScope inline_dispatch(InlineDispatchScope::Reach::kFrameworkOnly);
  for (StableCallback& callback : callbacks) callback(status);
}

void LogManager::finish_deferred(DeferredWrites& pending, const Status& synced) {
  Status status = pending.status.ok() ? synced : pending.status;
  if (pending.status.ok() && !synced.ok()) {
    PONTOON_LOG(kError) << "group " << group_id_ << ": log sync failed: " << synced;
  }
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_stable_locked(pending.written);
    evict_cache_locked();
  }
  run_stable_callbacks(pending.callbacks, status);
  std::lock_guard<std::mutex> lock(mutex_);
  --deferred_in_flight_;
  deferred_done_.notify_all();
}

Status LogManager::flush_write(LogWrite& write, DeferredWrites* deferred) {
  if (!write.truncate_after && write.entries.empty()) return Status::OK();
  write.sync = deferred == nullptr;
  Status status = storage_->write(write);
  if (status.ok() && deferred != nullptr) {
    // Durable only once the shared sync has run: the stable index advances then.
    deferred->wrote = true;
    deferred->written.insert(deferred->written.end(), write.entries.begin(), write.entries.end());
  } else if (status.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_stable_locked(write.entries);
    evict_cache_locked();
  }
  write = LogWrite();
  return status;
}

void LogManager::advance_stable_locked(const std::vector<LogEntryPtr>& written) {
  // An entry is durable only if memory still shows the very object that was written: the node
  // may have truncated and replaced it while the write ran, and the replacement is not durable.
  for (const LogEntryPtr& entry : written) {
    LogIndex index = entry->id.index;
    if (index != stable_index_ + 1) break;
    if (index < mem_first_ || index > last_index_) break;
    if (mem_[index - mem_first_] != entry) break;
    stable_index_ = index;
  }
}

void LogManager::evict_cache_locked() {
  while (!mem_.empty() && mem_bytes_ > options_.cache_max_bytes &&
         mem_.front()->id.index <= stable_index_) {
    mem_bytes_ -= memory_footprint(*mem_.front());
    mem_.pop_front();
    ++mem_first_;
  }
}

LogIndex LogManager::first_log_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return first_index_;
}

LogIndex LogManager::last_log_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_index_;
}

LogId LogManager::last_log_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return LogId{last_index_, last_term_};
}

LogIndex LogManager::stable_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stable_index_;
}

size_t LogManager::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mem_bytes_;
}

Result<LogEntryPtr> LogManager::get_from_memory_locked(LogIndex index) const {
  return mem_[index - mem_first_];
}

Result<LogEntryPtr> LogManager::get_entry(LogIndex index) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index < first_index_ || index > last_index_) {
      return Status::NotFound("log index " + std::to_string(index.value()) + " is outside [" +
                              std::to_string(first_index_.value()) + ", " +
                              std::to_string(last_index_.value()) + "]");
    }
    if (index >= mem_first_) return get_from_memory_locked(index);
  }
  // Below memory means durable and evicted; storage holds exactly that entry.
  return storage_->get_entry(index);
}

Result<std::vector<LogEntryPtr>> LogManager::get_entries(LogIndex first, size_t max_count,
                                                         size_t max_bytes) const {
  PONTOON_CHECK(max_count >= 1);
  std::vector<LogEntryPtr> out;
  size_t bytes = 0;
  // Adds `entry` unless it would take the run past max_bytes (the first always goes).
  auto take = [&](const LogEntryPtr& entry) {
    if (!out.empty() && bytes + entry->data.size() > max_bytes) return false;
    bytes += entry->data.size();
    out.push_back(entry);
    return true;
  };
  LogIndex next = first;
  while (out.size() < max_count) {
    LogIndex storage_last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next < first_index_ || next > last_index_) {
        if (!out.empty()) break;  // The log's end (or a compaction since the storage read).
        return Status::NotFound("log index " + std::to_string(next.value()) + " is outside [" +
                                std::to_string(first_index_.value()) + ", " +
                                std::to_string(last_index_.value()) + "]");
      }
      if (next >= mem_first_) {
        for (; next <= last_index_ && out.size() < max_count; ++next) {
          if (!take(mem_[next - mem_first_])) break;
        }
        break;
      }
      storage_last = mem_first_ - 1;
    }
    // Below memory means durable and evicted: storage holds exactly those entries.
    const size_t wanted =
        std::min(max_count - out.size(), static_cast<size_t>(storage_last - next + 1));
    Result<std::vector<LogEntryPtr>> stored =
        storage_->get_entries(next, wanted, out.empty() ? max_bytes : max_bytes - bytes);
    if (!stored.ok()) {
      if (!out.empty() && stored.status().is_not_found()) break;
      return stored.status();
    }
    size_t taken = 0;
    while (taken < stored->size() && take((*stored)[taken])) ++taken;
    next += static_cast<int64_t>(taken);
    if (taken < wanted) break;  // Bounded by bytes, or the run was cut by a compaction.
  }
  return out;
}

bool LogManager::reads_storage(LogIndex index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index >= first_index_ && index < mem_first_ && index <= last_index_;
}

Result<Term> LogManager::get_term(LogIndex index) const {
  if (index == LogIndex(0)) return Term(0);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The entry a snapshot ends with is known by its id even once the log has dropped it.
    if (index == snapshot_id_.index && index < first_index_) return snapshot_id_.term;
    if (index == last_index_ && index >= first_index_) return last_term_;
    if (index >= mem_first_ && index <= last_index_) return mem_[index - mem_first_]->id.term;
  }
  Result<LogEntryPtr> entry = get_entry(index);
  if (!entry.ok()) return entry.status();
  return (*entry)->id.term;
}

void LogManager::shutdown() {
  if (disk_queue_) disk_queue_->shutdown();
}

void LogManager::wait_for_deferred_syncs() {
  std::unique_lock<std::mutex> lock(mutex_);
  deferred_done_.wait(lock, [this] { return deferred_in_flight_ == 0; });
}

}  // namespace raft
