// LogSegment: one segment file of a FileLogStorage and the in-memory index of its records.
//
// A segment file holds consecutive log records (raft/storage/log_record.h) back to back, the
// first of them at the index its name states (docs/log_format.md, "Segment files"). The index
// keeps where each record starts and which term it holds, so a term needs no IO and an entry one
// read.
//
// Thread-safety: the index (everything but the file handle) is guarded by the owning
// FileLogStorage's mutex: read under a shared lock, changed by its one writer under an exclusive
// one. read_record() may run on many threads at once under the shared lock; it serializes use of
// the file handle on read_mu_, because a FileSystem allows one thread per RandomAccessFile.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/status.h"
#include "raft/storage/file_system.h"
#include "raft/types.h"

namespace raft {

// "log_" followed by `first` as 20 zero-padded digits, so that sorted names are sorted segments.
// REQUIRES: first >= 1.
std::string segment_file_name(LogIndex first);
// The first index a segment file name stands for, or nullopt if `name` is not one.
std::optional<LogIndex> parse_segment_file_name(std::string_view name);

// What LogSegment::index_file() found after the last whole valid record.
struct SegmentTail {
  // OK if the file ends with a whole valid record (or is empty); otherwise why the bytes at
  // end() are not one (ECORRUPTION naming the group and index).
  Status damage;
  // Where a whole valid record of a later index starts after the damage, if one does: then the
  // damage is not a torn last write but bytes lost or changed in the middle of the log, unless
  // `lost_sector` says otherwise.
  std::optional<uint64_t> valid_record_after;
  // Whether the damaged bytes (from end() up to the valid record after, or the end of the file)
  // look like a write that never reached the disk in a preallocated segment: a whole
  // kSectorBytes-aligned sector of zeros, or zeros from end() (where a record's non-zero
  // version byte belongs) to the end of its sector. The page cache writes an unsynced file's
  // pages back in any order, so a later record may be on disk while an earlier one is not; none
  // of them was synced, so none was acknowledged.
  bool lost_sector = false;
};

class LogSegment {
 public:
  // REQUIRES: first >= 1, file != nullptr.
  LogSegment(LogIndex first, std::string path, std::unique_ptr<RandomAccessFile> file);
  LogSegment(const LogSegment&) = delete;
  LogSegment& operator=(const LogSegment&) = delete;

  LogIndex first() const { return first_; }
  // first() - 1 while the segment holds no record.
  LogIndex last() const { return first_ + static_cast<int64_t>(offsets_.size()) - 1; }
  bool empty() const { return offsets_.empty(); }
  const std::string& path() const { return path_; }
  // The bytes of its whole records: where the next record goes.
  uint64_t end() const { return end_; }

  // REQUIRES (all three): first() <= index <= last().
  Term term(LogIndex index) const;
  uint64_t offset(LogIndex index) const { return offsets_[position(index)]; }
  uint64_t record_size(LogIndex index) const;

  // The stored bytes of the record of `index`, undecoded (they may be damaged); EIO if the read
  // fails. REQUIRES: first() <= index <= last().
  Result<std::string> read_record(LogIndex index) const;
  // The stored bytes of the records [first, last], back to back as in the file, in one read.
  // REQUIRES: first() <= first <= last <= last().
  Result<std::string> read_records(LogIndex first, LogIndex last) const;

  // Reads the whole file and indexes its records from the start, stopping at the first one that
  // is incomplete or fails log_record::decode(); EIO if the file cannot be read. Bytes that are
  // all zeros from some record boundary to the end of the file are the unused rest of a
  // preallocated segment: the records end there, undamaged. REQUIRES: empty().
  Result<SegmentTail> index_file(const GroupId& group);

  // Indexes a record of `size` bytes holding `term`, stored at end().
  void add_record(Term term, uint64_t size);
  // Forgets the records after `index`. REQUIRES: first() - 1 <= index <= last().
  void truncate_after(LogIndex index);
  // No record will be added any more (a newer segment took over): gives back the index's
  // spare capacity.
  void seal();
  // Bytes of memory the index holds (4 per record, plus a few per change of term).
  size_t index_bytes() const;

 private:
  size_t position(LogIndex index) const;

  const LogIndex first_;
  const std::string path_;
  // The index costs 4 bytes per record, for logs of millions of entries between snapshots:
  // offsets_[i] is where the record of index first_ + i starts (a record only starts below the
  // segment size limit, at most 1 GiB, so 32 bits hold it), and the terms are kept as runs,
  // since a term changes only with an election.
  // Invariant: offsets_ start at 0 and strictly increase; the last record ends at end_.
  // term_runs_ holds (position of the run's first record, its term) with increasing
  // positions, the first at 0 if any record exists, none at or past offsets_.size().
  struct TermRun {
    uint32_t first_position;
    Term term;
  };
  std::vector<uint32_t> offsets_;
  std::vector<TermRun> term_runs_;
  uint64_t end_ = 0;

  mutable std::mutex read_mu_;
  // Guarded by read_mu_.
  const std::unique_ptr<RandomAccessFile> file_;
};

}  // namespace raft
