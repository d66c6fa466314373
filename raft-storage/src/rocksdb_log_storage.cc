#include "rocksdb_log_storage.h"

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include "log_write_plan.h"
#include "raft/check.h"
#include "raft/logging.h"
#include "raft/storage/log_record.h"
#include "rocksdb_keys.h"
#include "rocksdb_status.h"

namespace raft {
namespace {

std::string str(LogIndex i) { return std::to_string(i.value()); }

// The index of the first (or, with `last`, the last) entry key under `prefix`, if any.
Result<std::optional<LogIndex>> seek_bound(rocksdb::DB* db, const GroupId& group,
                                           const std::string& prefix, bool last) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  if (last) {
    it->SeekForPrev(rocksdb_keys::log_key_upper_bound(group));
  } else {
    it->Seek(prefix);
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "group " + group + ": seek");
  if (!it->Valid() || !it->key().starts_with(prefix)) return std::optional<LogIndex>();
  std::optional<LogIndex> index = rocksdb_keys::parse_log_key(it->key().ToStringView(), prefix);
  if (!index.has_value()) {
    return Status::Corruption("group " + group + ": malformed log key of " +
                              std::to_string(it->key().size()) + " bytes");
  }
  return index;
}

// The group's recorded first index, or nullopt if it never truncated a prefix.
Result<std::optional<LogIndex>> read_first_index(rocksdb::DB* db, const GroupId& group) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), rocksdb_keys::first_index_key(group), &value);
  if (s.IsNotFound()) return std::optional<LogIndex>();
  if (!s.ok()) return from_rocksdb(s, "group " + group + ": read first_log_index");
  Result<LogIndex> first = rocksdb_keys::decode_first_index(value, group);
  if (!first.ok()) return first.status();
  return std::optional<LogIndex>(*first);
}

}  // namespace

Result<std::unique_ptr<RocksDBLogStorage>> RocksDBLogStorage::recover(
    std::shared_ptr<RocksDBLogStore> store, rocksdb::DB* db, GroupId group) {
  const std::string prefix = rocksdb_keys::log_prefix(group);
  Result<std::optional<LogIndex>> recorded_first = read_first_index(db, group);
  if (!recorded_first.ok()) return recorded_first.status();
  Result<std::optional<LogIndex>> lowest = seek_bound(db, group, prefix, /*last=*/false);
  if (!lowest.ok()) return lowest.status();
  Result<std::optional<LogIndex>> highest = seek_bound(db, group, prefix, /*last=*/true);
  if (!highest.ok()) return highest.status();

  LogIndex first = recorded_first->value_or(LogIndex(1));
  LogIndex last = first - 1;
  if (lowest->has_value()) {
    PONTOON_CHECK(highest->has_value());
    // Every change to the bounds is one atomic batch, so the lowest stored entry is exactly
    // the recorded first index; anything else means the database was damaged.
    if (**lowest != first) {
      return Status::Corruption("group " + group + ": log starts at index " + str(**lowest) +
                                " but its first_log_index is " + str(first));
    }
    last = **highest;
    PONTOON_CHECK(last >= first);
  }
  PONTOON_LOG(kDebug) << "group " << group << ": recovered log [" << first << ", " << last << "]";
  return std::unique_ptr<RocksDBLogStorage>(
      new RocksDBLogStorage(std::move(store), db, std::move(group), first, last));
}

RocksDBLogStorage::RocksDBLogStorage(std::shared_ptr<RocksDBLogStore> store, rocksdb::DB* db,
                                     GroupId group, LogIndex first, LogIndex last)
    : store_(std::move(store)),
      db_(db),
      group_(std::move(group)),
      log_prefix_(rocksdb_keys::log_prefix(group_)),
      first_(first.value()),
      last_(last.value()) {
  PONTOON_CHECK(store_ != nullptr);
  PONTOON_CHECK(db_ != nullptr);
  PONTOON_CHECK(first >= LogIndex(1));
  PONTOON_CHECK(last >= first - 1);
}

RocksDBLogStorage::~RocksDBLogStorage() { store_->release_group(group_); }

LogIndex RocksDBLogStorage::first_log_index() const {
  return LogIndex(first_.load(std::memory_order_acquire));
}

LogIndex RocksDBLogStorage::last_log_index() const {
  return LogIndex(last_.load(std::memory_order_acquire));
}

Status RocksDBLogStorage::read_record(LogIndex index, rocksdb::PinnableSlice* value) const {
  uint64_t seq_before = mutation_seq_.load(std::memory_order_acquire);
  LogIndex first = first_log_index();
  LogIndex last = last_log_index();
  if (index < first || index > last) return outside_log(index, first, last);
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(),
                               rocksdb_keys::log_key(group_, index), value);
  if (s.ok()) return Status::OK();
  if (!s.IsNotFound()) {
    return from_rocksdb(s, "group " + group_ + ": read log index " + str(index));
  }
  return missing_record(index, seq_before, first, last);
}

Status RocksDBLogStorage::outside_log(LogIndex index, LogIndex first, LogIndex last) const {
  return Status::NotFound("group " + group_ + ": log index " + str(index) + " is outside [" +
                          str(first) + ", " + str(last) + "]");
}

Status RocksDBLogStorage::missing_record(LogIndex index, uint64_t seq_before, LogIndex first,
                                         LogIndex last) const {
  // A read that misses a removal's effect cannot see a later value of mutation_seq_ than the
  // one the removal started with, so an unchanged even value proves no removal overlapped.
  uint64_t seq_after = mutation_seq_.load(std::memory_order_acquire);
  if (seq_before % 2 == 1 || seq_before != seq_after) {
    return Status::NotFound("group " + group_ + ": log index " + str(index) +
                            " was removed while being read");
  }
  return Status::Corruption("group " + group_ + " log index " + str(index) +
                            ": record missing inside the log [" + str(first) + ", " + str(last) +
                            "]");
}

Result<LogEntryPtr> RocksDBLogStorage::get_entry(LogIndex index) const {
  rocksdb::PinnableSlice value;
  Status s = read_record(index, &value);
  if (!s.ok()) return s;
  return log_record::decode(value.ToStringView(), group_, index);
}

Result<std::vector<LogEntryPtr>> RocksDBLogStorage::get_entries(LogIndex first, size_t max_count,
                                                                size_t max_bytes) const {
  PONTOON_CHECK(max_count >= 1);
  uint64_t seq_before = mutation_seq_.load(std::memory_order_acquire);
  LogIndex lo = first_log_index();
  LogIndex hi = last_log_index();
  if (first < lo || first > hi) return outside_log(first, lo, hi);
  const size_t wanted = std::min(max_count, static_cast<size_t>(hi - first + 1));
  // One iterator over exactly the keys wanted: the upper bound keeps RocksDB from reading
  // blocks past the run.
  const std::string upper = rocksdb_keys::log_key(group_, first + static_cast<int64_t>(wanted));
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  std::vector<LogEntryPtr> entries;
  entries.reserve(std::min<size_t>(wanted, 1024));
  size_t bytes = 0;
  LogIndex expected = first;
  for (it->Seek(rocksdb_keys::log_key(group_, first)); it->Valid() && entries.size() < wanted;
       it->Next()) {
    std::optional<LogIndex> index =
        rocksdb_keys::parse_log_key(it->key().ToStringView(), log_prefix_);
    if (index != expected) break;  // A record is missing: told apart below.
    Result<LogEntryPtr> entry = log_record::decode(it->value().ToStringView(), group_, expected);
    if (!entry.ok()) return entry.status();
    if (!entries.empty() && bytes + (*entry)->data.size() > max_bytes) return entries;
    bytes += (*entry)->data.size();
    entries.push_back(std::move(*entry));
    ++expected;
  }
  if (!it->status().ok()) {
    return from_rocksdb(it->status(), "group " + group_ + ": read log from index " + str(first));
  }
  if (entries.size() == wanted) return entries;
  Status missing = missing_record(expected, seq_before, lo, hi);
  // Removed while being read: the run ends before it.
  if (missing.is_not_found() && !entries.empty()) return entries;
  return missing;
}

Result<Term> RocksDBLogStorage::get_term(LogIndex index) const {
  rocksdb::PinnableSlice value;
  Status s = read_record(index, &value);
  if (!s.ok()) return s;
  return log_record::decode_term(value.ToStringView(), group_, index);
}

Status RocksDBLogStorage::write(const LogWrite& write) {
  LogIndex first = first_log_index();
  LogIndex last = last_log_index();
  Result<LogWritePlan> plan = plan_log_write(write, group_, first, last);
  if (!plan.ok()) return plan.status();
  if (plan->keep_last == last && write.entries.empty()) return Status::OK();

  rocksdb::WriteBatch batch;
  if (plan->keep_last < last) {
    rocksdb::Status s = batch.DeleteRange(rocksdb_keys::log_key(group_, plan->keep_last + 1),
                                          rocksdb_keys::log_key(group_, last + 1));
    if (!s.ok()) return from_rocksdb(s, "group " + group_ + ": batch truncate suffix");
  }
  std::string key = log_prefix_;
  key.reserve(log_prefix_.size() + 8);
  for (const LogEntryPtr& entry : write.entries) {
    rocksdb_keys::set_log_key_index(&key, log_prefix_.size(), entry->id.index);
    std::array<char, log_record::kHeaderSize> header = log_record::encode_header(*entry);
    rocksdb::Slice key_part(key);
    rocksdb::Slice value_parts[2] = {rocksdb::Slice(header.data(), header.size()),
                                     rocksdb::Slice(entry->data)};
    rocksdb::Status s =
        batch.Put(rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2));
    if (!s.ok()) return from_rocksdb(s, "group " + group_ + ": batch append");
  }
  std::string what = "write (truncate after " + str(plan->keep_last) + ", append up to " +
                     str(plan->new_last) + ")";
  return commit(&batch, write.sync, first, plan->new_last, what);
}

Status RocksDBLogStorage::truncate_prefix(LogIndex first_index_kept) {
  LogIndex first = first_log_index();
  LogIndex last = last_log_index();
  if (first_index_kept <= first) return Status::OK();

  rocksdb::WriteBatch batch;
  // Entries [first, end) go; when the whole log goes, the log restarts empty at
  // first_index_kept.
  LogIndex end = std::min(first_index_kept, last + 1);
  if (first < end) {
    rocksdb::Status s =
        batch.DeleteRange(rocksdb_keys::log_key(group_, first), rocksdb_keys::log_key(group_, end));
    if (!s.ok()) return from_rocksdb(s, "group " + group_ + ": batch truncate prefix");
  }
  // The first index is recorded in the same batch, so it and the entries never disagree.
  rocksdb::Status s = batch.Put(rocksdb_keys::first_index_key(group_),
                                rocksdb_keys::encode_first_index(first_index_kept));
  if (!s.ok()) return from_rocksdb(s, "group " + group_ + ": batch first_log_index");
  LogIndex new_last = std::max(last, first_index_kept - 1);
  // Synced although a lost prefix truncation is harmless: it is rare, and a durable
  // first_log_index keeps recovery exact.
  return commit(&batch, /*sync=*/true, first_index_kept, new_last,
                "truncate prefix before " + str(first_index_kept));
}

void RocksDBLogStorage::sync_then(std::function<void(const Status&)> done) {
  PONTOON_CHECK(store_->shared_sync());
  store_->syncer().sync_then(std::move(done));
}

Status RocksDBLogStorage::commit(rocksdb::WriteBatch* batch, bool sync, LogIndex new_first,
                                 LogIndex new_last, const std::string& what) {
  PONTOON_CHECK(new_first >= LogIndex(1));
  PONTOON_CHECK(new_last >= new_first - 1);
  rocksdb::WriteOptions options;
  options.sync = sync;

  uint64_t seq = mutation_seq_.fetch_add(1, std::memory_order_acq_rel);
  PONTOON_CHECK_MSG(seq % 2 == 0, "concurrent writers on one LogStorage");
  rocksdb::Status s = db_->Write(options, batch);
  if (s.ok()) {
    // A reader may see one bound updated and not yet the other; the odd mutation_seq_ turns
    // any miss that causes into ENOENT.
    last_.store(new_last.value(), std::memory_order_release);
    first_.store(new_first.value(), std::memory_order_release);
  }
  mutation_seq_.fetch_add(1, std::memory_order_release);

  if (!s.ok()) {
    Status status = from_rocksdb(s, "group " + group_ + ": " + what);
    PONTOON_LOG(kError) << status;
    return status;
  }
  return Status::OK();
}

}  // namespace raft
