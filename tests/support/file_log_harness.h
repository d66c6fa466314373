// FileLogHarness: a FileLogStorage on the real file system in a temporary directory, reopened
// from the same files as after a restart, with small segments so tests cross segment boundaries.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_system.h"
#include "support/temp_dir.h"

namespace raft::testing {

// Flips the lowest bit of the byte at `offset` of the file at `path`.
inline void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.good());
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  REQUIRE(file.get(byte));
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(byte ^ 0x01));
  REQUIRE(file.good());
}

class FileLogHarness {
 public:
  static constexpr bool kPersistent = true;
  // get_term answers from the in-memory index, so damage done behind the log's back shows in
  // get_entry only (and makes the next open fail).
  static constexpr bool kRereadsRecordsForTerms = false;
  // 4 KiB holds about a hundred of the tests' small entries, so long tests roll over.
  static constexpr uint64_t kSegmentBytes = 4096;

  explicit FileLogHarness(GroupId group = "group-1") : group_(std::move(group)) { reopen(); }

  FileLogStorage& log() { return *log_; }
  const std::string& dir() const { return log_dir_; }

  // Closes the log and opens it again from the same directory, as after a restart.
  void reopen() {
    Result<std::unique_ptr<FileLogStorage>> log = try_reopen();
    REQUIRE(log.ok());
    log_ = std::move(log).value();
  }

  // As reopen(), returning the failure to open instead of requiring success.
  Result<std::unique_ptr<FileLogStorage>> try_reopen() {
    log_.reset();
    return FileLogStorage::open(PosixFileSystem::instance(), log_dir_, group_,
                                FileLogStorage::Options{.segment_max_bytes = kSegmentBytes,
                                                        // Preallocated however fast the test.
                                                        .preallocate_below_bytes_per_second = 0});
  }

  // Flips a bit in the last data byte of the stored record of `index`.
  void corrupt(int64_t index) {
    Result<FileLogStorage::RecordLocation> at = log_->record_location(LogIndex(index));
    REQUIRE(at.ok());
    flip_byte(at->path, at->offset + at->size - 1);
  }

 private:
  const GroupId group_;
  TempDir root_;
  // A directory open() has to create.
  const std::string log_dir_ = root_.path() + "/log";
  std::unique_ptr<FileLogStorage> log_;
};

}  // namespace raft::testing
