// GroupCommitSyncer: one sync for the unsynced writes of many writers (the logs of many
// groups in one RocksDB store), so that N groups writing at once cost one fsync, not N.
//
// A writer first writes without syncing, then calls sync_then(done). `done` runs once a sync
// that began after that call has finished (so everything the writer wrote before it is
// durable), with the sync's status. Callbacks run in the order of their sync_then calls.
//
// Who syncs: a call that finds the syncer idle syncs at once on the caller's thread and runs
// its own callback before returning (one writer alone pays no thread hop). Calls that arrive
// while a sync runs only queue their callback and return at once, so a disk lane never waits
// for another group's fsync; the syncer's own thread then syncs once for everything queued
// meanwhile, and again for what queued during that sync, until nothing is left.
//
// Thread-safety: sync_then() from any threads. `done` must not call sync_then() of the same
// syncer (it may run on the syncer's thread, or inside the caller's sync_then).
// Lifetime: the destructor waits for queued callbacks to run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "raft/status.h"

namespace raft {

class GroupCommitSyncer {
 public:
  using SyncFn = std::function<Status()>;
  using Done = std::function<void(const Status&)>;

  // `sync` makes every write issued before it durable (RocksDB: DB::SyncWAL). It is called
  // from one thread at a time.
  explicit GroupCommitSyncer(SyncFn sync);
  ~GroupCommitSyncer();
  GroupCommitSyncer(const GroupCommitSyncer&) = delete;
  GroupCommitSyncer& operator=(const GroupCommitSyncer&) = delete;

  void sync_then(Done done);

  // How many syncs ran, and how many callbacks they served (callbacks / syncs is the number
  // of writers one sync covered on average).
  uint64_t syncs() const;
  uint64_t callbacks() const;

 private:
  void run();
  // Runs one sync and the callbacks of `batch`. REQUIRES: busy_ set by the caller.
  void sync_and_complete(std::deque<Done>& batch);

  const SyncFn sync_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Done> queued_;  // Guarded by mu_.
  bool busy_ = false;        // Guarded by mu_. A sync (and its callbacks) is running.
  bool stopping_ = false;    // Guarded by mu_.
  uint64_t syncs_ = 0;       // Guarded by mu_.
  uint64_t callbacks_ = 0;   // Guarded by mu_.
  std::thread thread_;
};

}  // namespace raft
