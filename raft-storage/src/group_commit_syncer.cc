#include "raft/storage/group_commit_syncer.h"

#include <utility>

#include "raft/check.h"

namespace raft {

GroupCommitSyncer::GroupCommitSyncer(SyncFn sync) : sync_(std::move(sync)) {
  PONTOON_CHECK(sync_ != nullptr);
  thread_ = std::thread([this] { run(); });
}

GroupCommitSyncer::~GroupCommitSyncer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void GroupCommitSyncer::sync_then(Done done) {
  PONTOON_CHECK(done != nullptr);
  std::deque<Done> mine;
  {
    std::lock_guard lock(mu_);
    if (busy_ || !queued_.empty()) {
      // A sync is running (or about to, for callbacks queued before this one): the syncer's
      // thread covers this write with the next one, and the caller's lane goes on.
      queued_.push_back(std::move(done));
      if (!busy_) wake_.notify_one();
      return;
    }
    busy_ = true;
  }
  mine.push_back(std::move(done));
  sync_and_complete(mine);
  std::lock_guard lock(mu_);
  busy_ = false;
  if (!queued_.empty()) wake_.notify_one();  // Others queued while this caller synced.
}

void GroupCommitSyncer::run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return !busy_ && (!queued_.empty() || stopping_); });
    if (queued_.empty()) return;  // Stopping, and nothing left to sync.
    std::deque<Done> batch;
    batch.swap(queued_);
    busy_ = true;
    lock.unlock();
    sync_and_complete(batch);
    lock.lock();
    busy_ = false;
  }
}

void GroupCommitSyncer::sync_and_complete(std::deque<Done>& batch) {
  Status status = sync_();
  {
    std::lock_guard lock(mu_);
    ++syncs_;
    callbacks_ += batch.size();
  }
  for (Done& done : batch) done(status);
}

uint64_t GroupCommitSyncer::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

uint64_t GroupCommitSyncer::callbacks() const {
  std::lock_guard lock(mu_);
  return callbacks_;
}

}  // namespace raft
