// The FileSystem contract (raft/storage/file_system.h) checked against PosixFileSystem and
// SimFileSystem alike, then what only the simulated disk does: crashes that lose what was not
// made durable, injected faults, a capacity, and latency charged in virtual time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/sim_scheduler.h"
#include "raft/storage/file_system.h"
#include "raft/storage/sim_file_system.h"
#include "support/temp_dir.h"

using namespace raft;
using namespace std::chrono_literals;
using raft::testing::TempDir;
using OpClass = SimFileSystem::OpClass;
using CrashMode = SimFileSystem::CrashMode;

namespace {

// Each fixture gives a file system and an existing, empty directory `root` on it.
struct PosixFixture {
  TempDir tmp{"pontoon-fs"};
  PosixFileSystem fs;
  std::string root = tmp.path();
};

struct SimFixture {
  SimFixture() { PONTOON_CHECK(fs.create_dir(root).ok()); }
  SimFileSystem fs{1};
  std::string root = "/data";
};

// Writes `data` to `path` (emptying it first) and, if asked, syncs the file.
void write(FileSystem& fs, const std::string& path, std::string_view data, bool sync = false) {
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(path, FileSystem::OpenMode::kTruncate);
  REQUIRE(file.ok());
  REQUIRE((*file)->append(data).ok());
  if (sync) REQUIRE((*file)->sync().ok());
  REQUIRE((*file)->close().ok());
}

std::string read(FileSystem& fs, const std::string& path) {
  Result<std::string> content = read_whole_file(fs, path);
  REQUIRE(content.ok());
  return *content;
}

bool names(const Status& status, const std::string& path) {
  return status.message().find(path) != std::string_view::npos;
}

}  // namespace

// ---- The contract, on both implementations ----

TEMPLATE_TEST_CASE("file system: appended bytes are readable at any offset and counted in size",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "log");
  Result<std::unique_ptr<WritableFile>> file =
      f.fs.open_writable(path, FileSystem::OpenMode::kTruncate);
  REQUIRE(file.ok());
  REQUIRE((*file)->append("hello").ok());
  REQUIRE((*file)->append(" world").ok());
  CHECK((*file)->size() == 11);
  REQUIRE((*file)->sync().ok());

  Result<std::unique_ptr<RandomAccessFile>> reader = f.fs.open_readable(path);
  REQUIRE(reader.ok());
  CHECK(*(*reader)->size() == 11);
  CHECK(*(*reader)->read(0, 100) == "hello world");
  CHECK(*(*reader)->read(6, 5) == "world");
  CHECK((*reader)->read(20, 5)->empty());
  // A reader sees bytes appended after it was opened.
  REQUIRE((*file)->append("!").ok());
  CHECK(*(*reader)->read(0, 100) == "hello world!");
}

TEMPLATE_TEST_CASE("file system: kTruncate empties an existing file and kAppend keeps its bytes",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "file");
  write(f.fs, path, "first");
  {
    Result<std::unique_ptr<WritableFile>> file =
        f.fs.open_writable(path, FileSystem::OpenMode::kAppend);
    REQUIRE(file.ok());
    CHECK((*file)->size() == 5);
    REQUIRE((*file)->append("+more").ok());
  }
  CHECK(read(f.fs, path) == "first+more");
  write(f.fs, path, "new");
  CHECK(read(f.fs, path) == "new");
}

TEMPLATE_TEST_CASE("file system: write_at replaces bytes in place and grows a file past its end",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "segment");
  write(f.fs, path, std::string(8, '0'), /*sync=*/true);
  {
    Result<std::unique_ptr<WritableFile>> file =
        f.fs.open_writable(path, FileSystem::OpenMode::kAppend);
    REQUIRE(file.ok());
    REQUIRE((*file)->write_at(2, "ab").ok());
    CHECK((*file)->size() == 8);
    REQUIRE((*file)->write_at(6, "cdef").ok());  // Two bytes inside, two past the end.
    CHECK((*file)->size() == 10);
    REQUIRE((*file)->write_at(10, "g").ok());  // At the end: an append.
    REQUIRE((*file)->append("h").ok());        // Appends go after what write_at wrote.
    CHECK((*file)->size() == 12);
    REQUIRE((*file)->sync().ok());
  }
  CHECK(read(f.fs, path) == "00ab00cdefgh");
}

TEMPLATE_TEST_CASE(
    "file system: write_at_gathered writes its pieces as one write_at of them "
    "joined",
    "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "segment");
  write(f.fs, path, std::string(1000, '.'), /*sync=*/true);
  // More pieces than one pwritev takes, empty ones among them, running from inside the file
  // past its end.
  std::vector<std::string> owned;
  std::string joined;
  for (int i = 0; i < 700; ++i) {
    owned.push_back(std::string(static_cast<size_t>(i % 5), static_cast<char>('a' + i % 26)));
    joined += owned.back();
  }
  std::vector<std::string_view> pieces(owned.begin(), owned.end());
  {
    Result<std::unique_ptr<WritableFile>> file =
        f.fs.open_writable(path, FileSystem::OpenMode::kAppend);
    REQUIRE(file.ok());
    REQUIRE((*file)->write_at_gathered(600, pieces).ok());
    CHECK((*file)->size() == 600 + joined.size());
    REQUIRE((*file)->write_at_gathered((*file)->size(), {}).ok());  // Nothing to write.
    std::vector<std::string_view> tail = {"", "x", "", "yz"};
    REQUIRE((*file)->write_at_gathered((*file)->size(), tail).ok());  // At the end: appends.
    REQUIRE((*file)->sync().ok());
  }
  CHECK(read(f.fs, path) == std::string(600, '.') + joined + "xyz");
}

TEMPLATE_TEST_CASE("file system: rename replaces its target and leaves no source behind",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string from = join_path(f.root, "from");
  const std::string to = join_path(f.root, "to");
  write(f.fs, from, "new");
  write(f.fs, to, "old");
  REQUIRE(f.fs.rename(from, to).ok());
  CHECK(read(f.fs, to) == "new");
  CHECK_FALSE(f.fs.exists(from));

  Status missing = f.fs.rename(from, to);
  CHECK(missing.is_not_found());
  CHECK(names(missing, from));
  CHECK(read(f.fs, to) == "new");
}

TEMPLATE_TEST_CASE("file system: rename moves a directory with everything in it", "[file_system]",
                   PosixFixture, SimFixture) {
  TestType f;
  const std::string tmp = join_path(f.root, "snapshot.tmp");
  const std::string final_dir = join_path(f.root, "snapshot_1");
  REQUIRE(f.fs.create_dir(tmp).ok());
  write(f.fs, join_path(tmp, "data"), "state");
  REQUIRE(f.fs.rename(tmp, final_dir).ok());
  CHECK_FALSE(f.fs.exists(tmp));
  CHECK(read(f.fs, join_path(final_dir, "data")) == "state");
}

TEMPLATE_TEST_CASE("file system: remove_file removes a file and reports a missing one as ENOENT",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "doomed");
  write(f.fs, path, "x");
  REQUIRE(f.fs.remove_file(path).ok());
  CHECK_FALSE(f.fs.exists(path));
  Status again = f.fs.remove_file(path);
  CHECK(again.is_not_found());
  CHECK(names(again, path));
}

TEMPLATE_TEST_CASE("file system: list_dir names the entries sorted, ENOENT for a missing dir",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  write(f.fs, join_path(f.root, "c"), "");
  write(f.fs, join_path(f.root, "a"), "");
  REQUIRE(f.fs.create_dir(join_path(f.root, "d")).ok());
  write(f.fs, join_path(f.root, "b"), "");
  Result<std::vector<std::string>> listed = f.fs.list_dir(f.root);
  REQUIRE(listed.ok());
  CHECK(*listed == std::vector<std::string>{"a", "b", "c", "d"});
  Result<std::vector<std::string>> missing = f.fs.list_dir(join_path(f.root, "nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().is_not_found());
}

TEMPLATE_TEST_CASE("file system: exists and is_dir tell files, directories and nothing apart",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string file = join_path(f.root, "file");
  const std::string dir = join_path(f.root, "dir");
  write(f.fs, file, "x");
  REQUIRE(f.fs.create_dir(dir).ok());
  REQUIRE(f.fs.create_dir(dir).ok());  // Already there: still OK.
  CHECK(f.fs.exists(file));
  CHECK_FALSE(f.fs.is_dir(file));
  CHECK(f.fs.exists(dir));
  CHECK(f.fs.is_dir(dir));
  CHECK_FALSE(f.fs.exists(join_path(f.root, "none")));
  CHECK_FALSE(f.fs.is_dir(join_path(f.root, "none")));
}

TEMPLATE_TEST_CASE("file system: truncate_file cuts a file to the size given", "[file_system]",
                   PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "segment");
  write(f.fs, path, "0123456789");
  REQUIRE(f.fs.truncate_file(path, 4).ok());
  CHECK(read(f.fs, path) == "0123");
  Status missing = f.fs.truncate_file(join_path(f.root, "none"), 0);
  CHECK(missing.is_not_found());
  CHECK(names(missing, join_path(f.root, "none")));
}

TEMPLATE_TEST_CASE("file system: write_file_atomically replaces content read_whole_file reads",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string path = join_path(f.root, "meta");
  REQUIRE(write_file_atomically(f.fs, path, "v1").ok());
  CHECK(read(f.fs, path) == "v1");
  REQUIRE(write_file_atomically(f.fs, path, "v2").ok());
  CHECK(read(f.fs, path) == "v2");
  CHECK(*f.fs.list_dir(f.root) == std::vector<std::string>{"meta"});  // No .tmp left.

  Result<std::string> too_long = read_whole_file(f.fs, path, 1);
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().is_invalid_argument());
  Result<std::string> missing = read_whole_file(f.fs, join_path(f.root, "none"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().is_not_found());
}

TEMPLATE_TEST_CASE("file system: a missing file or parent directory is ENOENT naming the path",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string orphan = join_path(f.root, "no-dir/file");
  Result<std::unique_ptr<WritableFile>> writable =
      f.fs.open_writable(orphan, FileSystem::OpenMode::kTruncate);
  REQUIRE_FALSE(writable.ok());
  CHECK(writable.status().is_not_found());
  CHECK(names(writable.status(), orphan));

  Result<std::unique_ptr<RandomAccessFile>> readable =
      f.fs.open_readable(join_path(f.root, "none"));
  REQUIRE_FALSE(readable.ok());
  CHECK(readable.status().is_not_found());
  CHECK(names(readable.status(), join_path(f.root, "none")));

  CHECK(f.fs.create_dir(join_path(f.root, "a/b")).is_not_found());
  CHECK(f.fs.sync_dir(join_path(f.root, "none")).is_not_found());
}

TEMPLATE_TEST_CASE("file system: remove_dir_all removes a tree and accepts a missing one",
                   "[file_system]", PosixFixture, SimFixture) {
  TestType f;
  const std::string dir = join_path(f.root, "tree");
  REQUIRE(f.fs.create_dir(dir).ok());
  REQUIRE(f.fs.create_dir(join_path(dir, "sub")).ok());
  write(f.fs, join_path(dir, "sub/file"), "x");
  REQUIRE(f.fs.remove_dir_all(dir).ok());
  CHECK_FALSE(f.fs.exists(dir));
  CHECK(f.fs.remove_dir_all(dir).ok());
}

TEMPLATE_TEST_CASE("file system: a closed WritableFile refuses appends with EIO", "[file_system]",
                   PosixFixture, SimFixture) {
  TestType f;
  Result<std::unique_ptr<WritableFile>> file =
      f.fs.open_writable(join_path(f.root, "f"), FileSystem::OpenMode::kTruncate);
  REQUIRE(file.ok());
  REQUIRE((*file)->close().ok());
  CHECK((*file)->append("x").is_io_error());
  CHECK((*file)->sync().is_io_error());
}

// ---- SimFileSystem: crashes ----

namespace {

// A disk with "/d" made durably, ready for a test to put files in.
std::unique_ptr<SimFileSystem> disk_with_dir(uint64_t seed, SimFileSystem::Options options = {}) {
  auto fs = std::make_unique<SimFileSystem>(seed, options);
  PONTOON_CHECK(fs->create_dir("/d").ok());
  PONTOON_CHECK(fs->sync_dir("/").ok());
  return fs;
}

}  // namespace

TEST_CASE("sim file system: a crash may lose or tear unsynced appends but never synced bytes",
          "[file_system][sim]") {
  int lost = 0, torn = 0, kept = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    auto fs = disk_with_dir(seed);
    Result<std::unique_ptr<WritableFile>> file =
        fs->open_writable("/d/log", FileSystem::OpenMode::kTruncate);
    REQUIRE(file.ok());
    REQUIRE((*file)->append("durable-").ok());
    REQUIRE((*file)->sync().ok());
    REQUIRE(fs->sync_dir("/d").ok());
    REQUIRE((*file)->append("unsynced").ok());
    fs->crash();
    const std::string after = read(*fs, "/d/log");
    // Durable bytes, then a prefix of what followed.
    REQUIRE(after.size() >= 8);
    REQUIRE(after.size() <= 16);
    REQUIRE(std::string("durable-unsynced").compare(0, after.size(), after) == 0);
    if (after.size() == 8) ++lost;
    if (after.size() == 16) ++kept;
    if (after.size() > 8 && after.size() < 16) ++torn;
  }
  CHECK(lost > 0);
  CHECK(torn > 0);
  CHECK(kept > 0);
}

// A file of `sectors` synced sectors of 'o', opened for overwriting.
std::unique_ptr<WritableFile> synced_sectors(SimFileSystem& fs, const std::string& path,
                                             size_t sectors) {
  write(fs, path, std::string(sectors * kSectorBytes, 'o'), /*sync=*/true);
  REQUIRE(fs.sync_dir(parent_dir(path)).ok());
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(path, FileSystem::OpenMode::kAppend);
  REQUIRE(file.ok());
  return std::move(file).value();
}

TEST_CASE(
    "sim file system: a crash leaves each sector of unsynced overwrites as it was at one "
    "moment since the sync",
    "[file_system][sim]") {
  // Two writes over three sectors: [100, 700) covers parts of sectors 0 and 1, [900, 1400) the
  // rest of sector 1 and part of 2. Every piece of a write within one sector is old or new whole,
  // and sector 1 never holds the second write without the first.
  struct Piece {
    size_t from, to;
  };
  const std::vector<Piece> pieces = {{100, 512}, {512, 700}, {900, 1024}, {1024, 1400}};
  std::vector<int> kept_new(pieces.size(), 0);
  std::vector<int> undone(pieces.size(), 0);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto fs = disk_with_dir(seed);
    std::unique_ptr<WritableFile> file = synced_sectors(*fs, "/d/f", 3);
    REQUIRE(file->write_at(100, std::string(600, 'a')).ok());
    REQUIRE(file->write_at(900, std::string(500, 'b')).ok());
    fs->crash();
    std::string after = read(*fs, "/d/f");
    REQUIRE(after.size() == 3 * kSectorBytes);
    std::string expected_untouched = std::string(3 * kSectorBytes, 'o');
    for (size_t i = 0; i < pieces.size(); ++i) {
      const std::string piece = after.substr(pieces[i].from, pieces[i].to - pieces[i].from);
      const char written = pieces[i].from < 900 ? 'a' : 'b';
      const bool is_new = piece == std::string(piece.size(), written);
      const bool is_old = piece == std::string(piece.size(), 'o');
      INFO("seed " << seed << " piece " << i);
      REQUIRE((is_new || is_old));
      kept_new[i] += is_new;
      undone[i] += is_old;
      std::fill(expected_untouched.begin() + static_cast<std::ptrdiff_t>(pieces[i].from),
                expected_untouched.begin() + static_cast<std::ptrdiff_t>(pieces[i].to), '_');
    }
    if (after[900] == 'b') REQUIRE(after[600] == 'a');
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::fill(after.begin() + static_cast<std::ptrdiff_t>(pieces[i].from),
                after.begin() + static_cast<std::ptrdiff_t>(pieces[i].to), '_');
    }
    REQUIRE(after == expected_untouched);  // Bytes no write touched are as they were.
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    CHECK(kept_new[i] > 0);
    CHECK(undone[i] > 0);
  }
}

TEST_CASE("sim file system: an overwrite is durable once synced, and undone by a crash before",
          "[file_system][sim]") {
  auto fs = disk_with_dir(9);
  std::unique_ptr<WritableFile> file = synced_sectors(*fs, "/d/f", 2);
  REQUIRE(file->write_at(10, "first").ok());
  REQUIRE(file->write_at(600, "second").ok());
  SECTION("a crash before the sync undoes both") {
    fs->crash(CrashMode::kLoseUnsynced);
    CHECK(read(*fs, "/d/f") == std::string(2 * kSectorBytes, 'o'));
  }
  SECTION("after the sync both stay, and a later overwrite of the same bytes can be undone") {
    REQUIRE(file->sync().ok());
    REQUIRE(file->write_at(10, "FIRST").ok());
    fs->crash(CrashMode::kLoseUnsynced);
    std::string expected(2 * kSectorBytes, 'o');
    expected.replace(10, 5, "first");
    expected.replace(600, 6, "second");
    CHECK(read(*fs, "/d/f") == expected);
  }
  SECTION("a truncation makes what it keeps durable") {
    REQUIRE(fs->truncate_file("/d/f", 700).ok());
    fs->crash(CrashMode::kLoseUnsynced);
    std::string expected(700, 'o');
    expected.replace(10, 5, "first");
    expected.replace(600, 6, "second");
    CHECK(read(*fs, "/d/f") == expected);
  }
}

TEST_CASE("sim file system: the bytes a crash keeps are durable for the next crash",
          "[file_system][sim]") {
  auto fs = disk_with_dir(5);
  write(*fs, "/d/log", "", /*sync=*/true);
  REQUIRE(fs->sync_dir("/d").ok());
  {
    Result<std::unique_ptr<WritableFile>> file =
        fs->open_writable("/d/log", FileSystem::OpenMode::kAppend);
    REQUIRE(file.ok());
    REQUIRE((*file)->append("some bytes that may survive").ok());
  }
  fs->crash();
  const std::string first = read(*fs, "/d/log");
  fs->crash(CrashMode::kLoseUnsynced);
  CHECK(read(*fs, "/d/log") == first);
}

TEST_CASE("sim file system: a synced file whose directory was not synced can vanish",
          "[file_system][sim]") {
  int vanished = 0, survived = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto fs = disk_with_dir(seed);
    write(*fs, "/d/file", "content", /*sync=*/true);
    fs->crash();
    if (fs->exists("/d/file")) {
      ++survived;
      CHECK(read(*fs, "/d/file") == "content");
    } else {
      ++vanished;
    }
  }
  CHECK(vanished > 0);
  CHECK(survived > 0);

  auto worst = disk_with_dir(1);
  write(*worst, "/d/file", "content", /*sync=*/true);
  worst->crash(CrashMode::kLoseUnsynced);
  CHECK_FALSE(worst->exists("/d/file"));
}

TEST_CASE("sim file system: a synced file survives every crash once its directory is synced",
          "[file_system][sim]") {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto fs = disk_with_dir(seed);
    write(*fs, "/d/file", "content", /*sync=*/true);
    REQUIRE(fs->sync_dir("/d").ok());
    fs->crash();
    REQUIRE(fs->exists("/d/file"));
    REQUIRE(read(*fs, "/d/file") == "content");
  }
}

TEST_CASE("sim file system: a directory whose parent was not synced vanishes with its files",
          "[file_system][sim]") {
  auto fs = disk_with_dir(1);
  REQUIRE(fs->create_dir("/d/sub").ok());
  write(*fs, "/d/sub/file", "content", /*sync=*/true);
  REQUIRE(fs->sync_dir("/d/sub").ok());  // The file's name is durable, the directory's is not.
  fs->crash(CrashMode::kLoseUnsynced);
  CHECK_FALSE(fs->exists("/d/sub"));
  CHECK(fs->exists("/d"));
}

TEST_CASE("sim file system: a removal is undone by a crash until its directory is synced",
          "[file_system][sim]") {
  auto fs = disk_with_dir(1);
  write(*fs, "/d/file", "content", /*sync=*/true);
  REQUIRE(fs->sync_dir("/d").ok());
  REQUIRE(fs->remove_file("/d/file").ok());
  fs->crash(CrashMode::kLoseUnsynced);
  CHECK(read(*fs, "/d/file") == "content");

  REQUIRE(fs->remove_file("/d/file").ok());
  REQUIRE(fs->sync_dir("/d").ok());
  fs->crash(CrashMode::kLoseUnsynced);
  CHECK_FALSE(fs->exists("/d/file"));
}

TEST_CASE("sim file system: a directory renamed into place and synced keeps its files",
          "[file_system][sim]") {
  // The snapshot pattern: fill a temporary directory, sync it, rename it, sync the parent.
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto fs = disk_with_dir(seed);
    REQUIRE(fs->create_dir("/d/snapshot.tmp").ok());
    write(*fs, "/d/snapshot.tmp/data", "state", /*sync=*/true);
    REQUIRE(fs->sync_dir("/d/snapshot.tmp").ok());
    REQUIRE(fs->rename("/d/snapshot.tmp", "/d/snapshot_1").ok());
    REQUIRE(fs->sync_dir("/d").ok());
    fs->crash();
    REQUIRE(read(*fs, "/d/snapshot_1/data") == "state");
    REQUIRE_FALSE(fs->exists("/d/snapshot.tmp"));
  }
}

TEST_CASE("sim file system: after a crash a renamed-over target holds the old or the new file",
          "[file_system][sim]") {
  int old_seen = 0, new_seen = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto fs = disk_with_dir(seed);
    write(*fs, "/d/target", "old content", /*sync=*/true);
    REQUIRE(fs->sync_dir("/d").ok());
    write(*fs, "/d/target.tmp", "new", /*sync=*/true);
    REQUIRE(fs->rename("/d/target.tmp", "/d/target").ok());
    fs->crash();
    const std::string after = read(*fs, "/d/target");
    if (after == "old content") {
      ++old_seen;
    } else {
      REQUIRE(after == "new");
      ++new_seen;
      CHECK_FALSE(fs->exists("/d/target.tmp"));  // The move took its source name with it.
    }
  }
  CHECK(old_seen > 0);
  CHECK(new_seen > 0);
}

TEST_CASE(
    "sim file system: write_file_atomically leaves the old or the new content, whatever "
    "fails and wherever the crash falls",
    "[file_system][sim]") {
  int old_seen = 0, new_seen = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    auto fs = disk_with_dir(seed);
    REQUIRE(write_file_atomically(*fs, "/d/meta", "term=1").ok());
    // Every step of the second write may fail, stopping it anywhere before the crash.
    for (OpClass op : {OpClass::kWrite, OpClass::kSync, OpClass::kMetadata}) {
      fs->set_failure_probability(op, 0.25);
    }
    const Status written = write_file_atomically(*fs, "/d/meta", "term=2");
    for (OpClass op : {OpClass::kWrite, OpClass::kSync, OpClass::kMetadata}) {
      fs->set_failure_probability(op, 0);
    }
    fs->crash();
    const std::string after = read(*fs, "/d/meta");
    if (written.ok()) REQUIRE(after == "term=2");  // Returned OK: durable.
    REQUIRE((after == "term=1" || after == "term=2"));
    (after == "term=1" ? old_seen : new_seen)++;
  }
  CHECK(old_seen > 0);
  CHECK(new_seen > 0);
}

TEST_CASE("sim file system: files opened before a crash return EIO and change nothing",
          "[file_system][sim]") {
  auto fs = disk_with_dir(1);
  Result<std::unique_ptr<WritableFile>> writer =
      fs->open_writable("/d/log", FileSystem::OpenMode::kTruncate);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->append("kept").ok());
  REQUIRE((*writer)->sync().ok());
  REQUIRE(fs->sync_dir("/d").ok());
  Result<std::unique_ptr<RandomAccessFile>> reader = fs->open_readable("/d/log");
  REQUIRE(reader.ok());

  fs->crash();
  Status append = (*writer)->append("lost");
  CHECK(append.is_io_error());
  CHECK(names(append, "/d/log"));
  CHECK(append.message().find("crashed") != std::string_view::npos);
  CHECK((*writer)->sync().is_io_error());
  CHECK((*reader)->read(0, 10).status().is_io_error());
  CHECK((*reader)->size().status().is_io_error());
  CHECK((*writer)->close().is_io_error());
  CHECK(read(*fs, "/d/log") == "kept");
  CHECK(fs->stats().crashes == 1);
}

TEST_CASE("sim file system: the same seed replays the same crash", "[file_system][sim]") {
  auto run = [](uint64_t seed) {
    auto fs = disk_with_dir(seed);
    for (int i = 0; i < 10; ++i) {
      const std::string path = "/d/f" + std::to_string(i);
      write(*fs, path, "synced" + std::to_string(i), /*sync=*/i % 2 == 0);
      if (i % 3 == 0) REQUIRE(fs->sync_dir("/d").ok());
    }
    fs->crash();
    Result<std::vector<std::string>> listed = fs->list_dir("/d");
    REQUIRE(listed.ok());
    std::string state;
    for (const std::string& name : *listed) state += name + "=" + read(*fs, "/d/" + name) + ";";
    return state;
  };
  CHECK(run(42) == run(42));
}

// ---- SimFileSystem: faults ----

TEST_CASE("sim file system: fail_next fails the next calls of its class and changes nothing",
          "[file_system][sim]") {
  auto fs = disk_with_dir(1);
  Result<std::unique_ptr<WritableFile>> file =
      fs->open_writable("/d/log", FileSystem::OpenMode::kTruncate);
  REQUIRE(file.ok());
  REQUIRE(fs->sync_dir("/d").ok());

  fs->fail_next(OpClass::kWrite, 2);
  Status failed = (*file)->append("a");
  CHECK(failed.is_io_error());
  CHECK(names(failed, "/d/log"));
  CHECK((*file)->append("b").is_io_error());
  REQUIRE((*file)->append("c").ok());
  CHECK((*file)->size() == 1);

  fs->fail_next(OpClass::kSync);
  CHECK((*file)->sync().is_io_error());

  fs->fail_next(OpClass::kRead);
  Result<std::unique_ptr<RandomAccessFile>> reader = fs->open_readable("/d/log");
  REQUIRE(reader.ok());
  CHECK((*reader)->read(0, 1).status().is_io_error());
  CHECK(*(*reader)->read(0, 1) == "c");

  fs->fail_next(OpClass::kMetadata);
  CHECK(fs->rename("/d/log", "/d/other").is_io_error());
  CHECK(fs->exists("/d/log"));
  CHECK_FALSE(fs->exists("/d/other"));
  CHECK(fs->stats().injected_failures == 5);

  // The failed sync made nothing durable.
  fs->crash(CrashMode::kLoseUnsynced);
  CHECK(read(*fs, "/d/log").empty());
}

TEST_CASE("sim file system: a failure probability fails that share of calls, replayably",
          "[file_system][sim]") {
  auto failures = [](uint64_t seed) {
    SimFileSystem fs(seed);
    fs.set_failure_probability(OpClass::kWrite, 0.5);
    Result<std::unique_ptr<WritableFile>> file =
        fs.open_writable("f", FileSystem::OpenMode::kTruncate);
    REQUIRE(file.ok());
    std::vector<bool> failed;
    for (int i = 0; i < 1000; ++i) failed.push_back(!(*file)->append("x").ok());
    return failed;
  };
  std::vector<bool> first = failures(3);
  const auto count = std::count(first.begin(), first.end(), true);
  CHECK(count > 400);
  CHECK(count < 600);
  CHECK(first == failures(3));

  SimFileSystem fs(1);
  write(fs, "f", "x");
  fs.set_failure_probability(OpClass::kMetadata, 1.0);
  CHECK(fs.open_readable("f").status().is_io_error());
  fs.set_failure_probability(OpClass::kMetadata, 0.0);
  CHECK(fs.open_readable("f").ok());
}

TEST_CASE("sim file system: an append past the capacity is EIO and writes nothing",
          "[file_system][sim]") {
  SimFileSystem::Options options;
  options.capacity_bytes = 10;
  SimFileSystem fs(1, options);
  write(fs, "a", "123456");
  Result<std::unique_ptr<WritableFile>> file = fs.open_writable("b", FileSystem::OpenMode::kAppend);
  REQUIRE(file.ok());
  Status full = (*file)->append("12345");
  CHECK(full.is_io_error());
  CHECK(full.message().find("no space left on device") != std::string_view::npos);
  CHECK(names(full, "b"));
  CHECK((*file)->size() == 0);
  REQUIRE((*file)->append("1234").ok());
  CHECK(fs.used_bytes() == 10);
  // Removing a file frees its bytes.
  REQUIRE(fs.remove_file("a").ok());
  CHECK((*file)->append("12345").ok());
}

// ---- SimFileSystem: latency in virtual time ----

TEST_CASE("sim file system: a sync's latency delays the posting task's messages in virtual time",
          "[file_system][sim]") {
  auto scheduler = std::make_shared<SimScheduler>(1);
  SimFileSystem fs(1, SimFileSystem::Options().with_latency(OpClass::kSync, 5ms), scheduler);
  std::shared_ptr<Executor> disk = scheduler->make_executor("disk");
  std::shared_ptr<Executor> node = scheduler->make_executor("node");
  const TimePoint start = scheduler->now();
  std::optional<Duration> completed_at;
  disk->post([&] {
    Result<std::unique_ptr<WritableFile>> file =
        fs.open_writable("log", FileSystem::OpenMode::kTruncate);
    REQUIRE(file.ok());
    REQUIRE((*file)->append("entry").ok());
    REQUIRE((*file)->sync().ok());
    node->post([&] { completed_at = scheduler->now() - start; });
  });
  while (scheduler->run_one()) {
  }
  REQUIRE(completed_at.has_value());
  CHECK(*completed_at == 5ms);
  CHECK(fs.stats().file_syncs == 1);
  CHECK(fs.stats().bytes_appended == 5);
}

TEST_CASE("sim file system: latencies of one task's operations add up, with jitter in bounds",
          "[file_system][sim]") {
  auto scheduler = std::make_shared<SimScheduler>(1);
  SimFileSystem::Options options;
  options.with_latency(OpClass::kWrite, 1ms).with_latency(OpClass::kSync, 5ms);
  options.latency_jitter = 1ms;
  SimFileSystem fs(1, options, scheduler);
  std::shared_ptr<Executor> disk = scheduler->make_executor("disk");
  const TimePoint start = scheduler->now();
  std::optional<Duration> done_at;
  disk->post([&] {
    Result<std::unique_ptr<WritableFile>> file =
        fs.open_writable("log", FileSystem::OpenMode::kTruncate);  // Metadata: no latency set.
    REQUIRE(file.ok());
    REQUIRE((*file)->append("a").ok());
    REQUIRE((*file)->append("b").ok());
    REQUIRE((*file)->sync().ok());
    disk->post([&] { done_at = scheduler->now() - start; });
  });
  while (scheduler->run_one()) {
  }
  REQUIRE(done_at.has_value());
  CHECK(*done_at >= 7ms);
  CHECK(*done_at <= 10ms);
}

TEST_CASE("sim file system: called outside a simulation task, operations take no time",
          "[file_system][sim]") {
  auto scheduler = std::make_shared<SimScheduler>(1);
  SimFileSystem fs(1, SimFileSystem::Options().with_latency(OpClass::kSync, 5ms), scheduler);
  const TimePoint start = scheduler->now();
  write(fs, "f", "x", /*sync=*/true);
  CHECK(scheduler->now() == start);
}

TEST_CASE("sim file system: a crash before a sync's latency has passed may lose what it synced",
          "[file_system][sim]") {
  // The fsync "runs" for 5 ms of virtual time: a crash inside that window is a crash during
  // the fsync, so the bytes and a rename it covers are not yet durable.
  bool lost_data = false;
  bool lost_rename = false;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto scheduler = std::make_shared<SimScheduler>(seed);
    SimFileSystem fs(seed, SimFileSystem::Options().with_latency(OpClass::kSync, 5ms), scheduler);
    write(fs, "old", "x", /*sync=*/true);
    REQUIRE(fs.sync_dir(".").ok());
    std::shared_ptr<Executor> disk = scheduler->make_executor("disk");
    bool synced = false;
    disk->post([&] {
      Result<std::unique_ptr<WritableFile>> file =
          fs.open_writable("old", FileSystem::OpenMode::kAppend);
      REQUIRE(file.ok());
      REQUIRE((*file)->append("yz").ok());
      REQUIRE((*file)->sync().ok());
      REQUIRE(fs.rename("old", "new").ok());
      REQUIRE(fs.sync_dir(".").ok());
      disk->post([&] { synced = true; });
    });
    REQUIRE(scheduler->run_one());  // The task ran; its sync completes 5 ms later.
    REQUIRE_FALSE(synced);
    scheduler->run_for(2ms);
    fs.crash(CrashMode::kLoseUnsynced);
    const std::string name = fs.exists("new") ? "new" : "old";
    lost_rename |= name == "old";
    Result<std::string> content = read_whole_file(fs, name);
    REQUIRE(content.ok());
    CHECK((*content == "x" || *content == "xyz"));
    lost_data |= *content == "x";
  }
  CHECK(lost_data);
  CHECK(lost_rename);
}

TEST_CASE("sim file system: once a sync's latency has passed, a crash keeps what it synced",
          "[file_system][sim]") {
  auto scheduler = std::make_shared<SimScheduler>(3);
  SimFileSystem fs(3, SimFileSystem::Options().with_latency(OpClass::kSync, 5ms), scheduler);
  std::shared_ptr<Executor> disk = scheduler->make_executor("disk");
  disk->post([&] {
    write(fs, "f", "abc", /*sync=*/true);
    REQUIRE(fs.sync_dir(".").ok());
  });
  REQUIRE(scheduler->run_one());
  scheduler->run_for(20ms);
  fs.crash(CrashMode::kLoseUnsynced);
  Result<std::string> content = read_whole_file(fs, "f");
  REQUIRE(content.ok());
  CHECK(*content == "abc");
}
