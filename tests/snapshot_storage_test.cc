// LocalSnapshotStorage (raft/storage/local_snapshot_storage.h): publishing, verifying and
// cleaning up snapshot directories on PosixFileSystem, and the meta file format of
// docs/snapshots.md. Crash tests on the simulated disk live with SimFileSystem.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "raft/configuration.h"
#include "raft/snapshot.h"
#include "raft/storage/crc32c.h"
#include "raft/storage/file_system.h"
#include "raft/storage/local_snapshot_storage.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"

using namespace raft;
using raft::testing::read_bytes;
using raft::testing::TempDir;
using raft::testing::write_bytes;

namespace {

constexpr const char* kMetaName = "__raft_snapshot_meta";

// Overwrites one byte in place (same inode), as a disk error would.
void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(c ^ 0x40));
  REQUIRE(file.good());
}

Configuration three_voters() {
  Result<Configuration> conf = Configuration::parse("127.0.0.1:8100,127.0.0.1:8101,127.0.0.1:8102");
  REQUIRE(conf.ok());
  return *conf;
}

SnapshotMeta meta_at(int64_t index, int64_t term = 2) {
  return SnapshotMeta{LogId{LogIndex(index), Term(term)}, three_voters(), {}};
}

std::unique_ptr<LocalSnapshotStorage> open_storage(const std::string& dir) {
  Result<std::unique_ptr<LocalSnapshotStorage>> storage =
      LocalSnapshotStorage::open(PosixFileSystem::instance(), dir);
  REQUIRE(storage.ok());
  return std::move(storage).value();
}

std::unique_ptr<SnapshotWriter> new_writer(SnapshotStorage& storage) {
  Result<std::unique_ptr<SnapshotWriter>> writer = storage.create_writer();
  REQUIRE(writer.ok());
  return std::move(writer).value();
}

std::unique_ptr<SnapshotReader> latest(SnapshotStorage& storage) {
  Result<std::unique_ptr<SnapshotReader>> reader = storage.open_latest();
  INFO(reader.status().to_string());
  REQUIRE(reader.ok());
  return std::move(reader).value();
}

bool mentions(const Status& s, const std::string& what) {
  return s.message().find(what) != std::string_view::npos;
}

// A snapshot storage in a fresh directory.
struct Harness {
  TempDir temp{"pontoon-snapshot"};
  std::string dir = temp.path() + "/snapshots";
  std::unique_ptr<LocalSnapshotStorage> storage = open_storage(dir);

  // Publishes a snapshot at `index` holding file "data" = `content`.
  void publish(int64_t index, const std::string& content) {
    auto writer = new_writer(*storage);
    REQUIRE(writer->write_file("data", content).ok());
    Status s = storage->publish(std::move(writer), meta_at(index));
    INFO(s.to_string());
    REQUIRE(s.ok());
  }

  std::string snapshot_dir(int64_t index) const {
    return dir + "/" + LocalSnapshotStorage::snapshot_dir_name(LogIndex(index));
  }
  std::string meta_path(int64_t index) const { return snapshot_dir(index) + "/" + kMetaName; }
  void reopen() {
    storage.reset();
    storage = open_storage(dir);
  }
};

// PosixFileSystem, counting the files opened for reading: what publish reads back.
class CountingFileSystem final : public FileSystem {
 public:
  std::vector<std::string> opened_for_reading;

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      OpenMode mode) override {
    return posix_->open_writable(path, mode);
  }
  Result<std::unique_ptr<RandomAccessFile>> open_readable(const std::string& path) override {
    opened_for_reading.push_back(path);
    return posix_->open_readable(path);
  }
  Status truncate_file(const std::string& path, uint64_t size) override {
    return posix_->truncate_file(path, size);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return posix_->rename(from, to);
  }
  Status remove_file(const std::string& path) override { return posix_->remove_file(path); }
  Status create_dir(const std::string& path) override { return posix_->create_dir(path); }
  Status remove_dir_all(const std::string& path) override { return posix_->remove_dir_all(path); }
  Status sync_dir(const std::string& path) override { return posix_->sync_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return posix_->list_dir(path);
  }
  bool exists(const std::string& path) override { return posix_->exists(path); }
  bool is_dir(const std::string& path) override { return posix_->is_dir(path); }

 private:
  const std::shared_ptr<FileSystem> posix_ = PosixFileSystem::instance();
};

void put_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The meta file of docs/snapshots.md, built field by field, independently of the codec, with
// knobs for every malformation.
struct MetaImage {
  struct File {
    std::string name;
    uint64_t size;
    uint32_t crc;
  };
  std::string magic = "PNTS";
  uint8_t version = 1;
  int64_t index = 7;
  int64_t term = 2;
  std::string conf = three_voters().to_string();
  int64_t conf_size = -1;  // -1: the real size.
  std::vector<File> files;
  int64_t file_count = -1;  // -1: the real count.
  std::string trailing;     // Bytes between the last entry and the checksum.
  bool bad_crc = false;

  std::string bytes() const {
    std::string out = magic;
    out.push_back(static_cast<char>(version));
    put_le(&out, static_cast<uint64_t>(index), 8);
    put_le(&out, static_cast<uint64_t>(term), 8);
    put_le(&out, conf_size < 0 ? conf.size() : static_cast<uint64_t>(conf_size), 4);
    out += conf;
    put_le(&out, file_count < 0 ? files.size() : static_cast<uint64_t>(file_count), 4);
    for (const File& f : files) {
      put_le(&out, f.name.size(), 2);
      out += f.name;
      put_le(&out, f.size, 8);
      put_le(&out, f.crc, 4);
    }
    out += trailing;
    put_le(&out, crc32c::value(out) ^ (bad_crc ? 1u : 0u), 4);
    return out;
  }
};

}  // namespace

TEST_CASE("an empty snapshot storage has no snapshot", "[snapshot_storage]") {
  Harness h;
  CHECK(std::filesystem::is_directory(h.dir));
  CHECK(h.storage->open_latest().status().is_not_found());
  CHECK(h.storage->latest_meta().status().is_not_found());
}

TEST_CASE("a published snapshot round-trips its meta, files and contents", "[snapshot_storage]") {
  Harness h;
  auto writer = new_writer(*h.storage);
  REQUIRE(writer->write_file("state", "hello snapshot").ok());
  REQUIRE(writer->append_file("log", "part one, ").ok());
  REQUIRE(writer->append_file("log", "part two").ok());
  REQUIRE(writer->write_file("empty", "").ok());
  CHECK(writer->files() == std::vector<std::string>{"empty", "log", "state"});
  REQUIRE(h.storage->publish(std::move(writer), meta_at(42, 5)).ok());

  auto reader = latest(*h.storage);
  CHECK(reader->path() == h.snapshot_dir(42));
  CHECK(reader->meta().last_included == LogId{LogIndex(42), Term(5)});
  CHECK(reader->meta().conf == three_voters());
  REQUIRE(reader->files().size() == 3);
  CHECK(reader->files()[0].name == "empty");
  CHECK(reader->files()[0].size == 0);
  CHECK(reader->files()[1].name == "log");
  CHECK(reader->files()[1].size == 18);
  CHECK(reader->files()[1].crc32c == crc32c::value("part one, part two"));
  CHECK(reader->files()[2].name == "state");
  CHECK(reader->files()[2].crc32c == crc32c::value("hello snapshot"));

  CHECK(*reader->read_file("state") == "hello snapshot");
  CHECK(*reader->read_file("log") == "part one, part two");
  CHECK(*reader->read_file("empty") == "");
  CHECK(*reader->read_chunk("state", 6, 4) == "snap");
  CHECK(*reader->read_chunk("state", 6, 100) == "snapshot");
  CHECK(*reader->read_chunk("state", 100, 4) == "");
  CHECK(reader->read_file("missing").status().is_not_found());
  CHECK(reader->read_chunk("missing", 0, 1).status().is_not_found());

  Result<SnapshotMeta> meta = h.storage->latest_meta();
  REQUIRE(meta.ok());
  CHECK(meta->last_included == LogId{LogIndex(42), Term(5)});
  CHECK(meta->conf == three_voters());
  CHECK_FALSE(std::filesystem::exists(h.dir + "/temp"));
}

TEST_CASE("the meta file has the documented layout", "[snapshot_storage]") {
  Harness h;
  auto writer = new_writer(*h.storage);
  REQUIRE(writer->write_file("b", "bee").ok());
  REQUIRE(writer->write_file("a", "ay").ok());
  REQUIRE(h.storage->publish(std::move(writer), meta_at(7, 2)).ok());
  MetaImage image;
  image.files = {{"a", 2, crc32c::value("ay")}, {"b", 3, crc32c::value("bee")}};
  CHECK(read_bytes(h.meta_path(7)) == image.bytes());
}

TEST_CASE("a newer snapshot replaces the latest and removes its directory", "[snapshot_storage]") {
  Harness h;
  h.publish(10, "first");
  h.publish(20, "second");
  auto reader = latest(*h.storage);
  CHECK(reader->meta().last_included.index == LogIndex(20));
  CHECK(*reader->read_file("data") == "second");
  CHECK_FALSE(std::filesystem::exists(h.snapshot_dir(10)));
  CHECK(std::filesystem::exists(h.snapshot_dir(20)));
}

TEST_CASE("a snapshot not newer than the latest is EINVAL and changes nothing",
          "[snapshot_storage]") {
  Harness h;
  h.publish(10, "kept");
  for (int64_t index : {10, 9, 1}) {
    auto writer = new_writer(*h.storage);
    REQUIRE(writer->write_file("data", "rejected").ok());
    Status s = h.storage->publish(std::move(writer), meta_at(index));
    INFO(index);
    CHECK(s.is_invalid_argument());
  }
  auto reader = latest(*h.storage);
  CHECK(reader->meta().last_included.index == LogIndex(10));
  CHECK(*reader->read_file("data") == "kept");
  h.reopen();
  CHECK(*latest(*h.storage)->read_file("data") == "kept");
}

TEST_CASE("a snapshot with index or term 0 or no configuration is EINVAL", "[snapshot_storage]") {
  Harness h;
  SnapshotMeta no_conf = meta_at(5);
  no_conf.conf = Configuration();
  for (const SnapshotMeta& meta : {meta_at(0), meta_at(5, 0), no_conf}) {
    CHECK(h.storage->publish(new_writer(*h.storage), meta).is_invalid_argument());
  }
  CHECK(h.storage->open_latest().status().is_not_found());
}

TEST_CASE("reserved and malformed file names are EINVAL", "[snapshot_storage]") {
  Harness h;
  auto writer = new_writer(*h.storage);
  for (const std::string& name :
       {std::string(), std::string("a/b"), std::string("/abs"), std::string("."), std::string(".."),
        std::string(kMetaName), std::string("nul\0byte", 8), std::string(70000, 'x')}) {
    INFO("name \"" << name << "\"");
    CHECK(writer->write_file(name, "x").is_invalid_argument());
    CHECK(writer->append_file(name, "x").is_invalid_argument());
    CHECK(writer->add_file(name).is_invalid_argument());
  }
  CHECK(writer->files().empty());
}

TEST_CASE("add_file registers a file the state machine wrote under path() itself",
          "[snapshot_storage]") {
  Harness h;
  auto writer = new_writer(*h.storage);
  CHECK(writer->add_file("not-written").is_not_found());
  write_bytes(writer->path() + "/checkpoint.sst", "written by the state machine");
  REQUIRE(writer->add_file("checkpoint.sst").ok());
  // Appending to it must not confuse the checksum with one of the appended bytes only.
  write_bytes(writer->path() + "/grown", "outside, ");
  REQUIRE(writer->add_file("grown").ok());
  REQUIRE(writer->append_file("grown", "then inside").ok());
  REQUIRE(writer->write_file("own", "through the writer").ok());
  // Appending registers a file that was already there, so it too must be checksummed whole.
  write_bytes(writer->path() + "/unregistered", "already there, ");
  REQUIRE(writer->append_file("unregistered", "appended").ok());
  CHECK(writer->files() ==
        std::vector<std::string>{"checkpoint.sst", "grown", "own", "unregistered"});
  REQUIRE(h.storage->publish(std::move(writer), meta_at(3)).ok());

  auto reader = latest(*h.storage);
  REQUIRE(reader->files().size() == 4);
  CHECK(reader->files()[0].size == 28);
  CHECK(reader->files()[0].crc32c == crc32c::value("written by the state machine"));
  CHECK(*reader->read_file("grown") == "outside, then inside");
  CHECK(reader->files()[1].crc32c == crc32c::value("outside, then inside"));
  CHECK(*reader->read_file("own") == "through the writer");
  CHECK(*reader->read_file("unregistered") == "already there, appended");
}

TEST_CASE("publish reads back only the files whose content the writer did not see",
          "[snapshot_storage]") {
  TempDir temp;
  auto fs = std::make_shared<CountingFileSystem>();
  Result<std::unique_ptr<LocalSnapshotStorage>> storage =
      LocalSnapshotStorage::open(fs, temp.path() + "/snapshots");
  REQUIRE(storage.ok());
  auto writer = new_writer(**storage);
  REQUIRE(writer->write_file("written", "through the writer").ok());
  REQUIRE(writer->append_file("appended", "in ").ok());
  REQUIRE(writer->append_file("appended", "pieces").ok());
  write_bytes(writer->path() + "/added", "by the state machine");
  REQUIRE(writer->add_file("added").ok());
  write_bytes(writer->path() + "/pre-existing", "already there, ");
  REQUIRE(writer->append_file("pre-existing", "appended").ok());
  const std::string temp_dir = writer->path();
  REQUIRE((*storage)->publish(std::move(writer), meta_at(1)).ok());
  CHECK(fs->opened_for_reading ==
        std::vector<std::string>{temp_dir + "/added", temp_dir + "/pre-existing"});

  auto reader = latest(**storage);
  REQUIRE(reader->files().size() == 4);
  CHECK(reader->files()[1].crc32c == crc32c::value("in pieces"));
  CHECK(reader->files()[2].crc32c == crc32c::value("already there, appended"));
  CHECK(reader->files()[3].crc32c == crc32c::value("through the writer"));
}

TEST_CASE("a file under path() that was not registered fails the publish", "[snapshot_storage]") {
  Harness h;
  h.publish(1, "previous");
  auto writer = new_writer(*h.storage);
  REQUIRE(writer->write_file("registered", "yes").ok());
  write_bytes(writer->path() + "/stray", "never added");
  Status s = h.storage->publish(std::move(writer), meta_at(2));
  CHECK(s.is_invalid_argument());
  CHECK(mentions(s, "stray"));
  auto reader = latest(*h.storage);
  CHECK(reader->meta().last_included.index == LogIndex(1));
  CHECK_FALSE(std::filesystem::exists(h.snapshot_dir(2)));
}

TEST_CASE("a writer superseded by create_writer can neither write nor be published",
          "[snapshot_storage]") {
  Harness h;
  auto old_writer = new_writer(*h.storage);
  REQUIRE(old_writer->write_file("data", "old").ok());
  auto writer = new_writer(*h.storage);
  CHECK(old_writer->write_file("data", "late").is_invalid_argument());
  CHECK(h.storage->publish(std::move(old_writer), meta_at(5)).is_invalid_argument());
  CHECK(h.storage->open_latest().status().is_not_found());
  REQUIRE(writer->write_file("data", "new").ok());
  REQUIRE(h.storage->publish(std::move(writer), meta_at(5)).ok());
  CHECK(*latest(*h.storage)->read_file("data") == "new");
}

TEST_CASE("a writer of another storage is EINVAL", "[snapshot_storage]") {
  Harness a;
  Harness b;
  auto writer = new_writer(*a.storage);
  REQUIRE(writer->write_file("data", "a's").ok());
  CHECK(b.storage->publish(std::move(writer), meta_at(1)).is_invalid_argument());
  CHECK(b.storage->open_latest().status().is_not_found());
}

TEST_CASE("an unpublished writer's files never become visible", "[snapshot_storage]") {
  Harness h;
  h.publish(4, "published");
  {
    auto writer = new_writer(*h.storage);
    REQUIRE(writer->write_file("data", "unpublished").ok());
    REQUIRE(writer->write_file("extra", "unpublished").ok());
    CHECK(*latest(*h.storage)->read_file("data") == "published");
  }
  CHECK(*latest(*h.storage)->read_file("data") == "published");
  h.reopen();
  auto reader = latest(*h.storage);
  CHECK(reader->files().size() == 1);
  CHECK(*reader->read_file("data") == "published");
  CHECK_FALSE(std::filesystem::exists(h.dir + "/temp"));
}

TEST_CASE("reopening keeps the latest snapshot and removes what a crash left behind",
          "[snapshot_storage]") {
  Harness h;
  h.publish(5, "latest");
  h.storage.reset();
  // A crash while writing the next snapshot, and one between an earlier publish's rename and
  // its cleanup.
  std::filesystem::create_directory(h.dir + "/temp");
  write_bytes(h.dir + "/temp/data", "half written");
  for (int64_t older : {2, 3}) {
    std::filesystem::create_directory(h.snapshot_dir(older));
    write_bytes(h.snapshot_dir(older) + "/data", "older");
  }
  write_bytes(h.dir + "/NOTES", "not ours");

  h.storage = open_storage(h.dir);
  CHECK_FALSE(std::filesystem::exists(h.dir + "/temp"));
  CHECK_FALSE(std::filesystem::exists(h.snapshot_dir(2)));
  CHECK_FALSE(std::filesystem::exists(h.snapshot_dir(3)));
  CHECK(std::filesystem::exists(h.dir + "/NOTES"));
  auto reader = latest(*h.storage);
  CHECK(reader->meta().last_included.index == LogIndex(5));
  CHECK(*reader->read_file("data") == "latest");
}

TEST_CASE("a damaged snapshot file is ECORRUPTION naming it", "[snapshot_storage]") {
  Harness h;
  h.publish(9, "0123456789");
  const std::string path = h.snapshot_dir(9) + "/data";

  SECTION("a flipped byte") {
    flip_byte(path, 3);
    Status s = h.storage->open_latest().status();
    CHECK(s.is_corruption());
    CHECK(mentions(s, path));
    CHECK(mentions(s, "fails its checksum"));
  }
  SECTION("a truncation") {
    std::filesystem::resize_file(path, 3);
    Status s = h.storage->open_latest().status();
    CHECK(s.is_corruption());
    CHECK(mentions(s, "snapshot file " + path + " is 3 bytes, meta says 10"));
  }
  SECTION("a missing file") {
    std::filesystem::remove(path);
    Status s = h.storage->open_latest().status();
    CHECK(s.is_corruption());
    CHECK(mentions(s, path));
  }
  SECTION("a file the meta does not list") {
    write_bytes(h.snapshot_dir(9) + "/intruder", "x");
    Status s = h.storage->open_latest().status();
    CHECK(s.is_corruption());
    CHECK(mentions(s, "intruder"));
  }
  // The meta alone is intact.
  CHECK(h.storage->latest_meta().ok());
}

TEST_CASE("read_file verifies the file again", "[snapshot_storage]") {
  Harness h;
  h.publish(9, "0123456789");
  auto reader = latest(*h.storage);
  flip_byte(h.snapshot_dir(9) + "/data", 0);
  Status s = reader->read_file("data").status();
  CHECK(s.is_corruption());
  CHECK(mentions(s, h.snapshot_dir(9) + "/data"));
  // Chunks are raw: the follower verifies the whole file.
  CHECK(reader->read_chunk("data", 1, 3).ok());
}

TEST_CASE("a reader keeps reading its snapshot after a newer publish removed it",
          "[snapshot_storage]") {
  Harness h;
  h.publish(1, "old state");
  auto reader = latest(*h.storage);
  h.publish(2, "new state");
  REQUIRE_FALSE(std::filesystem::exists(h.snapshot_dir(1)));
  CHECK(*reader->read_file("data") == "old state");
  CHECK(*reader->read_chunk("data", 4, 5) == "state");
}

TEST_CASE("a damaged meta file is ECORRUPTION naming it", "[snapshot_storage]") {
  Harness h;
  h.publish(7, "x");
  const std::string path = h.meta_path(7);
  const std::string good = read_bytes(path);
  MetaImage valid;
  valid.files = {{"data", 1, crc32c::value("x")}};
  REQUIRE(good == valid.bytes());

  auto expect = [&](const std::string& bytes, const std::string& why) {
    write_bytes(path, bytes);
    for (const Status& s : {h.storage->latest_meta().status(), h.storage->open_latest().status()}) {
      INFO(s.to_string());
      CHECK(s.is_corruption());
      CHECK(mentions(s, "snapshot meta file " + path));
      CHECK(mentions(s, why));
    }
  };
  MetaImage m = valid;

  SECTION("any flipped byte") {
    for (size_t i = 0; i < good.size(); ++i) {
      std::string damaged = good;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
      INFO("byte " << i);
      expect(damaged, "");
    }
  }
  SECTION("any truncation") {
    for (size_t size = 0; size < good.size(); ++size) expect(good.substr(0, size), "");
  }
  SECTION("a missing meta file") {
    std::filesystem::remove(path);
    expect("", "");  // Rewritten empty: too short.
    std::filesystem::remove(path);
    Status s = h.storage->latest_meta().status();
    CHECK(s.is_corruption());  // Not ENOENT, which would read as "no snapshot".
    CHECK(mentions(s, path));
  }
  SECTION("bad magic") {
    m.magic = "PNTX";
    expect(m.bytes(), "does not start with PNTS");
  }
  SECTION("bad checksum") {
    m.bad_crc = true;
    expect(m.bytes(), "fails its checksum");
  }
  SECTION("unknown version") {
    m.version = 2;
    expect(m.bytes(), "unknown version 2");
  }
  SECTION("negative index") {
    m.index = -7;
    expect(m.bytes(), "holds index -7");
  }
  SECTION("negative term") {
    m.term = -1;
    expect(m.bytes(), "holds term -1");
  }
  SECTION("an index other than its directory's") {
    m.index = 8;
    expect(m.bytes(), "its directory says 7");
  }
  SECTION("a configuration size running past the end") {
    m.conf_size = 100000;
    expect(m.bytes(), "running past the end");
  }
  SECTION("an unparsable configuration") {
    m.conf = "not a peer";
    expect(m.bytes(), "unparsable configuration");
  }
  SECTION("an empty configuration") {
    m.conf = "";
    expect(m.bytes(), "unparsable configuration");
  }
  SECTION("a file count running past the end") {
    m.file_count = 1000;
    expect(m.bytes(), "running past the end");
  }
  SECTION("a file name running past the end") {
    m.files = {};
    m.file_count = 1;
    m.trailing = std::string("\xff\x00", 2) + "data";
    expect(m.bytes(), "running past the end");
  }
  SECTION("trailing bytes") {
    m.trailing = "zz";
    expect(m.bytes(), "2 trailing bytes");
  }
  SECTION("a duplicate file name") {
    m.files.push_back(m.files[0]);
    expect(m.bytes(), "lists file data twice");
  }
  SECTION("a reserved file name") {
    m.files.push_back({kMetaName, 1, 0});
    expect(m.bytes(), "reserved");
  }
  SECTION("a file name with a slash") {
    m.files.push_back({"../escape", 1, 0});
    expect(m.bytes(), "contains '/'");
  }
  SECTION("an empty file name") {
    m.files.push_back({"", 1, 0});
    expect(m.bytes(), "empty");
  }
}

TEST_CASE("arbitrary bytes as a meta file are ECORRUPTION, never a crash", "[snapshot_storage]") {
  Harness h;
  h.publish(7, "x");
  const std::string path = h.meta_path(7);
  const std::string good = read_bytes(path);
  std::mt19937_64 rng(20240607);  // Fixed: a failure reproduces.
  auto random_bytes = [&](size_t n) {
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(rng() & 0xFF);
    return out;
  };

  SECTION("random bytes") {
    for (int i = 0; i < 300; ++i) {
      write_bytes(path, random_bytes(rng() % 200));
      CHECK(h.storage->latest_meta().status().is_corruption());
    }
  }
  SECTION("random bytes after the magic, under a valid checksum") {
    // Past the checksum, so the structural checks see them.
    for (int i = 0; i < 300; ++i) {
      std::string bytes = "PNTS" + random_bytes(rng() % 120);
      put_le(&bytes, crc32c::value(bytes), 4);
      write_bytes(path, bytes);
      CHECK(h.storage->latest_meta().status().is_corruption());
    }
  }
  SECTION("random edits of a valid meta file, under a valid checksum") {
    for (int i = 0; i < 300; ++i) {
      std::string bytes = good.substr(0, good.size() - 4);
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xFF);
      }
      put_le(&bytes, crc32c::value(bytes), 4);
      write_bytes(path, bytes);
      // An edit may happen to leave a valid meta (a different term, say); it must not crash.
      Result<SnapshotMeta> meta = h.storage->latest_meta();
      CHECK((meta.ok() || meta.status().is_corruption()));
    }
  }
}
