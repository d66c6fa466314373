#include "raft/storage/file_log_storage.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "log_segment.h"
#include "log_write_plan.h"
#include "raft/check.h"
#include "raft/logging.h"
#include "raft/storage/log_record.h"
#include "rocksdb_keys.h"

namespace raft {
namespace {

// log_meta holds a first-index value of a fixed 13 bytes; anything much longer is not ours.
constexpr uint64_t kMaxMetaBytes = 64;

std::string str(LogIndex i) { return std::to_string(i.value()); }

std::string at_offset(const std::string& path, uint64_t offset) {
  return path + " at offset " + std::to_string(offset);
}

// `status` (which names the group and index) with the place of the record it is about.
Status in_file(const Status& status, const std::string& path, uint64_t offset) {
  return Status(status.code(),
                std::string(status.message()) + " (" + at_offset(path, offset) + ")");
}

Status ensure_dir(FileSystem& fs, const std::string& dir) {
  if (fs.is_dir(dir)) return Status::OK();
  Status s = fs.create_dir(dir);
  // Without this a crash could take the directory, and every acknowledged entry in it, away.
  if (s.ok()) s = fs.sync_dir(parent_dir(dir));
  return s;
}

// The first index recorded in `path`, or 1 if no prefix was ever discarded.
Result<LogIndex> read_first_index(FileSystem& fs, const std::string& path, const GroupId& group) {
  Result<std::string> content = read_whole_file(fs, path, kMaxMetaBytes);
  if (!content.ok() && content.status().is_not_found()) return LogIndex(1);
  if (!content.ok() && content.status().is_invalid_argument()) {
    return Status::Corruption(std::string(content.status().message()));
  }
  if (!content.ok()) return content.status();
  Result<LogIndex> first = rocksdb_keys::decode_first_index(*content, group);
  if (!first.ok()) return Status::Corruption(path + ": " + std::string(first.status().message()));
  return first;
}

uint64_t record_size(const LogEntry& entry) { return log_record::kHeaderSize + entry.data.size(); }

// Writes `bytes` zeros to a new file at `path` and syncs it: a segment to be renamed into place.
// Any thread (a FileSystem is thread-safe, and nothing else uses `path`).
Status write_zero_filled_file(FileSystem& fs, const std::string& path, uint64_t bytes) {
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(path, FileSystem::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  const std::string zeros(static_cast<size_t>(std::min<uint64_t>(bytes, 1ull << 20)), '\0');
  Status s;
  for (uint64_t done = 0; s.ok() && done < bytes;) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - done));
    s = (*file)->append(std::string_view(zeros.data(), n));
    done += n;
  }
  if (s.ok()) s = (*file)->sync();
  Status closed = (*file)->close();
  return s.ok() ? closed : s;
}

}  // namespace

Status FileLogStorage::validate(const Options& options) {
  if (options.segment_max_bytes < kMinSegmentBytes ||
      options.segment_max_bytes > kMaxSegmentBytes) {
    return Status::InvalidArgument("FileLogStorage option segment_max_bytes is " +
                                   std::to_string(options.segment_max_bytes) + ", must be in [" +
                                   std::to_string(kMinSegmentBytes) + ", " +
                                   std::to_string(kMaxSegmentBytes) + "]");
  }
  return Status::OK();
}

Result<std::unique_ptr<FileLogStorage>> FileLogStorage::open(std::shared_ptr<FileSystem> fs,
                                                             std::string dir, GroupId group,
                                                             Options options) {
  PONTOON_CHECK(fs != nullptr);
  Status s = validate(options);
  if (!s.ok()) return s;
  if (dir.empty()) {
    return Status::InvalidArgument("group " + group + ": FileLogStorage dir is empty");
  }
  s = ensure_dir(*fs, dir);
  if (!s.ok()) return s;
  Result<std::vector<std::string>> names = fs->list_dir(dir);
  if (!names.ok()) return names.status();
  Result<LogIndex> first = read_first_index(*fs, join_path(dir, kMetaFileName), group);
  if (!first.ok()) return first.status();

  std::unique_ptr<FileLogStorage> log(
      new FileLogStorage(std::move(fs), std::move(dir), std::move(group), options, *first));
  s = log->recover(*names);
  if (!s.ok()) return s;
  PONTOON_LOG(kDebug) << "group " << log->group_ << ": recovered log [" << log->first_ << ", "
                      << log->last_ << "] from " << log->segments_.size() << " segments in "
                      << log->dir_;
  return log;
}

FileLogStorage::FileLogStorage(std::shared_ptr<FileSystem> fs, std::string dir, GroupId group,
                               Options options, LogIndex first)
    : fs_(std::move(fs)),
      dir_(std::move(dir)),
      group_(std::move(group)),
      options_(options),
      meta_path_(join_path(dir_, kMetaFileName)),
      first_(first),
      last_(first - 1),
      prepared_path_(join_path(dir_, kPreparedFileName)) {
  PONTOON_CHECK(first_ >= LogIndex(1));
}

FileLogStorage::~FileLogStorage() = default;

Status FileLogStorage::recover(const std::vector<std::string>& names) {
  std::vector<LogIndex> firsts;
  const std::string meta_tmp = std::string(kMetaFileName) + ".tmp";
  for (const std::string& name : names) {
    if (std::optional<LogIndex> first = parse_segment_file_name(name)) {
      firsts.push_back(*first);
    } else if (name == meta_tmp || name == kPreparedFileName) {
      // An update of log_meta that did not finish, or a segment being prepared; never read.
      (void)fs_->remove_file(join_path(dir_, name));
    } else if (name != kMetaFileName) {
      PONTOON_LOG(kWarn) << "group " << group_ << ": ignoring " << join_path(dir_, name)
                         << ", which is not a log file";
    }
  }
  // Sorted names are sorted indexes: the digits are zero-padded.
  PONTOON_CHECK(std::is_sorted(firsts.begin(), firsts.end()));

  bool removed_any = false;
  size_t i = 0;
  // A segment whose successor starts at or below first_ holds compacted entries only: a
  // truncate_prefix crashed before removing it. It is not even read.
  for (; i + 1 < firsts.size() && firsts[i + 1] <= first_; ++i) {
    Status s = fs_->remove_file(join_path(dir_, segment_file_name(firsts[i])));
    if (!s.ok()) return s;
    removed_any = true;
  }
  for (; i < firsts.size(); ++i) {
    Result<std::unique_ptr<LogSegment>> segment = load_segment(firsts[i], i + 1 == firsts.size());
    if (!segment.ok()) return segment.status();
    if (!segments_.empty() && (*segment)->first() != segments_.back()->last() + 1) {
      const LogSegment& previous = *segments_.back();
      return Status::Corruption(
          "group " + group_ + ": " + previous.path() + " ends at index " + str(previous.last()) +
          " but the next segment " + (*segment)->path() + " starts at index " +
          str((*segment)->first()) +
          ((*segment)->first() > previous.last() + 1 ? " (a gap)" : " (an overlap)"));
    }
    if (i + 1 < firsts.size()) (*segment)->seal();  // Only the last one takes new records.
    segments_.push_back(std::move(segment).value());
  }
  // The last segment may be empty (a crash right after it was started, or its only record was
  // torn) or hold compacted entries only (a truncate_prefix past the end crashed before
  // removing it).
  if (!segments_.empty() &&
      segments_.back()->last() < std::max(first_, segments_.back()->first())) {
    Status s = fs_->remove_file(segments_.back()->path());
    if (!s.ok()) return s;
    segments_.pop_back();
    removed_any = true;
  }
  if (!segments_.empty() && segments_.front()->first() > first_) {
    return Status::Corruption("group " + group_ + ": the log starts at index " + str(first_) +
                              " (" + meta_path_ + ") but its first segment " +
                              segments_.front()->path() + " starts at index " +
                              str(segments_.front()->first()));
  }
  last_ = segments_.empty() ? first_ - 1 : segments_.back()->last();
  PONTOON_CHECK(last_ >= first_ - 1);
  return removed_any ? fs_->sync_dir(dir_) : Status::OK();
}

Result<std::unique_ptr<LogSegment>> FileLogStorage::load_segment(LogIndex first, bool is_last) {
  std::string path = join_path(dir_, segment_file_name(first));
  Result<std::unique_ptr<RandomAccessFile>> file = fs_->open_readable(path);
  if (!file.ok()) return file.status();
  auto segment = std::make_unique<LogSegment>(first, path, std::move(file).value());
  Result<SegmentTail> tail = segment->index_file(group_);
  if (!tail.ok()) return tail.status();
  if (tail->damage.ok()) return segment;

  const std::string where = at_offset(path, segment->end());
  const std::string damage(tail->damage.message());
  // A lost sector in the last segment is a torn tail even with valid records after it: they were
  // written after it and synced with it or not at all.
  const bool lost_in_last = is_last && tail->lost_sector;
  if (!lost_in_last && tail->valid_record_after.has_value()) {
    return Status::Corruption(where + ": " + damage + ", and a valid record follows at offset " +
                              std::to_string(*tail->valid_record_after));
  }
  if (!is_last) {
    return Status::Corruption(where + ": " + damage +
                              ", in a segment that is not the last (only the last may be torn)");
  }
  // What a crash leaves of the last writes: bytes whose sync never returned, so no entry in
  // them was acknowledged. Cut, so that nothing after the damage is read behind later records.
  PONTOON_LOG(kWarn) << "group " << group_ << ": cutting the torn tail of " << where << " ("
                     << damage << (lost_in_last ? "; a sector of it never reached the disk" : "")
                     << ")";
  Status s = fs_->truncate_file(path, segment->end());
  if (!s.ok()) return s;
  return segment;
}

LogIndex FileLogStorage::first_log_index() const {
  std::shared_lock lock(mu_);
  return first_;
}

LogIndex FileLogStorage::last_log_index() const {
  std::shared_lock lock(mu_);
  return last_;
}

Result<const LogSegment*> FileLogStorage::find_locked(LogIndex index) const {
  if (index < first_ || index > last_) {
    return Status::NotFound("group " + group_ + ": log index " + str(index) + " is outside [" +
                            str(first_) + ", " + str(last_) + "]");
  }
  // The segment holding `index` is the last one starting at or before it.
  auto after = std::upper_bound(
      segments_.begin(), segments_.end(), index,
      [](LogIndex i, const std::unique_ptr<LogSegment>& segment) { return i < segment->first(); });
  PONTOON_CHECK(after != segments_.begin());
  const LogSegment* segment = std::prev(after)->get();
  PONTOON_CHECK(index <= segment->last());
  return segment;
}

Result<LogEntryPtr> FileLogStorage::get_entry(LogIndex index) const {
  std::shared_lock lock(mu_);
  Result<const LogSegment*> segment = find_locked(index);
  if (!segment.ok()) return segment.status();
  Result<std::string> record = (*segment)->read_record(index);
  if (!record.ok()) return record.status();
  Result<LogEntryPtr> entry = log_record::decode(*record, group_, index);
  if (!entry.ok()) return in_file(entry.status(), (*segment)->path(), (*segment)->offset(index));
  return entry;
}

Result<std::vector<LogEntryPtr>> FileLogStorage::get_entries(LogIndex first, size_t max_count,
                                                             size_t max_bytes) const {
  PONTOON_CHECK(max_count >= 1);
  std::shared_lock lock(mu_);
  if (Result<const LogSegment*> found = find_locked(first); !found.ok()) return found.status();
  std::vector<LogEntryPtr> entries;
  size_t bytes = 0;
  LogIndex next = first;
  // Each segment's part of the run is one read: the index knows every record's size, and a
  // record's payload is its size less the fixed header, so the run is cut before reading.
  while (entries.size() < max_count && next <= last_) {
    Result<const LogSegment*> found = find_locked(next);
    if (!found.ok()) return found.status();
    const LogSegment& segment = **found;
    LogIndex run_last = next - 1;
    size_t run_bytes = bytes;
    bool full = false;
    for (LogIndex index = next;
         index <= segment.last() && entries.size() + static_cast<size_t>(index - next) < max_count;
         ++index) {
      size_t payload = static_cast<size_t>(segment.record_size(index)) - log_record::kHeaderSize;
      if (index != first && run_bytes + payload > max_bytes) {
        full = true;
        break;
      }
      run_bytes += payload;
      run_last = index;
    }
    if (run_last < next) break;
    Result<std::string> records = segment.read_records(next, run_last);
    if (!records.ok()) return records.status();
    const uint64_t base = segment.offset(next);
    for (LogIndex index = next; index <= run_last; ++index) {
      const uint64_t at = segment.offset(index);
      // A file cut short under the open storage yields a short read: its records fail decode.
      std::string_view record = std::string_view(*records).substr(
          std::min(static_cast<size_t>(at - base), records->size()),
          static_cast<size_t>(segment.record_size(index)));
      Result<LogEntryPtr> entry = log_record::decode(record, group_, index);
      if (!entry.ok()) return in_file(entry.status(), segment.path(), at);
      entries.push_back(std::move(*entry));
    }
    bytes = run_bytes;
    next = run_last + 1;
    if (full) break;
  }
  return entries;
}

Result<Term> FileLogStorage::get_term(LogIndex index) const {
  std::shared_lock lock(mu_);
  Result<const LogSegment*> segment = find_locked(index);
  if (!segment.ok()) return segment.status();
  return (*segment)->term(index);
}

Result<FileLogStorage::RecordLocation> FileLogStorage::record_location(LogIndex index) const {
  std::shared_lock lock(mu_);
  Result<const LogSegment*> segment = find_locked(index);
  if (!segment.ok()) return segment.status();
  return RecordLocation{(*segment)->path(), (*segment)->offset(index),
                        (*segment)->record_size(index)};
}

Status FileLogStorage::write(const LogWrite& write) {
  if (!failure_.ok()) return refuse_after_failure();
  Result<LogWritePlan> plan = plan_log_write(write, group_, first_, last_);
  if (!plan.ok()) return plan.status();

  Status s;
  if (plan->keep_last < last_) s = truncate_suffix(plan->keep_last);
  if (s.ok() && !write.entries.empty()) s = append(write.entries, write.sync);
  if (!s.ok()) {
    failure_ =
        Status(s.code(), "group " + group_ + ": log write failed: " + std::string(s.message()));
    PONTOON_LOG(kError) << failure_ << "; refusing further changes until reopened";
    return failure_;
  }
  PONTOON_CHECK(last_ == plan->new_last);
  return Status::OK();
}

Status FileLogStorage::truncate_suffix(LogIndex keep_last) {
  PONTOON_CHECK(keep_last >= first_ - 1);
  PONTOON_CHECK(keep_last < last_);
  std::vector<std::unique_ptr<LogSegment>> removed;  // Newest first.
  LogSegment* cut = nullptr;
  {
    // Retract the records before their bytes go. A reader still reading one holds mu_ shared,
    // so this waits for it; later readers get ENOENT.
    std::unique_lock lock(mu_);
    while (!segments_.empty()) {
      LogSegment& tail = *segments_.back();
      // A segment left without an entry of the log goes whole, compacted records and all.
      if (keep_last < std::max(tail.first(), first_)) {
        removed.push_back(std::move(segments_.back()));
        segments_.pop_back();
        continue;
      }
      if (keep_last < tail.last()) {
        tail.truncate_after(keep_last);
        cut = &tail;
      }
      break;
    }
    last_ = keep_last;
  }
  // Its segment is being cut or removed; prepare_tail() reopens the new last one.
  writer_.reset();
  // Newest first, each durable before the next and before the cut: whatever a crash stops, the
  // files hold a prefix of the old log, never one with a gap.
  for (const std::unique_ptr<LogSegment>& segment : removed) {
    Status s = remove_durably(segment->path());
    if (!s.ok()) return s;
  }
  if (cut != nullptr) return fs_->truncate_file(cut->path(), cut->end());
  return Status::OK();
}

Status FileLogStorage::append(const std::vector<LogEntryPtr>& entries, bool sync) {
  size_t next = 0;
  while (next < entries.size()) {
    Status s = prepare_tail(record_size(*entries[next]));
    if (!s.ok()) return s;
    LogSegment& tail = *segments_.back();
    // The records that fit in this segment, in one gathered write: each header, then the
    // entry's payload from where it lies (no copy of it).
    const size_t first = next;
    const uint64_t start = tail.end();
    uint64_t end = start;
    do {
      end += record_size(*entries[next++]);
    } while (next < entries.size() &&
             end + record_size(*entries[next]) <= options_.segment_max_bytes);
    headers_.resize(next - first);
    pieces_.clear();
    for (size_t i = first; i < next; ++i) {
      headers_[i - first] = log_record::encode_header(*entries[i]);
      pieces_.emplace_back(headers_[i - first].data(), headers_[i - first].size());
      pieces_.emplace_back(entries[i]->data);
    }
    // Into the preallocated zeros, or past the end of a segment that is not preallocated.
    s = writer_->write_at_gathered(start, pieces_);
    if (!s.ok()) return s;
    // Published only now that the bytes are in the file, so no reader finds a partial record.
    std::unique_lock lock(mu_);
    for (size_t i = first; i < next; ++i) {
      tail.add_record(entries[i]->id.term, record_size(*entries[i]));
    }
    PONTOON_CHECK(tail.end() == end);
    last_ = tail.last();
  }
  return sync ? writer_->sync() : Status::OK();
}

Status FileLogStorage::prepare_tail(uint64_t record_size) {
  if (segments_.empty()) return start_segment();
  const LogSegment& tail = *segments_.back();
  if (writer_ == nullptr) {
    Result<std::unique_ptr<WritableFile>> file =
        fs_->open_writable(tail.path(), FileSystem::OpenMode::kAppend);
    if (!file.ok()) return file.status();
    if ((*file)->size() < tail.end()) {
      return Status::Corruption(tail.path() + " is " + std::to_string((*file)->size()) +
                                " bytes but its records end at offset " +
                                std::to_string(tail.end()));
    }
    writer_ = std::move(file).value();
    segment_started_at_ = now();
    segment_bytes_at_start_ = tail.end();
    prepare_next_segment();  // After open(): the next one is ready when this one is full.
  }
  if (tail.empty() || tail.end() + record_size <= options_.segment_max_bytes) return Status::OK();
  // Synced even for an unsynced write: a later segment must never be durable while this one
  // is not, or a crash would leave a gap. So only the last segment can be torn.
  Status s = writer_->sync();
  if (s.ok()) s = writer_->close();
  writer_.reset();
  if (!s.ok()) return s;
  return start_segment();
}

size_t FileLogStorage::index_memory_bytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = 0;
  for (const auto& segment : segments_) bytes += segment->index_bytes();
  return bytes;
}

TimePoint FileLogStorage::now() const {
  static const SteadyClock steady_clock;
  return (options_.clock != nullptr ? *options_.clock : steady_clock).now();
}

bool FileLogStorage::last_segment_filled_fast(TimePoint now) const {
  if (segments_.empty() || options_.preallocate_below_bytes_per_second == 0) return false;
  const double seconds = std::chrono::duration<double>(now - segment_started_at_).count();
  const double bytes = static_cast<double>(segments_.back()->end() - segment_bytes_at_start_);
  return bytes > static_cast<double>(options_.preallocate_below_bytes_per_second) * seconds;
}

Status FileLogStorage::start_segment() {
  const LogIndex first = last_ + 1;
  const std::string path = join_path(dir_, segment_file_name(first));
  const TimePoint started_at = now();
  const bool filled_fast = last_segment_filled_fast(started_at);
  // This segment follows the decision taken when the one before started (its zeros, if any,
  // are written already); the decision taken now applies to the next one.
  Result<std::unique_ptr<WritableFile>> file = create_segment_file(path);
  if (!file.ok()) return file.status();
  if (filled_fast != preallocation_paused_) {
    PONTOON_LOG(kDebug) << "group " << group_ << ": " << (filled_fast ? "pausing" : "resuming")
                        << " segment preallocation";
  }
  preallocation_paused_ = filled_fast;
  segment_started_at_ = started_at;
  segment_bytes_at_start_ = 0;
  // The name must be durable before any record in the file is acknowledged.
  Status s = fs_->sync_dir(dir_);
  if (!s.ok()) return s;
  Result<std::unique_ptr<RandomAccessFile>> reader = fs_->open_readable(path);
  if (!reader.ok()) return reader.status();
  auto segment = std::make_unique<LogSegment>(first, path, std::move(reader).value());
  {
    std::unique_lock lock(mu_);
    if (!segments_.empty()) segments_.back()->seal();  // It takes no more records.
    segments_.push_back(std::move(segment));
  }
  writer_ = std::move(file).value();
  prepare_next_segment();
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> FileLogStorage::create_segment_file(const std::string& path) {
  // Paused, a segment prepared before the pause is still used; none is made now.
  if (options_.preallocate_segments && (prepared_.valid() || !preallocation_paused_)) {
    Status prepared = prepared_.valid() ? prepared_.get()
                                        : write_zero_filled_file(*fs_, prepared_path_,
                                                                 options_.segment_max_bytes);
    // The zeros are durable before the name is: a crash shows either no segment or a whole
    // preallocated one. Renaming replaces a leftover file of this name, which no index refers
    // to.
    if (prepared.ok()) prepared = fs_->rename(prepared_path_, path);
    if (prepared.ok()) return fs_->open_writable(path, FileSystem::OpenMode::kAppend);
    PONTOON_LOG(kWarn) << "group " << group_ << ": cannot preallocate " << path << " (" << prepared
                       << "); starting it empty";
  }
  // kTruncate: a file of this name can only be a leftover that no index refers to.
  return fs_->open_writable(path, FileSystem::OpenMode::kTruncate);
}

void FileLogStorage::prepare_next_segment() {
  if (!options_.preallocate_segments || !options_.prepare_in_background || prepared_.valid() ||
      preallocation_paused_) {
    return;
  }
  try {
    prepared_ = std::async(std::launch::async,
                           [fs = fs_, path = prepared_path_, bytes = options_.segment_max_bytes] {
                             return write_zero_filled_file(*fs, path, bytes);
                           });
  } catch (const std::system_error& e) {
    // No thread to be had: create_segment_file() prepares it when it is needed.
    PONTOON_LOG(kWarn) << "group " << group_ << ": cannot start preparing the next segment ("
                       << e.what() << ")";
  }
}

Status FileLogStorage::truncate_prefix(LogIndex first_index_kept) {
  if (!failure_.ok()) return refuse_after_failure();
  if (first_index_kept <= first_) return Status::OK();
  // Recorded before any segment goes, so that after a crash a leftover segment below it is
  // known to be compacted rather than taken for the start of the log.
  Status s =
      write_file_atomically(*fs_, meta_path_, rocksdb_keys::encode_first_index(first_index_kept));
  if (!s.ok()) return s;

  std::vector<std::unique_ptr<LogSegment>> removed;
  {
    std::unique_lock lock(mu_);
    first_ = first_index_kept;
    last_ = std::max(last_, first_index_kept - 1);
    while (!segments_.empty() && segments_.front()->last() < first_) {
      removed.push_back(std::move(segments_.front()));
      segments_.pop_front();
    }
  }
  // The log is now empty and continues at first_index_kept in a new segment.
  if (segments_.empty()) writer_.reset();
  // A removal that fails or is lost in a crash leaves a compacted segment that open() removes.
  for (const std::unique_ptr<LogSegment>& segment : removed) {
    s = fs_->remove_file(segment->path());
    if (!s.ok()) return s;
  }
  return removed.empty() ? Status::OK() : fs_->sync_dir(dir_);
}

Status FileLogStorage::remove_durably(const std::string& path) {
  Status s = fs_->remove_file(path);
  return s.ok() ? fs_->sync_dir(dir_) : s;
}

Status FileLogStorage::refuse_after_failure() const {
  return Status::IoError(std::string(failure_.message()) + "; the log in " + dir_ +
                         " refuses changes until it is reopened");
}

}  // namespace raft
