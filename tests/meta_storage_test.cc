// RaftMetaStorage (raft/log_storage.h): the durable term and vote of a replica (Raft §5.1,
// Figure 2), checked against the file and the memory implementations.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "raft/peer_id.h"
#include "raft/storage/crc32c.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/memory_meta_storage.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"

using namespace raft;
using raft::testing::read_bytes;
using raft::testing::TempDir;
using raft::testing::write_bytes;

namespace {

const PeerId kPeerA("127.0.0.1", 8100);
const PeerId kPeerB("10.0.0.2", 9000, 3);

std::unique_ptr<FileRaftMetaStorage> open_file(const std::string& path) {
  Result<std::unique_ptr<FileRaftMetaStorage>> meta = FileRaftMetaStorage::open(path);
  REQUIRE(meta.ok());
  return std::move(meta).value();
}

// A meta file in a temporary directory.
class FileHarness {
 public:
  static constexpr bool kPersistent = true;

  FileHarness() : path_(dir_.path() + "/raft_meta") { meta_ = open_file(path_); }
  RaftMetaStorage& meta() { return *meta_; }
  void reopen() { meta_ = open_file(path_); }
  // The next write fails: a directory where the temporary file must be created.
  void fail_next_write() { REQUIRE(::mkdir((path_ + ".tmp").c_str(), 0755) == 0); }
  void allow_writes() { std::filesystem::remove(path_ + ".tmp"); }

 private:
  TempDir dir_;
  std::string path_;
  std::unique_ptr<FileRaftMetaStorage> meta_;
};

class MemoryHarness {
 public:
  static constexpr bool kPersistent = false;

  RaftMetaStorage& meta() { return meta_; }
  void reopen() {}
  void fail_next_write() { meta_.fail_next_write_for_testing(); }
  void allow_writes() {}

 private:
  MemoryRaftMetaStorage meta_;
};

template <typename Harness>
void maybe_reopen(Harness& h) {
  if constexpr (Harness::kPersistent) h.reopen();
}

}  // namespace

TEMPLATE_TEST_CASE("a fresh replica has term 0 and has not voted", "[meta_storage]", FileHarness,
                   MemoryHarness) {
  TestType h;
  CHECK(h.meta().term() == Term(0));
  CHECK(h.meta().voted_for().empty());
}

TEMPLATE_TEST_CASE("term and vote round-trip and survive a restart", "[meta_storage]", FileHarness,
                   MemoryHarness) {
  TestType h;
  REQUIRE(h.meta().set_term_and_voted_for(Term(3), kPeerA).ok());
  CHECK(h.meta().term() == Term(3));
  CHECK(h.meta().voted_for() == kPeerA);
  maybe_reopen(h);
  CHECK(h.meta().term() == Term(3));
  CHECK(h.meta().voted_for() == kPeerA);

  // A higher term clears the vote (Raft §5.1), then a vote is cast in it.
  REQUIRE(h.meta().set_term_and_voted_for(Term(5), PeerId()).ok());
  maybe_reopen(h);
  CHECK(h.meta().term() == Term(5));
  CHECK(h.meta().voted_for().empty());
  REQUIRE(h.meta().set_term_and_voted_for(Term(5), kPeerB).ok());
  // Repeating the same vote is allowed (e.g. a retried RequestVote).
  REQUIRE(h.meta().set_term_and_voted_for(Term(5), kPeerB).ok());
  maybe_reopen(h);
  CHECK(h.meta().term() == Term(5));
  CHECK(h.meta().voted_for() == kPeerB);
  CHECK(h.meta().voted_for().index() == 3);
}

TEMPLATE_TEST_CASE("a failed write leaves the old term and vote", "[meta_storage]", FileHarness,
                   MemoryHarness) {
  TestType h;
  REQUIRE(h.meta().set_term_and_voted_for(Term(2), kPeerA).ok());
  h.fail_next_write();
  Status s = h.meta().set_term_and_voted_for(Term(3), kPeerB);
  CHECK(s.is_io_error());
  CHECK(h.meta().term() == Term(2));
  CHECK(h.meta().voted_for() == kPeerA);
  maybe_reopen(h);
  CHECK(h.meta().term() == Term(2));
  CHECK(h.meta().voted_for() == kPeerA);

  h.allow_writes();
  REQUIRE(h.meta().set_term_and_voted_for(Term(3), kPeerB).ok());
  CHECK(h.meta().term() == Term(3));
  CHECK(h.meta().voted_for() == kPeerB);
}

TEST_CASE("memory meta storage fails exactly the armed write", "[meta_storage]") {
  MemoryRaftMetaStorage meta(Term(4), kPeerA);
  CHECK(meta.term() == Term(4));
  CHECK(meta.voted_for() == kPeerA);
  meta.fail_next_write_for_testing();
  CHECK(meta.set_term_and_voted_for(Term(5), kPeerB).is_io_error());
  CHECK(meta.successful_writes() == 0);
  CHECK(meta.set_term_and_voted_for(Term(5), kPeerB).ok());
  CHECK(meta.successful_writes() == 1);
  CHECK(meta.term() == Term(5));
}

TEST_CASE("the meta file has the documented layout", "[meta_storage]") {
  TempDir dir;
  std::string path = dir.path() + "/meta";
  auto meta = open_file(path);
  REQUIRE(meta->set_term_and_voted_for(Term(0x0102), kPeerA).ok());
  std::string vote = "127.0.0.1:8100";
  std::string expected = "PNTM";
  expected.push_back('\x01');
  expected += std::string("\x02\x01\0\0\0\0\0\0", 8);
  expected.push_back(static_cast<char>(vote.size()));
  expected.push_back('\0');
  expected += vote;
  uint32_t crc = crc32c::value(expected);
  for (int i = 0; i < 4; ++i) expected.push_back(static_cast<char>(crc >> (8 * i)));
  CHECK(read_bytes(path) == expected);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a damaged meta file is ECORRUPTION, never a reset", "[meta_storage]") {
  TempDir dir;
  std::string path = dir.path() + "/meta";
  REQUIRE(open_file(path)->set_term_and_voted_for(Term(7), kPeerB).ok());
  const std::string good = read_bytes(path);
  REQUIRE_FALSE(good.empty());

  auto expect_corruption = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    Result<std::unique_ptr<FileRaftMetaStorage>> meta = FileRaftMetaStorage::open(path);
    REQUIRE_FALSE(meta.ok());
    CHECK(meta.status().is_corruption());
    CHECK(meta.status().message().find(path) != std::string_view::npos);
  };

  SECTION("any flipped bit") {
    for (size_t byte = 0; byte < good.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string damaged = good;
        damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
        INFO("byte " << byte << " bit " << bit);
        expect_corruption(damaged);
      }
    }
  }
  SECTION("any truncation, including an empty file") {
    for (size_t size = 0; size < good.size(); ++size) {
      INFO("kept " << size << " bytes");
      expect_corruption(good.substr(0, size));
    }
  }
  SECTION("trailing garbage") { expect_corruption(good + "x"); }
  SECTION("text that is not a meta file") { expect_corruption("term=7 vote=10.0.0.2:9000\n"); }
  SECTION("a valid checksum over an unparsable vote") {
    std::string bytes = "PNTM";
    bytes.push_back('\x01');
    bytes += std::string("\x07\0\0\0\0\0\0\0", 8);
    std::string vote = "not-a-peer";
    bytes.push_back(static_cast<char>(vote.size()));
    bytes.push_back('\0');
    bytes += vote;
    uint32_t crc = crc32c::value(bytes);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(crc >> (8 * i)));
    expect_corruption(bytes);
  }

  // The original file still loads: nothing above was a reset.
  write_bytes(path, good);
  auto meta = open_file(path);
  CHECK(meta->term() == Term(7));
  CHECK(meta->voted_for() == kPeerB);
}

TEST_CASE("a leftover temporary file is ignored and replaced", "[meta_storage]") {
  TempDir dir;
  std::string path = dir.path() + "/meta";
  REQUIRE(open_file(path)->set_term_and_voted_for(Term(2), kPeerA).ok());
  write_bytes(path + ".tmp", "half-written garbage");  // As if a crash hit mid-update.
  auto meta = open_file(path);
  CHECK(meta->term() == Term(2));
  REQUIRE(meta->set_term_and_voted_for(Term(3), PeerId()).ok());
  CHECK(open_file(path)->term() == Term(3));
}

TEST_CASE("a meta file in a missing directory cannot be written", "[meta_storage]") {
  TempDir dir;
  auto meta = open_file(dir.path() + "/no-such-dir/meta");
  CHECK(meta->term() == Term(0));
  CHECK(meta->set_term_and_voted_for(Term(1), kPeerA).is_io_error());
  CHECK(meta->term() == Term(0));
  CHECK(meta->voted_for().empty());
}
