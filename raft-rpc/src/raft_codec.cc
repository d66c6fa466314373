#include "raft/rpc/raft_codec.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft.pb.h"
#include "raft/check.h"
#include "wire_format.h"

namespace raft::rpc {
namespace {

namespace pb = ::pontoon::raft;

template <typename Message>
Status parse(std::string_view bytes, std::string_view what, Message* message) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("unparseable " + std::string(what) + " (" +
                              std::to_string(bytes.size()) + " bytes)");
  }
  return Status::OK();
}

Status invalid(std::string_view what, std::string_view why) {
  return Status::InvalidArgument("invalid " + std::string(what) + ": " + std::string(why));
}

Status check_non_negative(int64_t value, std::string_view field, std::string_view what) {
  if (value < 0)
    return invalid(what, std::string(field) + " is negative (" + std::to_string(value) + ")");
  return Status::OK();
}

// A term field: like every term, never negative.
Status decode_term(int64_t wire, std::string_view what, Term* out) {
  if (Status s = check_non_negative(wire, "term", what); !s.ok()) return s;
  *out = Term(wire);
  return Status::OK();
}

Status decode_group_id(std::string_view wire, std::string_view what, GroupId* out) {
  if (wire.empty()) return invalid(what, "group_id is empty");
  if (wire.size() > kMaxGroupIdBytes) {
    return invalid(what, "group_id is longer than " + std::to_string(kMaxGroupIdBytes) + " bytes");
  }
  out->assign(wire);
  return Status::OK();
}

Status decode_peer_id(std::string_view wire, std::string_view field, std::string_view what,
                      PeerId* out) {
  Result<PeerId> peer = PeerId::parse(wire);
  if (!peer.ok())
    return invalid(what, std::string(field) + ": " + std::string(peer.status().message()));
  *out = std::move(peer).value();
  return Status::OK();
}

Status decode_log_id(const pb::LogId& wire, std::string_view field, std::string_view what,
                     LogId* out) {
  if (Status s = check_non_negative(wire.index(), std::string(field) + ".index", what); !s.ok()) {
    return s;
  }
  if (Status s = check_non_negative(wire.term(), std::string(field) + ".term", what); !s.ok()) {
    return s;
  }
  *out = LogId{LogIndex(wire.index()), Term(wire.term())};
  return Status::OK();
}

void encode_log_id(const LogId& id, pb::LogId* wire) {
  wire->set_index(id.index.value());
  wire->set_term(id.term.value());
}

// Who a request is for and who sent it: the fields every request starts with.
template <typename Request, typename Wire>
void encode_route(const Request& request, Wire* wire) {
  wire->set_group_id(request.group_id);
  wire->set_server_id(request.server_id.to_string());
  wire->set_peer_id(request.peer_id.to_string());
}

Status decode_file_name(const std::string& wire, std::string_view field, std::string_view what,
                        std::string* out) {
  if (!is_valid_snapshot_file_name(wire)) {
    // The name itself stays out of the message: it may be long or binary.
    return invalid(what, std::string(field) +
                             " is not a valid file name (empty, \".\", \"..\", has '/' or NUL, or "
                             "longer than " +
                             std::to_string(kMaxSnapshotFileNameBytes) + " bytes)");
  }
  *out = wire;
  return Status::OK();
}

Status decode_snapshot_meta(const pb::SnapshotMeta& wire, Term request_term, std::string_view what,
                            SnapshotMeta* out) {
  if (Status s =
          decode_log_id(wire.last_included(), "meta.last_included", what, &out->last_included);
      !s.ok()) {
    return s;
  }
  if (out->last_included.term > request_term) {
    return invalid(what, "meta.last_included.term is above the request's term");
  }
  Result<ConfigurationEntry> conf = ConfigurationEntry::parse(wire.conf());
  if (!conf.ok()) {
    return invalid(what, "meta.conf: " + std::string(conf.status().message()));
  }
  out->conf = conf->conf;
  out->old_conf = conf->old_conf;
  return Status::OK();
}

Status decode_snapshot_files(const google::protobuf::RepeatedPtrField<pb::SnapshotFile>& wire,
                             std::string_view what, std::vector<SnapshotFile>* out) {
  const auto count = static_cast<size_t>(wire.size());
  if (count > kMaxSnapshotFiles) {
    return invalid(what, "files has " + std::to_string(count) + " entries, more than " +
                             std::to_string(kMaxSnapshotFiles));
  }
  out->clear();
  out->reserve(count);
  std::set<std::string_view> names;
  for (size_t i = 0; i < count; ++i) {
    const pb::SnapshotFile& file = wire[static_cast<int>(i)];
    const std::string field = "files[" + std::to_string(i) + "].name";
    SnapshotFile decoded;
    if (Status s = decode_file_name(file.name(), field, what, &decoded.name); !s.ok()) return s;
    if (!names.insert(file.name()).second) {
      return invalid(what, field + " repeats '" + file.name() + "'");
    }
    decoded.size = file.size();
    decoded.crc32c = file.crc32c();
    out->push_back(std::move(decoded));
  }
  return Status::OK();
}

Status check_get_file_range(uint64_t offset, uint64_t max_bytes, std::string_view what) {
  if (max_bytes < 1 || max_bytes > kMaxGetFileBytes) {
    return invalid(what, "max_bytes is " + std::to_string(max_bytes) + ", not in [1, " +
                             std::to_string(kMaxGetFileBytes) + "]");
  }
  constexpr auto kMaxOffset = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (offset > kMaxOffset - max_bytes) {
    return invalid(what, "offset " + std::to_string(offset) + " + max_bytes " +
                             std::to_string(max_bytes) + " overflows a file offset");
  }
  return Status::OK();
}

// The fields of one AppendEntriesRequest entry as read off the wire; `data` points into the
// request's bytes.
struct EntryFields {
  uint32_t type = 0;
  int64_t term = 0;
  int64_t index = 0;
  std::string_view data;
};

// The fields of an AppendEntriesRequest as read off the wire, before any rule is checked.
// The accessors mirror the generated message's, for decode_request_header.
struct AppendEntriesFields {
  std::string_view group_id_bytes, server_id_bytes, peer_id_bytes;
  int64_t term_value = 0;
  int64_t prev_index = 0;
  int64_t prev_term = 0;
  int64_t committed_index = 0;
  std::vector<EntryFields>* entries = nullptr;

  std::string_view group_id() const { return group_id_bytes; }
  std::string_view server_id() const { return server_id_bytes; }
  std::string_view peer_id() const { return peer_id_bytes; }
  int64_t term() const { return term_value; }
};

bool read_int64(wire::Reader& reader, int64_t* out) {
  uint64_t value = 0;
  if (!reader.read_varint(&value)) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

// Each parser reads into `*out` like protobuf's parser: a repeated field keeps its last value,
// and a repeated sub-message (prev_log_id) is parsed into the same value.
bool parse_log_id_fields(std::string_view bytes, int64_t* index, int64_t* term) {
  using wire::FieldRead;
  return wire::for_each_field(bytes,
                              [&](wire::Reader& reader, uint32_t field, wire::WireType type) {
                                if (type != wire::WireType::kVarint) return FieldRead::kUnknown;
                                if (field == 1) return wire::read_result(read_int64(reader, index));
                                if (field == 2) return wire::read_result(read_int64(reader, term));
                                return FieldRead::kUnknown;
                              });
}

bool parse_entry_fields(std::string_view bytes, EntryFields* out) {
  using wire::FieldRead;
  return wire::for_each_field(
      bytes, [&](wire::Reader& reader, uint32_t field, wire::WireType type) {
        if (field == 4 && type == wire::WireType::kLengthDelimited) {
          return wire::read_result(reader.read_length_delimited(&out->data));
        }
        if (type != wire::WireType::kVarint) return FieldRead::kUnknown;
        if (field == 1) {
          uint64_t value = 0;
          if (!reader.read_varint(&value)) return FieldRead::kMalformed;
          out->type = static_cast<uint32_t>(value);  // A uint32 field keeps the low 32 bits.
          return FieldRead::kRead;
        }
        if (field == 2) return wire::read_result(read_int64(reader, &out->term));
        if (field == 3) return wire::read_result(read_int64(reader, &out->index));
        return FieldRead::kUnknown;
      });
}

bool parse_append_entries_fields(std::string_view bytes, AppendEntriesFields* out) {
  using wire::FieldRead;
  return wire::for_each_field(bytes, [&](wire::Reader& reader, uint32_t field,
                                         wire::WireType type) {
    if (type == wire::WireType::kVarint) {
      if (field == 4) return wire::read_result(read_int64(reader, &out->term_value));
      if (field == 6) return wire::read_result(read_int64(reader, &out->committed_index));
      return FieldRead::kUnknown;
    }
    const bool delimited_field = field == 1 || field == 2 || field == 3 || field == 5 || field == 7;
    if (type != wire::WireType::kLengthDelimited || !delimited_field) {
      return FieldRead::kUnknown;
    }
    std::string_view bytes_of_field;
    if (!reader.read_length_delimited(&bytes_of_field)) return FieldRead::kMalformed;
    switch (field) {
      case 1:
        out->group_id_bytes = bytes_of_field;
        return FieldRead::kRead;
      case 2:
        out->server_id_bytes = bytes_of_field;
        return FieldRead::kRead;
      case 3:
        out->peer_id_bytes = bytes_of_field;
        return FieldRead::kRead;
      case 5:
        return wire::read_result(
            parse_log_id_fields(bytes_of_field, &out->prev_index, &out->prev_term));
      default:  // 7: one more entry.
        out->entries->emplace_back();
        return wire::read_result(parse_entry_fields(bytes_of_field, &out->entries->back()));
    }
  });
}

// Checks entry `i` of an AppendEntriesRequest against its predecessor (`prev_term` is the
// term of the entry before it, or prev_log_id.term for the first), then fills `out` with it,
// copying its payload out of the request's bytes.
Status decode_entry(const EntryFields& wire, size_t i, LogIndex expected_index, Term prev_term,
                    Term request_term, LogEntry* out) {
  constexpr std::string_view kWhat = "AppendEntriesRequest";
  if (wire.type > std::numeric_limits<uint8_t>::max() ||
      !is_valid_entry_type(static_cast<uint8_t>(wire.type))) {
    return invalid(
        kWhat, "entries[" + std::to_string(i) + "] has unknown type " + std::to_string(wire.type));
  }
  if (wire.index != expected_index.value()) {
    return invalid(kWhat, "entries[" + std::to_string(i) + "] has index " +
                              std::to_string(wire.index) + ", expected " +
                              std::to_string(expected_index.value()) +
                              " (entries must be contiguous after prev_log_id)");
  }
  if (wire.term < prev_term.value()) {
    return invalid(kWhat, "entries[" + std::to_string(i) + "] has term " +
                              std::to_string(wire.term) + ", lower than the term before it (" +
                              std::to_string(prev_term.value()) + ")");
  }
  if (wire.term > request_term.value()) {
    return invalid(kWhat, "entries[" + std::to_string(i) + "] has term " +
                              std::to_string(wire.term) + ", above the request's term " +
                              std::to_string(request_term.value()));
  }
  out->type = static_cast<EntryType>(wire.type);
  out->id = LogId{LogIndex(wire.index), Term(wire.term)};
  out->data.assign(wire.data);
  return Status::OK();
}

}  // namespace

std::string encode(const RequestVoteRequest& request) {
  pb::RequestVoteRequest wire;
  encode_route(request, &wire);
  wire.set_term(request.term.value());
  encode_log_id(request.last_log_id, wire.mutable_last_log_id());
  wire.set_pre_vote(request.pre_vote);
  wire.set_leadership_transfer(request.leadership_transfer);
  return wire.SerializeAsString();
}

std::string encode(const RequestVoteResponse& response) {
  pb::RequestVoteResponse wire;
  wire.set_term(response.term.value());
  wire.set_granted(response.granted);
  return wire.SerializeAsString();
}

// By hand (wire_format.h): one allocation for the whole body, one copy of each payload.
// Field numbers are proto/raft.proto's AppendEntriesRequest and Entry; the bytes equal what
// pb::AppendEntriesRequest::SerializeAsString writes for the same values.
std::string encode(const AppendEntriesRequest& request) {
  using namespace wire;
  const std::string server_id = request.server_id.to_string();
  const std::string peer_id = request.peer_id.to_string();
  const auto u64 = [](int64_t value) { return static_cast<uint64_t>(value); };
  const size_t prev_log_id_bytes = int_field_size(1, u64(request.prev_log_id.index.value())) +
                                   int_field_size(2, u64(request.prev_log_id.term.value()));
  const auto entry_bytes = [&](const LogEntry& entry) {
    return int_field_size(1, static_cast<uint64_t>(entry.type)) +
           int_field_size(2, u64(entry.id.term.value())) +
           int_field_size(3, u64(entry.id.index.value())) + bytes_field_size(4, entry.data);
  };
  size_t total = bytes_field_size(1, request.group_id) + bytes_field_size(2, server_id) +
                 bytes_field_size(3, peer_id) + int_field_size(4, u64(request.term.value())) +
                 length_delimited_size(5, prev_log_id_bytes) +
                 int_field_size(6, u64(request.committed_index.value()));
  for (const LogEntryPtr& entry : request.entries) {
    PONTOON_CHECK(entry != nullptr);
    total += length_delimited_size(7, entry_bytes(*entry));
  }
  std::string out;
  out.reserve(total);
  put_bytes_field(1, request.group_id, &out);
  put_bytes_field(2, server_id, &out);
  put_bytes_field(3, peer_id, &out);
  put_int_field(4, u64(request.term.value()), &out);
  put_length_prefix(5, prev_log_id_bytes, &out);
  put_int_field(1, u64(request.prev_log_id.index.value()), &out);
  put_int_field(2, u64(request.prev_log_id.term.value()), &out);
  put_int_field(6, u64(request.committed_index.value()), &out);
  for (const LogEntryPtr& entry : request.entries) {
    put_length_prefix(7, entry_bytes(*entry), &out);
    put_int_field(1, static_cast<uint64_t>(entry->type), &out);
    put_int_field(2, u64(entry->id.term.value()), &out);
    put_int_field(3, u64(entry->id.index.value()), &out);
    put_bytes_field(4, entry->data, &out);
  }
  PONTOON_CHECK(out.size() == total);
  return out;
}

std::string encode(const AppendEntriesResponse& response) {
  pb::AppendEntriesResponse wire;
  wire.set_term(response.term.value());
  wire.set_success(response.success);
  wire.set_last_log_index(response.last_log_index.value());
  wire.set_conflict_term(response.conflict_term.value());
  wire.set_conflict_index(response.conflict_index.value());
  return wire.SerializeAsString();
}

std::string encode(const InstallSnapshotRequest& request) {
  pb::InstallSnapshotRequest wire;
  encode_route(request, &wire);
  wire.set_term(request.term.value());
  encode_log_id(request.meta.last_included, wire.mutable_meta()->mutable_last_included());
  wire.mutable_meta()->set_conf(request.meta.configuration().to_string());
  wire.mutable_files()->Reserve(static_cast<int>(request.files.size()));
  for (const SnapshotFile& file : request.files) {
    pb::SnapshotFile* f = wire.add_files();
    f->set_name(file.name);
    f->set_size(file.size);
    f->set_crc32c(file.crc32c);
  }
  wire.set_reader_id(request.reader_id);
  return wire.SerializeAsString();
}

std::string encode(const InstallSnapshotResponse& response) {
  pb::InstallSnapshotResponse wire;
  wire.set_term(response.term.value());
  wire.set_success(response.success);
  return wire.SerializeAsString();
}

std::string encode(const GetFileRequest& request) {
  pb::GetFileRequest wire;
  encode_route(request, &wire);
  wire.set_reader_id(request.reader_id);
  wire.set_file_name(request.file_name);
  wire.set_offset(request.offset);
  wire.set_max_bytes(request.max_bytes);
  return wire.SerializeAsString();
}

std::string encode(const GetFileResponse& response) {
  pb::GetFileResponse wire;
  wire.set_data(response.data);
  wire.set_eof(response.eof);
  return wire.SerializeAsString();
}

std::string encode(const TimeoutNowRequest& request) {
  pb::TimeoutNowRequest wire;
  encode_route(request, &wire);
  wire.set_term(request.term.value());
  return wire.SerializeAsString();
}

std::string encode(const TimeoutNowResponse& response) {
  pb::TimeoutNowResponse wire;
  wire.set_term(response.term.value());
  wire.set_success(response.success);
  return wire.SerializeAsString();
}

std::string encode(const ReadIndexRequest& request) {
  pb::ReadIndexRequest wire;
  encode_route(request, &wire);
  wire.set_allow_lease(request.allow_lease);
  return wire.SerializeAsString();
}

std::string encode(const ReadIndexResponse& response) {
  pb::ReadIndexResponse wire;
  wire.set_index(response.index.value());
  return wire.SerializeAsString();
}

bool is_valid_snapshot_file_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxSnapshotFileNameBytes && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

namespace {

// Who a request is for and who sent it.
template <typename Wire, typename Request>
Status decode_route(const Wire& wire, std::string_view what, Request* out) {
  if (Status s = decode_group_id(wire.group_id(), what, &out->group_id); !s.ok()) return s;
  if (Status s = decode_peer_id(wire.server_id(), "server_id", what, &out->server_id); !s.ok()) {
    return s;
  }
  return decode_peer_id(wire.peer_id(), "peer_id", what, &out->peer_id);
}

// The fields every Raft request carries: its route, and the sender's term.
template <typename Wire, typename Request>
Status decode_request_header(const Wire& wire, std::string_view what, Request* out) {
  if (Status s = decode_route(wire, what, out); !s.ok()) return s;
  return decode_term(wire.term(), what, &out->term);
}

}  // namespace

Status decode(std::string_view bytes, RequestVoteRequest* out) {
  constexpr std::string_view kWhat = "RequestVoteRequest";
  pb::RequestVoteRequest wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_request_header(wire, kWhat, out); !s.ok()) return s;
  if (Status s = decode_log_id(wire.last_log_id(), "last_log_id", kWhat, &out->last_log_id);
      !s.ok()) {
    return s;
  }
  out->pre_vote = wire.pre_vote();
  out->leadership_transfer = wire.leadership_transfer();
  return Status::OK();
}

Status decode(std::string_view bytes, RequestVoteResponse* out) {
  constexpr std::string_view kWhat = "RequestVoteResponse";
  pb::RequestVoteResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_term(wire.term(), kWhat, &out->term); !s.ok()) return s;
  out->granted = wire.granted();
  return Status::OK();
}

Status decode(std::string_view bytes, AppendEntriesRequest* out) {
  constexpr std::string_view kWhat = "AppendEntriesRequest";
  // Reused by every request this thread decodes: steady-state decoding allocates only the
  // entries themselves.
  thread_local std::vector<EntryFields> entry_fields;
  entry_fields.clear();
  AppendEntriesFields wire;
  wire.entries = &entry_fields;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !parse_append_entries_fields(bytes, &wire)) {
    return Status::Corruption("unparseable " + std::string(kWhat) + " (" +
                              std::to_string(bytes.size()) + " bytes)");
  }
  if (Status s = decode_request_header(wire, kWhat, out); !s.ok()) return s;
  if (Status s = check_non_negative(wire.prev_index, "prev_log_id.index", kWhat); !s.ok()) {
    return s;
  }
  if (Status s = check_non_negative(wire.prev_term, "prev_log_id.term", kWhat); !s.ok()) {
    return s;
  }
  out->prev_log_id = LogId{LogIndex(wire.prev_index), Term(wire.prev_term)};
  if (out->prev_log_id.term > out->term) {
    return invalid(kWhat, "prev_log_id.term is above the request's term");
  }
  if (Status s = check_non_negative(wire.committed_index, "committed_index", kWhat); !s.ok()) {
    return s;
  }
  out->committed_index = LogIndex(wire.committed_index);

  const size_t count = entry_fields.size();
  // The last entry's index must be representable: prev + count <= INT64_MAX.
  if (static_cast<uint64_t>(std::numeric_limits<int64_t>::max() - out->prev_log_id.index.value()) <
      count) {
    return invalid(kWhat, "entry indexes overflow");
  }
  out->entries.clear();
  if (count == 0) return Status::OK();
  out->entries.reserve(count);
  // One allocation holds the request's entries and the control block they share: each
  // LogEntryPtr aliases it, instead of one make_shared per entry. The follower's log drops
  // entries in index order, so a block lives until its last entry goes (docs/architecture.md).
  std::shared_ptr<LogEntry[]> block = std::make_shared<LogEntry[]>(count);
  Term prev_term = out->prev_log_id.term;
  for (size_t i = 0; i < count; ++i) {
    LogEntry* entry = &block[i];
    const LogIndex expected_index = out->prev_log_id.index + static_cast<int64_t>(i + 1);
    if (Status s = decode_entry(entry_fields[i], i, expected_index, prev_term, out->term, entry);
        !s.ok()) {
      out->entries.clear();
      return s;
    }
    prev_term = entry->id.term;
    out->entries.emplace_back(block, entry);
  }
  return Status::OK();
}

Status decode(std::string_view bytes, AppendEntriesResponse* out) {
  constexpr std::string_view kWhat = "AppendEntriesResponse";
  pb::AppendEntriesResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = check_non_negative(wire.term(), "term", kWhat); !s.ok()) return s;
  if (Status s = check_non_negative(wire.last_log_index(), "last_log_index", kWhat); !s.ok()) {
    return s;
  }
  if (Status s = check_non_negative(wire.conflict_term(), "conflict_term", kWhat); !s.ok()) {
    return s;
  }
  if (Status s = check_non_negative(wire.conflict_index(), "conflict_index", kWhat); !s.ok()) {
    return s;
  }
  out->term = Term(wire.term());
  out->success = wire.success();
  out->last_log_index = LogIndex(wire.last_log_index());
  out->conflict_term = Term(wire.conflict_term());
  out->conflict_index = LogIndex(wire.conflict_index());
  return Status::OK();
}

Status decode(std::string_view bytes, InstallSnapshotRequest* out) {
  constexpr std::string_view kWhat = "InstallSnapshotRequest";
  pb::InstallSnapshotRequest wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_request_header(wire, kWhat, out); !s.ok()) return s;
  if (Status s = decode_snapshot_meta(wire.meta(), out->term, kWhat, &out->meta); !s.ok()) {
    return s;
  }
  if (Status s = decode_snapshot_files(wire.files(), kWhat, &out->files); !s.ok()) return s;
  out->reader_id = wire.reader_id();
  return Status::OK();
}

Status decode(std::string_view bytes, InstallSnapshotResponse* out) {
  constexpr std::string_view kWhat = "InstallSnapshotResponse";
  pb::InstallSnapshotResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_term(wire.term(), kWhat, &out->term); !s.ok()) return s;
  out->success = wire.success();
  return Status::OK();
}

Status decode(std::string_view bytes, GetFileRequest* out) {
  constexpr std::string_view kWhat = "GetFileRequest";
  pb::GetFileRequest wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_route(wire, kWhat, out); !s.ok()) return s;
  if (Status s = decode_file_name(wire.file_name(), "file_name", kWhat, &out->file_name); !s.ok()) {
    return s;
  }
  if (Status s = check_get_file_range(wire.offset(), wire.max_bytes(), kWhat); !s.ok()) return s;
  out->reader_id = wire.reader_id();
  out->offset = wire.offset();
  out->max_bytes = wire.max_bytes();
  return Status::OK();
}

Status decode(std::string_view bytes, GetFileResponse* out) {
  constexpr std::string_view kWhat = "GetFileResponse";
  pb::GetFileResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (wire.data().size() > kMaxGetFileBytes) {
    return invalid(kWhat, "data has " + std::to_string(wire.data().size()) + " bytes, more than " +
                              std::to_string(kMaxGetFileBytes));
  }
  out->data = std::move(*wire.mutable_data());
  out->eof = wire.eof();
  return Status::OK();
}

Status decode(std::string_view bytes, TimeoutNowRequest* out) {
  constexpr std::string_view kWhat = "TimeoutNowRequest";
  pb::TimeoutNowRequest wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  return decode_request_header(wire, kWhat, out);
}

Status decode(std::string_view bytes, TimeoutNowResponse* out) {
  constexpr std::string_view kWhat = "TimeoutNowResponse";
  pb::TimeoutNowResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = decode_term(wire.term(), kWhat, &out->term); !s.ok()) return s;
  out->success = wire.success();
  return Status::OK();
}

Status decode(std::string_view bytes, ReadIndexRequest* out) {
  constexpr std::string_view kWhat = "ReadIndexRequest";
  pb::ReadIndexRequest wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  out->allow_lease = wire.allow_lease();
  return decode_route(wire, kWhat, out);
}

Status decode(std::string_view bytes, ReadIndexResponse* out) {
  constexpr std::string_view kWhat = "ReadIndexResponse";
  pb::ReadIndexResponse wire;
  if (Status s = parse(bytes, kWhat, &wire); !s.ok()) return s;
  if (Status s = check_non_negative(wire.index(), "index", kWhat); !s.ok()) return s;
  out->index = LogIndex(wire.index());
  return Status::OK();
}

}  // namespace raft::rpc
