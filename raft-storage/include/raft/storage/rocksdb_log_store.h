// RocksDBLogStore: one RocksDB instance holding the logs of many Raft groups.
//
// A process opens one store and calls open_group() for each group it hosts; every group's
// LogStorage writes into the same database, so concurrent synced writes from many groups are
// merged into one WAL fsync: by default each group writes without syncing and a shared
// GroupCommitSyncer syncs the WAL once for all of them (Options::shared_sync). Keys and records are
// described in docs/log_format.md: each group's entries live under a length-prefixed group prefix
// followed by the big-endian index, and every value is a checksummed log_record.
//
// Thread-safety: open_group() may be called from any thread. A group can be open at most once
// at a time. Ownership: each LogStorage returned by open_group() keeps the store alive; the
// database is closed when the last of them and the caller's pointer are gone.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "raft/log_storage.h"
#include "raft/status.h"
#include "raft/storage/group_commit_syncer.h"
#include "raft/types.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace raft {

class RocksDBLogStore : public std::enable_shared_from_this<RocksDBLogStore> {
 public:
  struct Options {
    // Groups write without syncing and share one WAL sync (GroupCommitSyncer): N groups
    // writing at once cost one fsync. Off: each group's write syncs on its own, and RocksDB
    // merges only the synced writes that happen to be concurrent (at most one per IO thread).
    bool shared_sync = true;
  };

  // Opens (creating if missing) the database in directory `path`. EIO/ECORRUPTION/EBUSY (e.g.
  // the directory is locked by another process) from RocksDB, converted.
  static Result<std::shared_ptr<RocksDBLogStore>> open(const std::string& path);
  static Result<std::shared_ptr<RocksDBLogStore>> open(const std::string& path,
                                                       const Options& options);

  ~RocksDBLogStore();
  RocksDBLogStore(const RocksDBLogStore&) = delete;
  RocksDBLogStore& operator=(const RocksDBLogStore&) = delete;

  // Returns the log of `group`, its first/last index recovered from disk (an unknown group
  // starts empty at index 1). EINVAL if the group id is empty or longer than 128 bytes, or
  // the group is already open in this store; ECORRUPTION if its stored bounds disagree.
  Result<std::shared_ptr<LogStorage>> open_group(const GroupId& group);

  const std::string& path() const { return path_; }
  bool shared_sync() const { return syncer_ != nullptr; }
  // With shared_sync: the WAL syncs run, and how many group writes they covered.
  uint64_t shared_syncs() const { return syncer_ ? syncer_->syncs() : 0; }
  uint64_t shared_sync_writes() const { return syncer_ ? syncer_->callbacks() : 0; }

  // The RocksDB key under which the entry `index` of `group` is stored (docs/log_format.md).
  // REQUIRES: group non-empty and at most 128 bytes, index >= 0.
  static std::string log_key(const GroupId& group, LogIndex index);
  // The RocksDB key of `group`'s first_log_index record (docs/log_format.md).
  // REQUIRES: group non-empty and at most 128 bytes.
  static std::string first_index_key(const GroupId& group);

  // TEST HOOK, never use in production: the underlying database, so that a test can damage
  // or remove a stored record and check that reads report ECORRUPTION.
  rocksdb::DB* raw_db_for_testing() { return db_.get(); }

 private:
  friend class RocksDBLogStorage;

  RocksDBLogStore(std::string path, std::unique_ptr<rocksdb::DB> db, const Options& options);

  // REQUIRES: shared_sync().
  GroupCommitSyncer& syncer() { return *syncer_; }

  // Called by a group's LogStorage when it is destroyed.
  void release_group(const GroupId& group);

  const std::string path_;
  const std::unique_ptr<rocksdb::DB> db_;
  // Null without Options::shared_sync. Declared after db_: destroyed (its queued syncs done)
  // before the database closes.
  std::unique_ptr<GroupCommitSyncer> syncer_;

  std::mutex mu_;
  // Guarded by mu_. The groups that have a live LogStorage.
  std::set<GroupId> open_groups_;
};

}  // namespace raft
