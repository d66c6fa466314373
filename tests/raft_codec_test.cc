// The protobuf mapping of Raft's RPCs (raft/rpc/raft_codec.h): every message a peer can send
// must decode to the same values or to an error naming what is wrong, never a crash.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "raft.pb.h"
#include "raft/rpc/raft_codec.h"

using namespace raft;
using namespace raft::rpc;

namespace {

AppendEntriesRequest sample_append_entries() {
  AppendEntriesRequest request;
  request.group_id = "region-7";
  request.server_id = PeerId("10.0.0.1", 8100);
  request.peer_id = PeerId("10.0.0.2", 8100, 2);
  request.term = Term(5);
  request.prev_log_id = LogId{LogIndex(10), Term(3)};
  request.committed_index = LogIndex(9);
  request.entries = {
      make_entry(EntryType::kData, LogIndex(11), Term(3), std::string("a\0b", 3)),
      make_entry(EntryType::kConfiguration, LogIndex(12), Term(4), "10.0.0.1:8100,10.0.0.2:8100"),
      make_entry(EntryType::kNoOp, LogIndex(13), Term(5), ""),
  };
  return request;
}

pontoon::raft::AppendEntriesRequest sample_wire() {
  pontoon::raft::AppendEntriesRequest wire;
  REQUIRE(wire.ParseFromString(encode(sample_append_entries())));
  return wire;
}

Status decode_wire(const pontoon::raft::AppendEntriesRequest& wire) {
  AppendEntriesRequest out;
  return decode(wire.SerializeAsString(), &out);
}

// The fields every request starts with survived the trip.
template <typename Request>
void check_same_route(const Request& out, const Request& in) {
  CHECK(out.group_id == in.group_id);
  CHECK(out.server_id == in.server_id);
  CHECK(out.peer_id == in.peer_id);
}

}  // namespace

TEST_CASE("raft messages round-trip through protobuf", "[codec]") {
  RequestVoteRequest vote;
  vote.group_id = "g";
  vote.server_id = PeerId("127.0.0.1", 9000);
  vote.peer_id = PeerId("127.0.0.1", 9001, 1);
  vote.term = Term(8);
  vote.last_log_id = LogId{LogIndex(100), Term(7)};
  vote.pre_vote = true;
  RequestVoteRequest vote_out;
  REQUIRE(decode(encode(vote), &vote_out).ok());
  check_same_route(vote_out, vote);
  CHECK(vote_out.term == vote.term);
  CHECK(vote_out.last_log_id == vote.last_log_id);
  CHECK(vote_out.pre_vote);

  RequestVoteResponse granted{Term(8), true};
  RequestVoteResponse granted_out;
  REQUIRE(decode(encode(granted), &granted_out).ok());
  CHECK(granted_out.term == Term(8));
  CHECK(granted_out.granted);

  const AppendEntriesRequest append = sample_append_entries();
  AppendEntriesRequest append_out;
  REQUIRE(decode(encode(append), &append_out).ok());
  check_same_route(append_out, append);
  CHECK(append_out.term == append.term);
  CHECK(append_out.prev_log_id == append.prev_log_id);
  CHECK(append_out.committed_index == append.committed_index);
  REQUIRE(append_out.entries.size() == append.entries.size());
  for (size_t i = 0; i < append.entries.size(); ++i) {
    CHECK(append_out.entries[i]->type == append.entries[i]->type);
    CHECK(append_out.entries[i]->id == append.entries[i]->id);
    CHECK(append_out.entries[i]->data == append.entries[i]->data);
  }

  AppendEntriesResponse response;
  response.term = Term(5);
  response.success = false;
  response.last_log_index = LogIndex(20);
  response.conflict_term = Term(2);
  response.conflict_index = LogIndex(15);
  AppendEntriesResponse response_out;
  REQUIRE(decode(encode(response), &response_out).ok());
  CHECK(response_out.term == Term(5));
  CHECK_FALSE(response_out.success);
  CHECK(response_out.last_log_index == LogIndex(20));
  CHECK(response_out.conflict_term == Term(2));
  CHECK(response_out.conflict_index == LogIndex(15));
}

TEST_CASE("a heartbeat without entries decodes", "[codec]") {
  AppendEntriesRequest heartbeat = sample_append_entries();
  heartbeat.entries.clear();
  AppendEntriesRequest out;
  REQUIRE(decode(encode(heartbeat), &out).ok());
  CHECK(out.entries.empty());
}

TEST_CASE("a request's entries share one allocation, and any of them outlives the rest",
          "[codec]") {
  const AppendEntriesRequest in = sample_append_entries();
  LogEntryPtr survivor;
  {
    AppendEntriesRequest out;
    REQUIRE(decode(encode(in), &out).ok());
    REQUIRE(out.entries.size() == 3);
    // One owner: the entries alias one block (no owner orders before another).
    for (const LogEntryPtr& entry : out.entries) {
      CHECK_FALSE(entry.owner_before(out.entries[0]));
      CHECK_FALSE(out.entries[0].owner_before(entry));
    }
    CHECK(out.entries[0].use_count() == 3);
    survivor = out.entries[1];
  }
  // The request and the other entries are gone; the block lives on for the one kept.
  CHECK(survivor.use_count() == 1);
  CHECK(survivor->id == LogId{LogIndex(12), Term(4)});
  CHECK(survivor->type == EntryType::kConfiguration);
  CHECK(survivor->data == "10.0.0.1:8100,10.0.0.2:8100");

  // A request refused halfway keeps none of its entries.
  pontoon::raft::AppendEntriesRequest wire = sample_wire();
  wire.mutable_entries(2)->set_index(20);
  AppendEntriesRequest refused;
  REQUIRE_FALSE(decode(wire.SerializeAsString(), &refused).ok());
  CHECK(refused.entries.empty());
}

TEST_CASE("decoding rejects entries with an invalid type", "[codec]") {
  for (uint32_t bad_type : {0u, 4u, 255u, 256u + 1u, 0xffffffffu}) {
    INFO("type " << bad_type);
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_entries(1)->set_type(bad_type);
    Status status = decode_wire(wire);
    CHECK(status.is_invalid_argument());
    CHECK(std::string(status.message()).find("entries[1] has unknown type") != std::string::npos);
  }
}

TEST_CASE("decoding rejects entries that are not contiguous after prev_log_id", "[codec]") {
  SECTION("gap") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_entries(2)->set_index(14);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
  SECTION("first entry does not follow prev_log_id") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_prev_log_id()->set_index(11);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
  SECTION("duplicate index") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_entries(1)->set_index(11);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
  SECTION("term goes backwards") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_entries(2)->set_term(2);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
  SECTION("entry term above the leader's term") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_entries(2)->set_term(6);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
  SECTION("indexes overflow") {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    wire.mutable_prev_log_id()->set_index(INT64_MAX - 1);
    CHECK(decode_wire(wire).is_invalid_argument());
  }
}

TEST_CASE("decoding rejects negative terms and indexes", "[codec]") {
  auto negate = [](auto mutate) {
    pontoon::raft::AppendEntriesRequest wire = sample_wire();
    mutate(wire);
    return decode_wire(wire);
  };
  CHECK(negate([](auto& w) { w.set_term(-1); }).is_invalid_argument());
  CHECK(negate([](auto& w) { w.set_committed_index(-1); }).is_invalid_argument());
  CHECK(negate([](auto& w) { w.mutable_prev_log_id()->set_term(-1); }).is_invalid_argument());
  CHECK(negate([](auto& w) { w.mutable_prev_log_id()->set_index(-3); }).is_invalid_argument());

  pontoon::raft::AppendEntriesResponse response;
  response.set_conflict_index(-1);
  AppendEntriesResponse out;
  CHECK(decode(response.SerializeAsString(), &out).is_invalid_argument());

  pontoon::raft::RequestVoteResponse vote;
  vote.set_term(-5);
  RequestVoteResponse vote_out;
  CHECK(decode(vote.SerializeAsString(), &vote_out).is_invalid_argument());
}

TEST_CASE("decoding rejects bad peer ids and group ids", "[codec]") {
  pontoon::raft::RequestVoteRequest wire;
  wire.set_group_id("g");
  wire.set_server_id("127.0.0.1:9000");
  wire.set_peer_id("127.0.0.1:9001");
  RequestVoteRequest out;
  REQUIRE(decode(wire.SerializeAsString(), &out).ok());

  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:0", "300.0.0.1:80", "h:80", "1.2.3.4:80:-1", "\xff\xfe:80"}) {
    INFO("peer id '" << bad << "'");
    pontoon::raft::RequestVoteRequest bad_peer = wire;
    bad_peer.set_peer_id(bad);
    Status status = decode(bad_peer.SerializeAsString(), &out);
    CHECK(status.is_invalid_argument());
    CHECK(std::string(status.message()).find("peer_id") != std::string::npos);
    pontoon::raft::RequestVoteRequest bad_server = wire;
    bad_server.set_server_id(bad);
    CHECK(decode(bad_server.SerializeAsString(), &out).is_invalid_argument());
  }

  pontoon::raft::RequestVoteRequest no_group = wire;
  no_group.set_group_id("");
  CHECK(decode(no_group.SerializeAsString(), &out).is_invalid_argument());
  pontoon::raft::RequestVoteRequest long_group = wire;
  long_group.set_group_id(std::string(kMaxGroupIdBytes + 1, 'g'));
  CHECK(decode(long_group.SerializeAsString(), &out).is_invalid_argument());
  long_group.set_group_id(std::string(kMaxGroupIdBytes, 'g'));
  CHECK(decode(long_group.SerializeAsString(), &out).ok());
}

// --- Snapshot messages ---------------------------------------------------------------------

namespace {

InstallSnapshotRequest sample_install_snapshot() {
  InstallSnapshotRequest request;
  request.group_id = "region-7";
  request.server_id = PeerId("10.0.0.1", 8100);
  request.peer_id = PeerId("10.0.0.2", 8100, 2);
  request.term = Term(5);
  request.meta.last_included = LogId{LogIndex(1000), Term(4)};
  request.meta.conf = Configuration(
      {PeerId("10.0.0.1", 8100), PeerId("10.0.0.2", 8100, 2), PeerId("10.0.0.3", 8100)});
  request.files = {SnapshotFile{"data", 123456, 0xdeadbeef}, SnapshotFile{"index.1", 0, 0},
                   SnapshotFile{".hidden...", UINT64_MAX, UINT32_MAX}};
  request.reader_id = 0x0123456789abcdefULL;
  return request;
}

GetFileRequest sample_get_file() {
  return GetFileRequest{"region-7", PeerId("10.0.0.2", 8100, 2), PeerId("10.0.0.1", 8100), 7,
                        "data",     uint64_t{1} << 40,           uint64_t{1} << 20};
}

// Encodes `sample`, lets `change` edit its wire form, and decodes that.
template <typename Wire, typename Value>
Status decode_changed(const Value& sample, const std::function<void(Wire&)>& change) {
  Wire wire;
  REQUIRE(wire.ParseFromString(encode(sample)));
  change(wire);
  Value out;
  return decode(wire.SerializeAsString(), &out);
}

// A change to a valid message that must make it EINVAL, with a message naming `field`.
template <typename Wire>
struct Rejection {
  const char* what;
  std::function<void(Wire&)> change;
  const char* field;
};

template <typename Wire, typename Value>
void check_rejected(const Value& sample, const std::vector<Rejection<Wire>>& rejections) {
  for (const Rejection<Wire>& r : rejections) {
    INFO(r.what);
    Status status = decode_changed<Wire>(sample, r.change);
    CHECK(status.is_invalid_argument());
    INFO(status.message());
    CHECK(std::string(status.message()).find(r.field) != std::string::npos);
  }
}

// Names no snapshot file may have, with why.
const std::vector<std::pair<const char*, std::string>>& bad_file_names() {
  static const std::vector<std::pair<const char*, std::string>> names = {
      {"empty", ""},
      {"a path", "dir/data"},
      {"a trailing slash", "data/"},
      {"an absolute path", "/etc/passwd"},
      {"the directory itself", "."},
      {"the parent", ".."},
      {"a NUL byte", std::string("da\0ta", 5)},
      {"longer than a file name", std::string(kMaxSnapshotFileNameBytes + 1, 'n')},
  };
  return names;
}

}  // namespace

TEST_CASE("snapshot messages round-trip through protobuf", "[codec][snapshot]") {
  const InstallSnapshotRequest install = sample_install_snapshot();
  InstallSnapshotRequest install_out;
  REQUIRE(decode(encode(install), &install_out).ok());
  check_same_route(install_out, install);
  CHECK(install_out.term == install.term);
  CHECK(install_out.meta.last_included == install.meta.last_included);
  CHECK(install_out.meta.conf == install.meta.conf);
  REQUIRE(install_out.files.size() == install.files.size());
  for (size_t i = 0; i < install.files.size(); ++i) {
    INFO("file " << i);
    CHECK(install_out.files[i].name == install.files[i].name);
    CHECK(install_out.files[i].size == install.files[i].size);
    CHECK(install_out.files[i].crc32c == install.files[i].crc32c);
  }
  CHECK(install_out.reader_id == install.reader_id);

  InstallSnapshotResponse installed{Term(9), true};
  InstallSnapshotResponse installed_out;
  REQUIRE(decode(encode(installed), &installed_out).ok());
  CHECK(installed_out.term == Term(9));
  CHECK(installed_out.success);

  const GetFileRequest get = sample_get_file();
  GetFileRequest get_out;
  REQUIRE(decode(encode(get), &get_out).ok());
  check_same_route(get_out, get);
  CHECK(get_out.reader_id == get.reader_id);
  CHECK(get_out.file_name == get.file_name);
  CHECK(get_out.offset == get.offset);
  CHECK(get_out.max_bytes == get.max_bytes);

  for (const GetFileResponse& chunk :
       {GetFileResponse{std::string("\0\xff\0chunk\0", 9), true}, GetFileResponse{"", false}}) {
    GetFileResponse chunk_out;
    REQUIRE(decode(encode(chunk), &chunk_out).ok());
    CHECK(chunk_out.data == chunk.data);
    CHECK(chunk_out.eof == chunk.eof);
  }
}

TEST_CASE("a snapshot without files, at the limits, decodes", "[codec][snapshot]") {
  InstallSnapshotRequest install = sample_install_snapshot();
  install.files.clear();
  install.meta.last_included = LogId{};
  InstallSnapshotRequest out;
  REQUIRE(decode(encode(install), &out).ok());
  CHECK(out.files.empty());

  install.files.clear();
  for (size_t i = 0; i < kMaxSnapshotFiles; ++i) {
    install.files.push_back(SnapshotFile{"f" + std::to_string(i), i, 0});
  }
  install.files[0].name = std::string(kMaxSnapshotFileNameBytes, 'n');
  REQUIRE(decode(encode(install), &out).ok());
  CHECK(out.files.size() == kMaxSnapshotFiles);

  GetFileRequest get = sample_get_file();
  get.max_bytes = kMaxGetFileBytes;
  get.offset = static_cast<uint64_t>(INT64_MAX) - kMaxGetFileBytes;
  GetFileRequest get_out;
  CHECK(decode(encode(get), &get_out).ok());
  get.max_bytes = 1;
  get.offset = 0;
  CHECK(decode(encode(get), &get_out).ok());

  GetFileResponse largest{std::string(kMaxGetFileBytes, 'x'), false};
  GetFileResponse largest_out;
  CHECK(decode(encode(largest), &largest_out).ok());
}

TEST_CASE("decoding rejects a malformed InstallSnapshotRequest, naming the field",
          "[codec][snapshot]") {
  using Wire = pontoon::raft::InstallSnapshotRequest;
  std::vector<Rejection<Wire>> rejections = {
      {"no group", [](Wire& w) { w.set_group_id(""); }, "group_id"},
      {"bad leader id", [](Wire& w) { w.set_server_id("10.0.0.1"); }, "server_id"},
      {"bad receiver id", [](Wire& w) { w.set_peer_id("h:80"); }, "peer_id"},
      {"negative term", [](Wire& w) { w.set_term(-1); }, "term"},
      {"negative last index",
       [](Wire& w) { w.mutable_meta()->mutable_last_included()->set_index(-1); },
       "meta.last_included.index"},
      {"negative last term",
       [](Wire& w) { w.mutable_meta()->mutable_last_included()->set_term(-1); },
       "meta.last_included.term"},
      {"last term above the leader's",
       [](Wire& w) { w.mutable_meta()->mutable_last_included()->set_term(6); },
       "meta.last_included.term"},
      {"empty configuration", [](Wire& w) { w.mutable_meta()->set_conf(""); }, "meta.conf"},
      {"no meta at all", [](Wire& w) { w.clear_meta(); }, "meta.conf"},
      {"unparseable configuration", [](Wire& w) { w.mutable_meta()->set_conf("x,y"); },
       "meta.conf"},
      {"duplicate voter",
       [](Wire& w) { w.mutable_meta()->set_conf("10.0.0.1:8100,10.0.0.1:8100"); }, "meta.conf"},
      {"a file twice", [](Wire& w) { w.mutable_files(2)->set_name("data"); },
       "files[2].name repeats"},
      {"too many files",
       [](Wire& w) {
         for (size_t i = 0; i < kMaxSnapshotFiles; ++i)
           w.add_files()->set_name("x" + std::to_string(i));
       },
       "files has"},
  };
  for (const auto& [why, name] : bad_file_names()) {
    rejections.push_back(
        {why, [name = name](Wire& w) { w.mutable_files(1)->set_name(name); }, "files[1].name"});
  }
  check_rejected<Wire>(sample_install_snapshot(), rejections);
}

TEST_CASE("decoding rejects a malformed GetFileRequest, naming the field", "[codec][snapshot]") {
  using Wire = pontoon::raft::GetFileRequest;
  constexpr auto kMaxOffset = static_cast<uint64_t>(INT64_MAX);
  std::vector<Rejection<Wire>> rejections = {
      {"no group", [](Wire& w) { w.set_group_id(""); }, "group_id"},
      {"group too long", [](Wire& w) { w.set_group_id(std::string(kMaxGroupIdBytes + 1, 'g')); },
       "group_id"},
      {"bad requester id", [](Wire& w) { w.set_server_id(""); }, "server_id"},
      {"bad receiver id", [](Wire& w) { w.set_peer_id("1.2.3.4:0"); }, "peer_id"},
      {"nothing asked for", [](Wire& w) { w.set_max_bytes(0); }, "max_bytes"},
      {"too much asked for", [](Wire& w) { w.set_max_bytes(kMaxGetFileBytes + 1); }, "max_bytes"},
      {"max_bytes near 2^64", [](Wire& w) { w.set_max_bytes(UINT64_MAX); }, "max_bytes"},
      {"range past the largest offset",
       [=](Wire& w) {
         w.set_offset(kMaxOffset - 10);
         w.set_max_bytes(11);
       },
       "offset"},
      {"offset near 2^64", [](Wire& w) { w.set_offset(UINT64_MAX); }, "offset"},
  };
  for (const auto& [why, name] : bad_file_names()) {
    rejections.push_back({why, [name = name](Wire& w) { w.set_file_name(name); }, "file_name"});
  }
  check_rejected<Wire>(sample_get_file(), rejections);
}

TEST_CASE("decoding rejects malformed snapshot responses", "[codec][snapshot]") {
  pontoon::raft::InstallSnapshotResponse installed;
  installed.set_term(-2);
  InstallSnapshotResponse installed_out;
  Status negative = decode(installed.SerializeAsString(), &installed_out);
  CHECK(negative.is_invalid_argument());
  CHECK(std::string(negative.message()).find("term") != std::string::npos);

  pontoon::raft::GetFileResponse chunk;
  chunk.set_data(std::string(kMaxGetFileBytes + 1, 'x'));
  GetFileResponse chunk_out;
  Status oversized = decode(chunk.SerializeAsString(), &chunk_out);
  CHECK(oversized.is_invalid_argument());
  CHECK(std::string(oversized.message()).find("data") != std::string::npos);

  CHECK(decode("\xff\xff garbage", &installed_out).is_corruption());
  CHECK(decode("\xff\xff garbage", &chunk_out).is_corruption());
}

TEST_CASE("random bytes decode to an error or a valid message, never a crash", "[codec][fuzz]") {
  std::mt19937_64 rng(77);
  const std::string valid = encode(sample_append_entries());
  int errors = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string bytes;
    if (iteration % 2 == 0) {
      bytes.resize(rng() % 120);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = valid;
      bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
      if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    }
    AppendEntriesRequest append;
    RequestVoteRequest vote;
    AppendEntriesResponse append_response;
    RequestVoteResponse vote_response;
    Status s1 = decode(bytes, &append);
    if (s1.ok()) {
      // Whatever decodes satisfies the documented rules.
      CHECK_FALSE(append.group_id.empty());
      CHECK_FALSE(append.peer_id.empty());
      for (size_t i = 0; i < append.entries.size(); ++i) {
        CHECK(append.entries[i]->id.index ==
              append.prev_log_id.index + static_cast<int64_t>(i + 1));
        CHECK(is_valid_entry_type(static_cast<uint8_t>(append.entries[i]->type)));
      }
    } else {
      ++errors;
      CHECK((s1.is_corruption() || s1.is_invalid_argument()));
    }
    (void)decode(bytes, &vote);
    (void)decode(bytes, &append_response);
    (void)decode(bytes, &vote_response);
  }
  CHECK(errors > 0);
}

TEST_CASE("random bytes decode to an error or a valid snapshot message, never a crash",
          "[codec][snapshot][fuzz]") {
  std::mt19937_64 rng(78);
  const std::string valid_install = encode(sample_install_snapshot());
  const std::string valid_get = encode(sample_get_file());
  int errors = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string bytes = iteration % 2 == 0 ? valid_install : valid_get;
    bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    InstallSnapshotRequest install;
    if (Status s = decode(bytes, &install); s.ok()) {
      // Whatever decodes satisfies the documented rules.
      CHECK_FALSE(install.meta.conf.empty());
      CHECK(install.meta.last_included.term <= install.term);
      for (const SnapshotFile& file : install.files) CHECK(is_valid_snapshot_file_name(file.name));
    } else {
      ++errors;
      CHECK((s.is_corruption() || s.is_invalid_argument()));
    }
    GetFileRequest get;
    if (Status s = decode(bytes, &get); s.ok()) {
      CHECK(is_valid_snapshot_file_name(get.file_name));
      CHECK(get.max_bytes >= 1);
      CHECK(get.max_bytes <= kMaxGetFileBytes);
    } else {
      CHECK((s.is_corruption() || s.is_invalid_argument()));
    }
    InstallSnapshotResponse installed;
    GetFileResponse chunk;
    (void)decode(bytes, &installed);
    (void)decode(bytes, &chunk);
  }
  CHECK(errors > 0);
}

TEST_CASE("TimeoutNow round-trips, and a bad route or term is refused", "[codec][transfer]") {
  const TimeoutNowRequest request{"region-7", PeerId("10.0.0.1", 8100), PeerId("10.0.0.2", 8100, 2),
                                  Term(12)};
  TimeoutNowRequest out;
  REQUIRE(decode(encode(request), &out).ok());
  check_same_route(out, request);
  CHECK(out.term == Term(12));

  TimeoutNowResponse response{Term(13), true};
  TimeoutNowResponse response_out;
  REQUIRE(decode(encode(response), &response_out).ok());
  CHECK(response_out.term == Term(13));
  CHECK(response_out.success);

  TimeoutNowRequest no_group = request;
  no_group.group_id.clear();
  Status s = decode(encode(no_group), &out);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("group_id") != std::string::npos);

  TimeoutNowRequest bad_term = request;
  bad_term.term = Term(-1);
  s = decode(encode(bad_term), &out);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("term") != std::string::npos);

  CHECK(decode(std::string("\xff\xff\xff", 3), &out).code() == StatusCode::kCorruption);
}

TEST_CASE("ReadIndex round-trips; a negative index is refused", "[codec][read]") {
  const ReadIndexRequest request{"region-7", PeerId("10.0.0.2", 8100, 1), PeerId("10.0.0.1", 8100),
                                 true};
  ReadIndexRequest out;
  REQUIRE(decode(encode(request), &out).ok());
  check_same_route(out, request);
  CHECK(out.allow_lease);
  ReadIndexResponse response{LogIndex(123456789)};
  ReadIndexResponse response_out;
  REQUIRE(decode(encode(response), &response_out).ok());
  CHECK(response_out.index == LogIndex(123456789));
  Status s = decode(encode(ReadIndexResponse{LogIndex(-5)}), &response_out);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("index") != std::string::npos);
}
