// FileLogStorage: a LogStorage keeping one group's log in segment files in a directory of its
// own, written only through the FileSystem seam (raft/storage/file_system.h), so it runs on the
// real disk (PosixFileSystem) and on the simulated one alike. Formats and recovery rules:
// docs/log_format.md, "Segment files".
//
//   <dir>/log_<first index, 20 digits>   consecutive records (log_record::encode), append-only
//   <dir>/log_meta                       the first index, once a prefix was discarded
//
// Writes append to the last segment; a record that would take it past
// Options::segment_max_bytes starts a new one. In memory the storage keeps, per segment, where
// each record starts and its term: get_term needs no IO, get_entry one read and a decode (which
// verifies the checksum). That index costs about 4 bytes per record (index_memory_bytes()).
// Opening reads every segment once to rebuild it.
//
// Durability and crash safety, given the FileSystem durability contract:
//   - write() with sync set returns OK only once its records are durable; a new segment's name
//     is made durable (sync_dir) before any record goes into it, and a segment is synced before
//     the next one is started, even for unsynced writes, so only the last segment can lose
//     bytes in a crash.
//   - A crash during a write leaves a state LogStorage::write allows: a prefix of the old log
//     holding every entry <= truncate_after, or the old log cut there followed by a prefix of
//     the new entries. Later segments are removed newest first, each removal made durable
//     before the next and before the cut of the segment that keeps the rest, so no crash leaves
//     a gap.
//   - truncate_prefix() records the new first index durably (write_file_atomically) before it
//     removes any segment, so a crash leaves at most segments that open() recognises as
//     compacted and removes.
//   - Segments are preallocated (Options::preallocate_segments; not while segments fill faster
//     than Options::preallocate_below_bytes_per_second, when they start empty): a zero-filled
//     file, synced before it is renamed into place, so the records of a segment are followed
//     by zeros. The file system may then write an unsynced record to disk before an earlier
//     unsynced one; a damaged record in the last segment whose bytes hold a lost sector
//     (SegmentTail in log_segment.h) is therefore a torn tail even when valid records follow it:
//     none of them was synced. open() cuts the file there, so those stale records cannot come back
//     behind later writes, and the segment goes on appending. truncate_after cuts its segment the
//     same way.
//   - open() drops a torn tail: the last segment ending in an incomplete record, or in a record
//     that fails its checksum with no valid record after it. Such bytes were never acknowledged
//     (their sync never returned), so cutting them loses nothing; it logs a warning. Damage
//     anywhere else — a bad record followed by valid ones, a bad record in any segment but the
//     last, a gap or overlap between segments, an unparsable log_meta — is ECORRUPTION naming
//     the file (and offset): acknowledged data is never dropped silently.
//
// Unlike MemoryLogStorage and RocksDBLogStorage, a record damaged on disk while the storage is
// open is found by get_entry only: get_term answers from the index, which was built from
// verified records. The next open() then refuses the log (the rule above).
//
// After an IO error in write() the files may not match the index any more, so the storage
// refuses every further write and truncate_prefix (EIO naming the first failure) until it is
// reopened, which recovers from what is on disk; reads keep working.
//
// Thread-safety: reads (get_entry, get_term, first/last index, record_location) from any thread
// concurrently with one writer (write, truncate_prefix), as LogStorage requires. A
// reader/writer mutex guards the index; the writer holds it exclusively only to publish or
// retract records in memory, never across IO. New records are published after they are in the
// file and records are retracted before their bytes are cut, so a reader sees whole records or
// ENOENT. Reads of one segment serialize on its file handle (one RandomAccessFile per segment,
// which a FileSystem lets one thread use at a time).
//
// Ownership: keeps `fs` alive; owns its directory's contents while open (one FileLogStorage
// per directory at a time — nothing prevents a second one, which would corrupt the log). Keeps
// one RandomAccessFile open per segment and one WritableFile on the last.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "raft/clock.h"
#include "raft/log_storage.h"
#include "raft/status.h"
#include "raft/storage/file_system.h"
#include "raft/storage/log_record.h"
#include "raft/types.h"

namespace raft {

class LogSegment;

class FileLogStorage final : public LogStorage {
 public:
  struct Options {
    // A record that would take the last segment past this many bytes starts a new segment (a
    // record larger than this gets a segment of its own). Bounds what open() reads into memory
    // per segment. Range [kMinSegmentBytes, kMaxSegmentBytes].
    uint64_t segment_max_bytes = 8ull << 20;
    // Segment files are made before they are needed: zero-filled to segment_max_bytes, synced,
    // then renamed into place. A record write then replaces bytes that exist, so a sync has
    // only data to write and not the file's new size as well (on the development machine's
    // ext4 a third to a half off a synced write: docs/benchmark-history.md). Costs up
    // to two segments of disk beyond the records: the one being written and the next.
    bool preallocate_segments = true;
    // With preallocate_segments, the next segment is prepared on a short-lived thread of its
    // own while the current one fills, so no write waits for it. Off, it is prepared on the
    // writer's thread when the current one is full (what the deterministic simulation needs:
    // a SimFileSystem with a scheduler is driven from one thread).
    bool prepare_in_background = true;
    // With preallocate_segments: when the segment just filled was written faster than this
    // (bytes per second over the time from its start to the next segment's), the segments
    // after it start empty, without zeros, until one fills more slowly again. At such rates
    // each fsync covers many records, so a file size to sync costs little, while the zeros
    // double what goes to the page cache and the disk and compete with the fsyncs
    // (docs/benchmark-history.md, "Preallocation that steps aside"). 0: always preallocate.
    uint64_t preallocate_below_bytes_per_second = 32ull << 20;
    // Where segment fill times are read; null means the steady clock. The simulation passes
    // its virtual clock. Must outlive the storage.
    const Clock* clock = nullptr;
  };
  // At least a few typical entries per file, so a log is not one file per entry.
  static constexpr uint64_t kMinSegmentBytes = 1ull << 10;
  static constexpr uint64_t kMaxSegmentBytes = 1ull << 30;

  static constexpr std::string_view kMetaFileName = "log_meta";
  // The next segment while it is prepared (preallocate_segments): never read, removed by open().
  static constexpr std::string_view kPreparedFileName = "log_next";

  // Where one record is stored.
  struct RecordLocation {
    std::string path;
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  // EINVAL naming the option if `options` is out of range.
  static Status validate(const Options& options);

  // Opens (creating it and syncing its parent if missing) the log directory `dir` of `group`
  // and recovers the log from it (see above). `group` names the log in messages. EINVAL for bad
  // options or an empty `dir`; ECORRUPTION naming the file for damage that is not a torn tail;
  // EIO (or ENOENT) if the file system fails.
  static Result<std::unique_ptr<FileLogStorage>> open(std::shared_ptr<FileSystem> fs,
                                                      std::string dir, GroupId group,
                                                      Options options);

  // Closes the files without syncing them (what was not synced may be lost, as in a crash).
  ~FileLogStorage() override;

  LogIndex first_log_index() const override;
  LogIndex last_log_index() const override;
  // ECORRUPTION names the group, the index, the segment file and the record's offset.
  Result<LogEntryPtr> get_entry(LogIndex index) const override;
  // One read per segment the run touches, cut to the limits from the index before reading.
  Result<std::vector<LogEntryPtr>> get_entries(LogIndex first, size_t max_count,
                                               size_t max_bytes) const override;
  // From the in-memory index: no IO, never ECORRUPTION (see above).
  Result<Term> get_term(LogIndex index) const override;
  Status write(const LogWrite& write) override;
  Status truncate_prefix(LogIndex first_index_kept) override;

  // The memory the in-memory index of every segment holds (offsets and terms). Any thread.
  size_t index_memory_bytes() const;

  // The file and byte range holding the record of `index`; ENOENT outside the log. For tools
  // and tests that inspect or damage the files.
  Result<RecordLocation> record_location(LogIndex index) const;

  const std::string& dir() const { return dir_; }

 private:
  FileLogStorage(std::shared_ptr<FileSystem> fs, std::string dir, GroupId group, Options options,
                 LogIndex first);

  // Part of open(): reads the segments named `names` (sorted), removes the compacted and empty
  // ones and the torn tail, and fills segments_ and last_.
  Status recover(const std::vector<std::string>& names);
  // Part of recover(): indexes the segment starting at `first`; `is_last` allows a torn tail.
  Result<std::unique_ptr<LogSegment>> load_segment(LogIndex first, bool is_last);

  // REQUIRES: mu_ held. The segment holding `index`, or ENOENT outside [first_, last_].
  Result<const LogSegment*> find_locked(LogIndex index) const;

  // Parts of write(). Each may leave the files ahead of or behind the index on failure.
  Status truncate_suffix(LogIndex keep_last);
  Status append(const std::vector<LogEntryPtr>& entries, bool sync);
  // Makes segments_.back() a segment with room for a `record_size`-byte record and writer_ open
  // on it, starting a new segment if needed.
  Status prepare_tail(uint64_t record_size);
  Status start_segment();
  TimePoint now() const;
  // Whether segments_.back(), started at segment_started_at_, filled faster than
  // preallocate_below_bytes_per_second by `now`.
  bool last_segment_filled_fast(TimePoint now) const;
  // Starts a segment file at `path` for start_segment(): the prepared one renamed into place
  // with preallocate_segments (prepared now if none is), a new empty file otherwise or if
  // preparing fails (the log then goes on appending, with a warning).
  Result<std::unique_ptr<WritableFile>> create_segment_file(const std::string& path);
  // With preallocate_segments and prepare_in_background, and no preparation running: starts
  // preparing the next segment at prepared_path_.
  void prepare_next_segment();

  // Removes `path` and makes the removal durable.
  Status remove_durably(const std::string& path);
  // EIO explaining that an earlier write failed.
  Status refuse_after_failure() const;

  const std::shared_ptr<FileSystem> fs_;
  const std::string dir_;
  const GroupId group_;
  const Options options_;
  const std::string meta_path_;

  mutable std::shared_mutex mu_;
  // Guarded by mu_ (changed by the writer under an exclusive lock; the writer reads them
  // without the lock, since nobody else changes them). Invariant: first_ >= 1,
  // last_ >= first_ - 1.
  LogIndex first_;
  LogIndex last_;
  // Guarded by mu_, as first_. In index order, contiguous; records below first_ in the first
  // segment are compacted and never read. Invariant: when the log is not empty, the records
  // [first_, last_] are exactly those of the segments; only the last segment may be empty.
  std::deque<std::unique_ptr<LogSegment>> segments_;

  // Writer only. Appends to segments_.back(); null until needed, and after that segment was
  // cut or removed.
  std::unique_ptr<WritableFile> writer_;
  // Writer only. Not OK once a write failed in IO; then every change is refused.
  Status failure_;
  // Writer only, reused by every append (no allocation per write once they have grown): the
  // records' headers and the pieces of one gathered write (headers_ and the entries' payloads).
  std::vector<std::array<char, log_record::kHeaderSize>> headers_;
  std::vector<std::string_view> pieces_;
  // Writer only. When the last segment started (or, after open(), when writing resumed in it),
  // the bytes it held then, and whether preallocation is paused because the segment before it
  // filled fast.
  TimePoint segment_started_at_{};
  uint64_t segment_bytes_at_start_ = 0;
  bool preallocation_paused_ = false;

  const std::string prepared_path_;
  // Writer only. The preparation of the next segment at prepared_path_ running in the
  // background, if valid(); its destructor waits for it.
  std::future<Status> prepared_;
};

}  // namespace raft
