#include "raft/storage/rocksdb_log_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <utility>

#include "raft/check.h"
#include "raft/logging.h"
#include "rocksdb_keys.h"
#include "rocksdb_log_storage.h"
#include "rocksdb_status.h"

namespace raft {
namespace {

rocksdb::Options log_store_options() {
  rocksdb::Options options;
  options.create_if_missing = true;
  // Log payloads are usually small or already compressed by the application, and entries are
  // deleted soon after a snapshot, so compression would cost CPU on the write path for little.
  options.compression = rocksdb::kNoCompression;
  // After a crash, replay the WAL up to the last intact record: unsynced writes may be torn,
  // synced ones never are.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  options.keep_log_file_num = 4;
  return options;
}

}  // namespace

Result<std::shared_ptr<RocksDBLogStore>> RocksDBLogStore::open(const std::string& path) {
  return open(path, Options());
}

Result<std::shared_ptr<RocksDBLogStore>> RocksDBLogStore::open(const std::string& path,
                                                               const Options& options) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(log_store_options(), path, &raw);
  if (!s.ok()) return from_rocksdb(s, "open log store " + path);
  PONTOON_CHECK(raw != nullptr);
  return std::shared_ptr<RocksDBLogStore>(
      new RocksDBLogStore(path, std::unique_ptr<rocksdb::DB>(raw), options));
}

RocksDBLogStore::RocksDBLogStore(std::string path, std::unique_ptr<rocksdb::DB> db,
                                 const Options& options)
    : path_(std::move(path)), db_(std::move(db)) {
  if (options.shared_sync) {
    rocksdb::DB* raw = db_.get();
    std::string what = "sync the write-ahead log of log store " + path_;
    syncer_ = std::make_unique<GroupCommitSyncer>([raw, what] {
      rocksdb::Status s = raw->SyncWAL();
      return s.ok() ? Status::OK() : from_rocksdb(s, what);
    });
  }
}

RocksDBLogStore::~RocksDBLogStore() {
  // Every LogStorage holds a reference to the store, so none can be open now.
  PONTOON_CHECK(open_groups_.empty());
  syncer_.reset();  // Runs what is still queued, then stops its thread.
  rocksdb::Status s = db_->Close();
  if (!s.ok()) {
    PONTOON_LOG(kError) << "closing log store " << path_ << ": " << s.ToString();
  }
}

Result<std::shared_ptr<LogStorage>> RocksDBLogStore::open_group(const GroupId& group) {
  Status valid = rocksdb_keys::validate_group_id(group);
  if (!valid.ok()) return valid;
  {
    std::lock_guard lock(mu_);
    if (!open_groups_.insert(group).second) {
      return Status::InvalidArgument("group " + group + " is already open in log store " + path_);
    }
  }
  Result<std::unique_ptr<RocksDBLogStorage>> storage =
      RocksDBLogStorage::recover(shared_from_this(), db_.get(), group);
  // On failure no LogStorage exists to release the group, so release it here.
  if (!storage.ok()) {
    release_group(group);
    return storage.status();
  }
  return std::shared_ptr<LogStorage>(std::move(storage).value());
}

std::string RocksDBLogStore::log_key(const GroupId& group, LogIndex index) {
  return rocksdb_keys::log_key(group, index);
}

std::string RocksDBLogStore::first_index_key(const GroupId& group) {
  return rocksdb_keys::first_index_key(group);
}

void RocksDBLogStore::release_group(const GroupId& group) {
  std::lock_guard lock(mu_);
  size_t erased = open_groups_.erase(group);
  PONTOON_CHECK(erased == 1);
}

}  // namespace raft
