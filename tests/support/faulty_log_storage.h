// FaultyLogStorage: a memory log whose writes can be made to fail, like a disk whose fsync
// fails, and which counts the writes it receives (one per group commit).
//
// Thread-safety: as MemoryLogStorage; the knobs are atomics a test may flip from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "raft/storage/memory_log_storage.h"

namespace raft::testing {

class FaultyLogStorage final : public LogStorage {
 public:
  LogIndex first_log_index() const override { return inner_.first_log_index(); }
  LogIndex last_log_index() const override { return inner_.last_log_index(); }
  Result<LogEntryPtr> get_entry(LogIndex index) const override { return inner_.get_entry(index); }
  Result<Term> get_term(LogIndex index) const override { return inner_.get_term(index); }
  Result<std::vector<LogEntryPtr>> get_entries(LogIndex first, size_t max_count,
                                               size_t max_bytes) const override {
    ++range_reads;
    return inner_.get_entries(first, max_count, max_bytes);
  }
  Status write(const LogWrite& write) override {
    {
      // A held write waits here, on the disk lane's thread, as one stuck in fsync would.
      std::unique_lock lock(mu_);
      if (holding_) {
        ++writes_waiting_;
        released_.wait(lock, [this] { return !holding_; });
        --writes_waiting_;
      }
    }
    ++writes;
    if (!write.sync) ++unsynced_writes;
    if (fail_all || fail_next.exchange(false)) return Status::IoError("injected write failure");
    return inner_.write(write);
  }
  Status truncate_prefix(LogIndex first) override { return inner_.truncate_prefix(first); }

  // With defer_syncs set (before the LogManager is built), the storage defers its syncs:
  // sync_then() only holds the callback, and release_syncs() runs the held ones, as a shared
  // sync finishing would.
  bool defers_sync() const override { return defer_syncs; }
  void sync_then(std::function<void(const Status&)> done) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
  }
  size_t held_syncs() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void release_syncs(const Status& status = Status::OK()) {
    std::vector<std::function<void(const Status&)>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& done : held) done(status);
  }

  // While held, every write() blocks its caller until release_writes().
  void hold_writes() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void release_writes() {
    {
      std::lock_guard lock(mu_);
      holding_ = false;
    }
    released_.notify_all();
  }
  int writes_waiting() const {
    std::lock_guard lock(mu_);
    return writes_waiting_;
  }

  std::atomic<int> writes{0};
  // get_entries() calls.
  mutable std::atomic<int> range_reads{0};
  // The next write fails, once.
  std::atomic<bool> fail_next{false};
  // Every write fails from now on.
  std::atomic<bool> fail_all{false};
  bool defer_syncs = false;
  std::atomic<int> unsynced_writes{0};

 private:
  MemoryLogStorage inner_;
  mutable std::mutex mu_;
  std::vector<std::function<void(const Status&)>> held_;  // Guarded by mu_.
  bool holding_ = false;                                  // Guarded by mu_.
  int writes_waiting_ = 0;                                // Guarded by mu_.
  std::condition_variable released_;
};

}  // namespace raft::testing
