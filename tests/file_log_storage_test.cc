// FileLogStorage beyond the LogStorage contract (log_storage_test.cc runs that against it):
// segment files, prefix truncation, and recovery from torn and damaged files
// (docs/log_format.md, "Segment files").
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "raft/log_entry.h"
#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/log_record.h"
#include "raft/storage/sim_file_system.h"
#include "support/file_log_harness.h"
#include "support/log_entries.h"
#include "support/temp_dir.h"

using namespace raft;
using namespace raft::testing;

namespace {

const GroupId kGroup = "group-1";

std::string segment_name(int64_t first) {
  std::string digits = std::to_string(first);
  return "log_" + std::string(20 - digits.size(), '0') + digits;
}

// The first index a segment name states.
int64_t segment_first(const std::string& name) { return std::stoll(name.substr(4)); }

// The segment files in `dir`, sorted.
std::vector<std::string> segment_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    std::string name = file.path().filename().string();
    if (name.starts_with("log_0")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t record_bytes(int64_t index, int64_t term) {
  return log_record::encode(*entry(index, term)).size();
}

// The first indexes of the segments that entries [1, last] of `term` fill, written in any
// batches: a record that would take a segment past `max_bytes` starts the next one.
std::vector<std::string> expected_segments(int64_t last, int64_t term, uint64_t max_bytes) {
  std::vector<std::string> names = {segment_name(1)};
  uint64_t size = 0;
  for (int64_t i = 1; i <= last; ++i) {
    uint64_t bytes = record_bytes(i, term);
    if (size > 0 && size + bytes > max_bytes) {
      names.push_back(segment_name(i));
      size = 0;
    }
    size += bytes;
  }
  return names;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

bool contains(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string_view::npos;
}

// Opening `h`'s directory fails with ECORRUPTION whose message holds every one of `texts`.
void require_corrupt_on_open(FileLogHarness& h, const std::vector<std::string>& texts) {
  Result<std::unique_ptr<FileLogStorage>> log = h.try_reopen();
  REQUIRE_FALSE(log.ok());
  INFO(log.status());
  CHECK(log.status().is_corruption());
  for (const std::string& text : texts) CHECK(contains(log.status(), text));
}

// The real file system, except that appends fail while `fail_appends` is set: a full disk.
class FullDiskFileSystem final : public FileSystem {
 public:
  bool fail_appends = false;

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      OpenMode mode) override {
    Result<std::unique_ptr<WritableFile>> file = real_->open_writable(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<WritableFile>(new File(std::move(file).value(), &fail_appends));
  }
  Result<std::unique_ptr<RandomAccessFile>> open_readable(const std::string& path) override {
    return real_->open_readable(path);
  }
  Status truncate_file(const std::string& path, uint64_t size) override {
    return real_->truncate_file(path, size);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return real_->rename(from, to);
  }
  Status remove_file(const std::string& path) override { return real_->remove_file(path); }
  Status create_dir(const std::string& path) override { return real_->create_dir(path); }
  Status remove_dir_all(const std::string& path) override { return real_->remove_dir_all(path); }
  Status sync_dir(const std::string& path) override { return real_->sync_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return real_->list_dir(path);
  }
  bool exists(const std::string& path) override { return real_->exists(path); }
  bool is_dir(const std::string& path) override { return real_->is_dir(path); }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> real, const bool* fail)
        : real_(std::move(real)), fail_(fail) {}
    Status append(std::string_view data) override {
      // Half of the bytes make it, as when the disk fills up in the middle of a write.
      if (!*fail_) return real_->append(data);
      (void)real_->append(data.substr(0, data.size() / 2));
      return Status::IoError("injected: no space left on device");
    }
    Status write_at(uint64_t offset, std::string_view data) override {
      if (!*fail_) return real_->write_at(offset, data);
      (void)real_->write_at(offset, data.substr(0, data.size() / 2));
      return Status::IoError("injected: no space left on device");
    }
    Status sync() override { return real_->sync(); }
    uint64_t size() const override { return real_->size(); }
    Status close() override { return real_->close(); }

   private:
    const std::unique_ptr<WritableFile> real_;
    const bool* const fail_;
  };

  const std::shared_ptr<FileSystem> real_ = PosixFileSystem::instance();
};

constexpr int64_t kEntries = 300;  // About three 4 KiB segments of the harness.

}  // namespace

TEST_CASE("records roll over into segments named after their first index", "[file_log]") {
  FileLogHarness h;
  const std::vector<std::string> expected =
      expected_segments(kEntries, 1, FileLogHarness::kSegmentBytes);
  REQUIRE(expected.size() >= 3);

  SECTION("in one write") { REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok()); }
  SECTION("one entry per write, unsynced") {
    for (int64_t i = 1; i <= kEntries; ++i) {
      LogWrite write = append({entry(i, 1)});
      write.sync = false;
      REQUIRE(h.log().write(write).ok());
    }
  }

  CHECK(segment_names(h.dir()) == expected);
  for (const std::string& name : expected) {
    CHECK(std::filesystem::file_size(h.dir() + "/" + name) <= FileLogHarness::kSegmentBytes);
  }
  check_log(h.log(), 1, kEntries);
  h.reopen();
  CHECK(segment_names(h.dir()) == expected);
  check_log(h.log(), 1, kEntries);
}

TEST_CASE("a record larger than a segment gets a segment of its own", "[file_log]") {
  FileLogHarness h;
  const std::string big(2 * FileLogHarness::kSegmentBytes, 'x');
  REQUIRE(h.log().write(append(entries(1, 3, 1))).ok());
  REQUIRE(h.log().write(append({make_entry(EntryType::kData, LogIndex(4), Term(1), big)})).ok());
  REQUIRE(h.log().write(append({entry(5, 1)})).ok());
  CHECK(segment_names(h.dir()) ==
        std::vector<std::string>{segment_name(1), segment_name(4), segment_name(5)});
  h.reopen();
  CHECK((*h.log().get_entry(LogIndex(4)))->data == big);
  CHECK(h.log().last_log_index() == LogIndex(5));
}

TEST_CASE("truncate_after removes later segments and cuts the one holding the cut", "[file_log]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok());
  const std::vector<std::string> before = segment_names(h.dir());
  REQUIRE(before.size() >= 3);
  Result<FileLogStorage::RecordLocation> cut = h.log().record_location(LogIndex(51));
  REQUIRE(cut.ok());

  REQUIRE(h.log().write(append({}, 50)).ok());
  CHECK(segment_names(h.dir()) == std::vector<std::string>{segment_name(1)});
  CHECK(std::filesystem::file_size(cut->path) == cut->offset);
  h.reopen();
  check_log(h.log(), 1, 50);

  // Appending continues in the cut segment and rolls over again.
  REQUIRE(h.log().write(append(entries(51, kEntries, 2))).ok());
  CHECK(segment_names(h.dir()).size() == before.size());
  h.reopen();
  check_log(h.log(), 1, kEntries);
  CHECK(term_at(h.log(), 50) == Term(1));
  CHECK(term_at(h.log(), 51) == Term(2));

  SECTION("a cut at a segment's first record removes that segment") {
    const std::string second = segment_names(h.dir())[1];
    const int64_t second_first = segment_first(second);
    REQUIRE(h.log().write(append({entry(second_first, 3)}, second_first - 1)).ok());
    CHECK(segment_names(h.dir()) == std::vector<std::string>{segment_name(1), second});
    h.reopen();
    check_log(h.log(), 1, second_first);
    CHECK(term_at(h.log(), second_first) == Term(3));
  }
}

TEST_CASE("truncate_prefix removes whole segments below the kept index and survives reopen",
          "[file_log]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok());
  const std::vector<std::string> before = segment_names(h.dir());
  Result<FileLogStorage::RecordLocation> kept = h.log().record_location(LogIndex(150));
  REQUIRE(kept.ok());
  const std::string kept_name = std::filesystem::path(kept->path).filename().string();

  REQUIRE(h.log().truncate_prefix(LogIndex(150)).ok());
  std::vector<std::string> after = segment_names(h.dir());
  REQUIRE_FALSE(after.empty());
  CHECK(after.front() == kept_name);
  CHECK(after.back() == before.back());
  CHECK(std::filesystem::exists(h.dir() + "/log_meta"));
  check_log(h.log(), 150, kEntries);

  h.reopen();
  check_log(h.log(), 150, kEntries);
  REQUIRE(h.log().write(append({entry(kEntries + 1, 1)})).ok());
  h.reopen();
  check_log(h.log(), 150, kEntries + 1);

  SECTION("past the end, every segment goes and the log continues at the kept index") {
    REQUIRE(h.log().truncate_prefix(LogIndex(1000)).ok());
    CHECK(segment_names(h.dir()).empty());
    h.reopen();
    check_log(h.log(), 1000, 999);
    REQUIRE(h.log().write(append({entry(1000, 2)})).ok());
    CHECK(segment_names(h.dir()) == std::vector<std::string>{segment_name(1000)});
    h.reopen();
    check_log(h.log(), 1000, 1000);
  }
}

TEST_CASE("leftover segments fully below the recorded first index are removed on open",
          "[file_log]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok());
  std::vector<std::string> names = segment_names(h.dir());
  std::vector<std::string> contents;
  for (const std::string& name : names) contents.push_back(read_file(h.dir() + "/" + name));
  // Puts back every segment, as if a crash had lost truncate_prefix's removals.
  auto restore_all = [&] {
    for (size_t i = 0; i < names.size(); ++i) write_file(h.dir() + "/" + names[i], contents[i]);
  };

  SECTION("inside the log") {
    REQUIRE(h.log().truncate_prefix(LogIndex(kEntries - 10)).ok());
    std::vector<std::string> kept = segment_names(h.dir());
    REQUIRE(kept.size() < names.size());
    restore_all();
    h.reopen();
    CHECK(segment_names(h.dir()) == kept);
    check_log(h.log(), kEntries - 10, kEntries);
  }
  SECTION("past the end") {
    REQUIRE(h.log().truncate_prefix(LogIndex(kEntries + 5)).ok());
    restore_all();
    h.reopen();
    CHECK(segment_names(h.dir()).empty());
    check_log(h.log(), kEntries + 5, kEntries + 4);
  }
}

TEST_CASE("an empty last segment left by a crash is removed on open", "[file_log]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, 10, 1))).ok());
  write_file(h.dir() + "/" + segment_name(11), "");
  h.reopen();
  CHECK(segment_names(h.dir()) == std::vector<std::string>{segment_name(1)});
  check_log(h.log(), 1, 10);
}

TEST_CASE("a torn last record is dropped on open at every cut, and appending continues",
          "[file_log][recovery]") {
  FileLogHarness h;
  int64_t last = 0;
  SECTION("the last record follows others in its segment") { last = 20; }
  SECTION("the last record is the first of its segment") {
    last = segment_first(expected_segments(kEntries, 1, FileLogHarness::kSegmentBytes)[1]);
  }
  REQUIRE(h.log().write(append(entries(1, last, 1))).ok());
  Result<FileLogStorage::RecordLocation> torn = h.log().record_location(LogIndex(last));
  REQUIRE(torn.ok());
  const std::string bytes = read_file(torn->path);
  // The segment is preallocated: zeros follow its records.
  REQUIRE(bytes.size() == FileLogHarness::kSegmentBytes);
  REQUIRE(bytes.find_first_not_of('\0', torn->offset + torn->size) == std::string::npos);

  // The file ends at the cut, or zeros follow it, as where the rest never reached the
  // preallocated file.
  for (const bool zeros_follow : {false, true}) {
    for (uint64_t kept = 0; kept < torn->size; ++kept) {
      INFO("kept " << kept << " of the last record's " << torn->size
                   << " bytes, zeros follow: " << zeros_follow);
      const std::string prefix = bytes.substr(0, torn->offset + kept);
      write_file(torn->path,
                 zeros_follow ? prefix + std::string(bytes.size() - prefix.size(), '\0') : prefix);
      h.reopen();
      check_log(h.log(), 1, last - 1);
      REQUIRE(h.log().write(append({entry(last, 2)})).ok());
      h.reopen();
      check_log(h.log(), 1, last);
      CHECK(term_at(h.log(), last) == Term(2));
    }
  }
}

TEST_CASE("a last record that fails its checksum with nothing after it is dropped on open",
          "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, 20, 1))).ok());
  h.corrupt(20);
  h.reopen();
  check_log(h.log(), 1, 19);
}

TEST_CASE("a flipped byte in a record followed by valid records is ECORRUPTION naming the file",
          "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, 20, 1))).ok());
  Result<FileLogStorage::RecordLocation> bad = h.log().record_location(LogIndex(5));
  REQUIRE(bad.ok());

  // Every byte: in the data only the checksum tells, in the header the record may no longer
  // even frame, and either way the valid records after it show it is not a torn write.
  for (uint64_t byte = 0; byte < bad->size; ++byte) {
    INFO("byte " << byte << " of the record");
    flip_byte(bad->path, bad->offset + byte);
    require_corrupt_on_open(h, {bad->path, "offset " + std::to_string(bad->offset)});
    flip_byte(bad->path, bad->offset + byte);
  }
  h.reopen();
  check_log(h.log(), 1, 20);
}

TEST_CASE("damage at the end of a segment that is not the last is ECORRUPTION",
          "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok());
  const std::string first_segment = h.dir() + "/" + segment_name(1);
  // Where its records end; preallocated zeros follow.
  const Result<FileLogStorage::RecordLocation> last_record =
      h.log().record_location(LogIndex(segment_first(segment_names(h.dir())[1]) - 1));
  REQUIRE(last_record.ok());
  const uint64_t size = last_record->offset + last_record->size;
  REQUIRE(size < std::filesystem::file_size(first_segment));

  SECTION("its last record fails its checksum") {
    flip_byte(first_segment, size - 1);
    require_corrupt_on_open(h, {first_segment, "not the last"});
  }
  SECTION("its last record is cut short") {
    std::filesystem::resize_file(first_segment, size - 1);
    require_corrupt_on_open(h, {first_segment, "not the last"});
  }
}

TEST_CASE("a gap or overlap between segments is ECORRUPTION naming both files",
          "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, kEntries, 1))).ok());
  const std::vector<std::string> names = segment_names(h.dir());
  REQUIRE(names.size() >= 3);

  SECTION("a middle segment is missing") {
    std::filesystem::remove(h.dir() + "/" + names[1]);
    require_corrupt_on_open(h, {names[0], names[2], "gap"});
  }
  SECTION("a segment starts with a copy of the previous one's last record") {
    const int64_t second = segment_first(names[1]);
    Result<FileLogStorage::RecordLocation> copied = h.log().record_location(LogIndex(second - 1));
    REQUIRE(copied.ok());
    const std::string record = read_file(copied->path).substr(copied->offset, copied->size);
    write_file(h.dir() + "/" + segment_name(second - 1),
               record + read_file(h.dir() + "/" + names[1]));
    std::filesystem::remove(h.dir() + "/" + names[1]);
    require_corrupt_on_open(h, {names[0], segment_name(second - 1), "overlap"});
  }
  SECTION("a segment is renamed, so its records are not the indexes its name says") {
    const int64_t second = segment_first(names[1]);
    std::filesystem::rename(h.dir() + "/" + names[1], h.dir() + "/" + segment_name(second - 1));
    require_corrupt_on_open(h, {segment_name(second - 1), "belongs to index"});
  }
  SECTION("the first segment is missing") {
    std::filesystem::remove(h.dir() + "/" + names[0]);
    require_corrupt_on_open(h, {names[1], "starts at index"});
  }
}

TEST_CASE("an unparsable meta file is ECORRUPTION naming it", "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, 10, 1))).ok());
  REQUIRE(h.log().truncate_prefix(LogIndex(5)).ok());
  const std::string meta = h.dir() + "/log_meta";

  SECTION("a flipped bit") { flip_byte(meta, 3); }
  SECTION("cut short") { std::filesystem::resize_file(meta, 5); }
  SECTION("far too long") { write_file(meta, std::string(1000, 'm')); }
  require_corrupt_on_open(h, {meta});
}

TEST_CASE("bad options are EINVAL naming the option", "[file_log]") {
  TempDir dir;
  auto open = [&](uint64_t segment_max_bytes) {
    return FileLogStorage::open(PosixFileSystem::instance(), dir.path() + "/log", kGroup,
                                FileLogStorage::Options{.segment_max_bytes = segment_max_bytes});
  };
  for (uint64_t bad :
       {uint64_t{0}, FileLogStorage::kMinSegmentBytes - 1, FileLogStorage::kMaxSegmentBytes + 1}) {
    Result<std::unique_ptr<FileLogStorage>> log = open(bad);
    INFO(bad);
    CHECK(log.status().is_invalid_argument());
    CHECK(contains(log.status(), "segment_max_bytes"));
  }
  CHECK(open(FileLogStorage::kMinSegmentBytes).ok());
  CHECK(open(FileLogStorage::kMaxSegmentBytes).ok());
  CHECK(FileLogStorage::open(PosixFileSystem::instance(), "", kGroup, {})
            .status()
            .is_invalid_argument());
}

TEST_CASE("after a failed write the log refuses changes until reopened, then recovers",
          "[file_log]") {
  TempDir dir;
  auto fs = std::make_shared<FullDiskFileSystem>();
  auto open = [&] {
    Result<std::unique_ptr<FileLogStorage>> log =
        FileLogStorage::open(fs, dir.path() + "/log", kGroup,
                             FileLogStorage::Options{.prepare_in_background = false,
                                                     .preallocate_below_bytes_per_second = 0});
    REQUIRE(log.ok());
    return std::move(log).value();
  };
  std::unique_ptr<FileLogStorage> log = open();
  REQUIRE(log->write(append(entries(1, 10, 1))).ok());

  fs->fail_appends = true;
  Status failed = log->write(append(entries(11, 20, 1)));
  CHECK(failed.is_io_error());
  CHECK(contains(failed, kGroup));
  fs->fail_appends = false;
  // Reads still work; the half-written records were never published.
  check_log(*log, 1, 10);
  Status refused = log->write(append({entry(11, 1)}));
  CHECK(refused.is_io_error());
  CHECK(contains(refused, "no space left"));
  CHECK(log->truncate_prefix(LogIndex(5)).is_io_error());

  // Reopening keeps the whole records the failed write left and cuts the torn one, as after a
  // crash in the middle of it: the old log followed by a prefix of the new entries.
  log.reset();
  log = open();
  const int64_t last = log->last_log_index().value();
  CHECK(last > 10);
  CHECK(last < 20);
  check_log(*log, 1, last);
  REQUIRE(log->write(append(entries(last + 1, 20, 1))).ok());
  check_log(*log, 1, 20);
}

TEST_CASE("the in-memory index keeps about 4 bytes per record and every term", "[file_log]") {
  FileLogHarness h;
  // Terms change every 7 records, and again inside segments after a cut.
  const int64_t n = 3000;
  for (int64_t first = 1; first <= n; first += 7) {
    const int64_t last = std::min(n, first + 6);
    REQUIRE(h.log().write(append(entries(first, last, 1 + first / 7))).ok());
  }
  auto expected_term = [](int64_t index) { return Term(1 + ((index - 1) / 7 * 7 + 1) / 7); };
  for (int64_t i = 1; i <= n; ++i) REQUIRE(term_at(h.log(), i) == expected_term(i));
  // A cut in the middle of a run, then a new term from there.
  REQUIRE(h.log().write(append(entries(1004, 1010, 9999), 1003)).ok());
  for (int64_t i = 1; i <= 1003; ++i) REQUIRE(term_at(h.log(), i) == expected_term(i));
  for (int64_t i = 1004; i <= 1010; ++i) REQUIRE(term_at(h.log(), i) == Term(9999));
  REQUIRE(h.log().write(append(entries(1011, n, 10000))).ok());
  h.reopen();
  for (int64_t i = 1; i <= 1003; ++i) REQUIRE(term_at(h.log(), i) == expected_term(i));
  CHECK(term_at(h.log(), 1010) == Term(9999));
  CHECK(term_at(h.log(), n) == Term(10000));
  // Reopened, the sealed segments hold no spare capacity: 4 bytes per offset plus one run per
  // change of term (these changes are far more frequent than elections).
  const size_t runs = 1003 / 7 + 3;
  CHECK(h.log().index_memory_bytes() <= static_cast<size_t>(n) * 4 + runs * 16 + 4096);
}

// ---- Preallocated segments ----

namespace {

// A log in `log_dir` with the harness's small segments, preallocated or not.
std::unique_ptr<FileLogStorage> open_small_segments(const std::string& log_dir, bool preallocate) {
  Result<std::unique_ptr<FileLogStorage>> log = FileLogStorage::open(
      PosixFileSystem::instance(), log_dir, kGroup,
      FileLogStorage::Options{.segment_max_bytes = FileLogHarness::kSegmentBytes,
                              .preallocate_segments = preallocate,
                              // These segments fill in microseconds: always preallocate.
                              .preallocate_below_bytes_per_second = 0});
  REQUIRE(log.ok());
  return std::move(log).value();
}

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration by) { now_ += by; }

 private:
  TimePoint now_{};
};

// Per segment file of `log_dir`, oldest first: whether it is zero-filled to `segment_bytes`
// (preallocated) rather than holding its records only.
std::vector<bool> preallocated_segments(const std::string& log_dir, uint64_t segment_bytes) {
  std::vector<bool> preallocated;
  for (const std::string& name : segment_names(log_dir)) {
    preallocated.push_back(std::filesystem::file_size(log_dir + "/" + name) == segment_bytes);
  }
  return preallocated;
}

}  // namespace

TEST_CASE("preallocation pauses while segments fill faster than the limit and resumes after",
          "[file_log]") {
  TempDir dir;
  const std::string log_dir = dir.path() + "/log";
  ManualClock clock;
  // 4 KiB segments, 1 MiB/s: a segment filled within 4 ms counts as fast.
  Result<std::unique_ptr<FileLogStorage>> opened = FileLogStorage::open(
      PosixFileSystem::instance(), log_dir, kGroup,
      FileLogStorage::Options{.segment_max_bytes = FileLogHarness::kSegmentBytes,
                              .prepare_in_background = false,
                              .preallocate_below_bytes_per_second = 1 << 20,
                              .clock = &clock});
  REQUIRE(opened.ok());
  std::unique_ptr<FileLogStorage> log = std::move(opened).value();
  // Records of ~45 bytes, 10 per write: about nine writes fill a segment.
  auto write_segments = [&](int64_t& next, int segments, Duration per_write) {
    const size_t before = segment_names(log_dir).size();
    while (segment_names(log_dir).size() < before + static_cast<size_t>(segments)) {
      REQUIRE(log->write(append(entries(next, next + 9, 1))).ok());
      next += 10;
      clock.advance(per_write);
    }
  };
  int64_t next = 1;
  // The clock stands still: every segment fills at once. The first is preallocated (nothing
  // filled before it), the second too (it was decided when the first started); from the third
  // on the zeros are skipped.
  write_segments(next, 4, Duration(0));
  CHECK(preallocated_segments(log_dir, FileLogHarness::kSegmentBytes) ==
        std::vector<bool>{true, true, false, false});
  // Now a second per write: every segment fills slowly. The one started after the first slow
  // segment is still empty (decided while fast); the ones after it are preallocated again.
  write_segments(next, 3, std::chrono::seconds(1));
  CHECK(preallocated_segments(log_dir, FileLogHarness::kSegmentBytes) ==
        std::vector<bool>{true, true, false, false, false, true, true});
  log.reset();
  opened = FileLogStorage::open(
      PosixFileSystem::instance(), log_dir, kGroup,
      FileLogStorage::Options{.segment_max_bytes = FileLogHarness::kSegmentBytes});
  REQUIRE(opened.ok());
  check_log(**opened, 1, next - 1);
}

TEST_CASE("segments are preallocated to their full size; without it they hold their records only",
          "[file_log]") {
  TempDir dir;
  const std::string log_dir = dir.path() + "/log";
  const bool preallocate = GENERATE(true, false);
  INFO("preallocate_segments " << preallocate);
  auto open = [&] { return open_small_segments(log_dir, preallocate); };
  std::unique_ptr<FileLogStorage> log = open();
  for (int64_t i = 1; i <= kEntries; i += 10) {
    REQUIRE(log->write(append(entries(i, i + 9, 1))).ok());
  }
  const std::vector<std::string> names = segment_names(log_dir);
  REQUIRE(names == expected_segments(kEntries, 1, FileLogHarness::kSegmentBytes));
  for (size_t i = 0; i < names.size(); ++i) {
    const int64_t last = i + 1 < names.size() ? segment_first(names[i + 1]) - 1 : kEntries;
    Result<FileLogStorage::RecordLocation> end = log->record_location(LogIndex(last));
    REQUIRE(end.ok());
    INFO(names[i]);
    CHECK(std::filesystem::file_size(log_dir + "/" + names[i]) ==
          (preallocate ? FileLogHarness::kSegmentBytes : end->offset + end->size));
  }
  // Reopened either way, and continued by a storage that preallocates or does not.
  log.reset();
  log = open();
  check_log(*log, 1, kEntries);
  REQUIRE(log->write(append(entries(kEntries + 1, kEntries + 400, 2))).ok());
  log.reset();
  log = open();
  check_log(*log, 1, kEntries + 400);
  if (!preallocate) {
    CHECK_FALSE(
        std::filesystem::exists(log_dir + "/" + std::string(FileLogStorage::kPreparedFileName)));
  }
}

TEST_CASE("a log written without preallocation is continued by one that preallocates",
          "[file_log]") {
  TempDir dir;
  const std::string log_dir = dir.path() + "/log";
  auto open = [&](bool preallocate) { return open_small_segments(log_dir, preallocate); };
  REQUIRE(open(false)->write(append(entries(1, 150, 1))).ok());
  REQUIRE(open(true)->write(append(entries(151, 300, 1))).ok());
  REQUIRE(open(false)->write(append(entries(301, 450, 1))).ok());
  check_log(*open(true), 1, 450);
}

TEST_CASE(
    "a lost sector before valid records of the last segment is a torn tail, and those "
    "records never come back",
    "[file_log][recovery]") {
  FileLogHarness h;
  REQUIRE(h.log().write(append(entries(1, 20, 1))).ok());
  Result<FileLogStorage::RecordLocation> lost = h.log().record_location(LogIndex(15));
  REQUIRE(lost.ok());
  // Records 16-20 reached the disk, 15 did not: the page cache wrote them back out of order
  // and the sync that would have covered them all never returned.
  std::string bytes = read_file(lost->path);
  bytes.replace(lost->offset, lost->size, std::string(lost->size, '\0'));
  write_file(lost->path, bytes);
  h.reopen();
  check_log(h.log(), 1, 14);
  // New records of the same sizes land where the stale 16-20 were; the stale ones after them
  // must not be read as the log's continuation.
  REQUIRE(h.log().write(append(entries(15, 17, 2))).ok());
  h.reopen();
  check_log(h.log(), 1, 17);
  CHECK(term_at(h.log(), 17) == Term(2));
}

TEST_CASE("a leftover of a segment being prepared is removed on open", "[file_log][recovery]") {
  TempDir dir;
  const std::string log_dir = dir.path() + "/log";
  // Without preallocation nothing prepares a new one, so the leftover must be gone.
  REQUIRE(open_small_segments(log_dir, false)->write(append(entries(1, 10, 1))).ok());
  const std::string prepared = log_dir + "/" + std::string(FileLogStorage::kPreparedFileName);
  write_file(prepared, std::string(100, 'x'));  // Half of a preparation a crash cut short.
  std::unique_ptr<FileLogStorage> log = open_small_segments(log_dir, false);
  CHECK_FALSE(std::filesystem::exists(prepared));
  check_log(*log, 1, 10);
  REQUIRE(log->write(append(entries(11, kEntries, 1))).ok());
  check_log(*log, 1, kEntries);
}

TEST_CASE(
    "on a simulated disk every crash leaves a prefix of the log that holds every synced "
    "entry",
    "[file_log][recovery][sim]") {
  int lost_unsynced = 0;
  int kept_unsynced = 0;
  for (uint64_t seed = 0; seed < 120; ++seed) {
    auto fs = std::make_shared<SimFileSystem>(seed);
    std::mt19937_64 rng(seed);
    std::vector<int64_t> terms;  // terms[i - 1]: the term of entry i as last written.
    size_t synced = 0;           // Entries [1, synced] are durable.
    int64_t term = 1;
    for (int round = 0; round < 4; ++round) {
      Result<std::unique_ptr<FileLogStorage>> opened = FileLogStorage::open(
          fs, "log", kGroup,
          // Always preallocated: what the seed replays must not depend on the real clock.
          FileLogStorage::Options{.segment_max_bytes = 2048,
                                  .prepare_in_background = false,
                                  .preallocate_below_bytes_per_second = 0});
      INFO("seed " << seed << " round " << round << ": " << opened.status());
      REQUIRE(opened.ok());
      std::unique_ptr<FileLogStorage> log = std::move(opened).value();
      const auto last = static_cast<size_t>(log->last_log_index().value());
      REQUIRE(last >= synced);
      REQUIRE(last <= terms.size());
      if (round > 0) (last < terms.size() ? lost_unsynced : kept_unsynced) += last > synced;
      for (size_t i = 1; i <= last; ++i) {
        Result<LogEntryPtr> e = log->get_entry(LogIndex(static_cast<int64_t>(i)));
        REQUIRE(e.ok());
        REQUIRE((*e)->id.term == Term(terms[i - 1]));
        REQUIRE((*e)->data == data_for(static_cast<int64_t>(i), terms[i - 1]));
      }
      terms.resize(last);
      synced = last;  // What a crash kept is durable now.

      for (int op = 0; op < 30; ++op) {
        LogWrite write;
        if (!terms.empty() && rng() % 6 == 0) {
          const size_t keep = rng() % terms.size();
          write.truncate_after = LogIndex(static_cast<int64_t>(keep));
          terms.resize(keep);
          synced = std::min(synced, keep);  // A cut is durable when write() returns.
          ++term;
        }
        const size_t n = 1 + rng() % 12;
        const auto first = static_cast<int64_t>(terms.size() + 1);
        write.entries = entries(first, first + static_cast<int64_t>(n) - 1, term);
        write.sync = rng() % 2 == 0;
        REQUIRE(log->write(write).ok());
        terms.insert(terms.end(), n, term);
        if (write.sync) synced = terms.size();
      }
      fs->crash();
    }
  }
  // Crashes both lost and kept unsynced entries.
  CHECK(lost_unsynced > 0);
  CHECK(kept_unsynced > 0);
}
