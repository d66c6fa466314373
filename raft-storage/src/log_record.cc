#include "raft/storage/log_record.h"

#include <string>

#include "raft/check.h"
#include "raft/storage/crc32c.h"

namespace raft::log_record {
namespace {

constexpr size_t kVersionOffset = 0;
constexpr size_t kTypeOffset = 1;
constexpr size_t kIndexOffset = 2;
constexpr size_t kTermOffset = 10;
constexpr size_t kDataSizeOffset = 18;
constexpr size_t kCrcOffset = 22;
static_assert(kCrcOffset + 4 == kHeaderSize);

void put_le(char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint64_t get_le(std::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= uint64_t(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return v;
}

// The checksum covers the header up to the crc field, then the data: everything but itself.
uint32_t record_crc(std::string_view header_before_crc, std::string_view data) {
  uint32_t crc = crc32c::value(header_before_crc);
  return crc32c::extend(crc, data.data(), data.size());
}

struct Header {
  EntryType type = EntryType::kData;
  Term term;
};

Status corrupt(const GroupId& group, LogIndex index, const std::string& why) {
  return Status::Corruption("group " + group + " log index " + std::to_string(index.value()) +
                            ": " + why);
}

// Runs every check decode() promises; on OK fills `header`.
Status check_record(std::string_view record, const GroupId& group, LogIndex index, Header* header) {
  if (record.size() < kHeaderSize) {
    return corrupt(group, index,
                   "record is " + std::to_string(record.size()) + " bytes, shorter than the " +
                       std::to_string(kHeaderSize) + "-byte header");
  }
  uint8_t version = static_cast<uint8_t>(record[kVersionOffset]);
  if (version != kFormatVersion) {
    return corrupt(group, index, "unknown record format version " + std::to_string(version));
  }
  uint64_t data_size = get_le(record, kDataSizeOffset, 4);
  if (data_size != record.size() - kHeaderSize) {
    return corrupt(group, index,
                   "header says " + std::to_string(data_size) +
                       " data bytes but the record holds " +
                       std::to_string(record.size() - kHeaderSize));
  }
  uint32_t stored_crc = static_cast<uint32_t>(get_le(record, kCrcOffset, 4));
  uint32_t actual_crc = record_crc(record.substr(0, kCrcOffset), record.substr(kHeaderSize));
  if (stored_crc != actual_crc) {
    return corrupt(group, index,
                   "checksum mismatch (stored " + std::to_string(stored_crc) + ", computed " +
                       std::to_string(actual_crc) + ")");
  }
  // A record whose checksum matches but whose fields are impossible was written wrong (or by
  // a future format); it is as unusable as a damaged one.
  uint8_t type = static_cast<uint8_t>(record[kTypeOffset]);
  if (!is_valid_entry_type(type)) {
    return corrupt(group, index, "invalid entry type " + std::to_string(type));
  }
  int64_t stored_index = static_cast<int64_t>(get_le(record, kIndexOffset, 8));
  if (stored_index != index.value()) {
    return corrupt(group, index,
                   "record belongs to index " + std::to_string(stored_index) + ", not here");
  }
  int64_t term = static_cast<int64_t>(get_le(record, kTermOffset, 8));
  if (term < 1) return corrupt(group, index, "invalid term " + std::to_string(term));
  header->type = static_cast<EntryType>(type);
  header->term = Term(term);
  return Status::OK();
}

}  // namespace

Status validate_entry(const LogEntry& entry, const GroupId& group) {
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("group " + group + " entry " +
                                   std::to_string(entry.id.index.value()) + ": " + why);
  };
  if (entry.id.index < LogIndex(1)) return invalid("index must be >= 1");
  if (entry.id.term < Term(1)) return invalid("term must be >= 1");
  if (!is_valid_entry_type(static_cast<uint8_t>(entry.type))) {
    return invalid("invalid entry type " + std::to_string(static_cast<int>(entry.type)));
  }
  if (entry.data.size() > kMaxDataSize) {
    return invalid("data of " + std::to_string(entry.data.size()) + " bytes exceeds the " +
                   std::to_string(kMaxDataSize) + "-byte record limit");
  }
  return Status::OK();
}

std::array<char, kHeaderSize> encode_header(const LogEntry& entry) {
  PONTOON_CHECK(entry.id.index >= LogIndex(1));
  PONTOON_CHECK(entry.id.term >= Term(1));
  PONTOON_CHECK(is_valid_entry_type(static_cast<uint8_t>(entry.type)));
  PONTOON_CHECK(entry.data.size() <= kMaxDataSize);

  std::array<char, kHeaderSize> header{};
  header[kVersionOffset] = static_cast<char>(kFormatVersion);
  header[kTypeOffset] = static_cast<char>(entry.type);
  put_le(header.data() + kIndexOffset, static_cast<uint64_t>(entry.id.index.value()), 8);
  put_le(header.data() + kTermOffset, static_cast<uint64_t>(entry.id.term.value()), 8);
  put_le(header.data() + kDataSizeOffset, entry.data.size(), 4);
  uint32_t crc = record_crc(std::string_view(header.data(), kCrcOffset), entry.data);
  put_le(header.data() + kCrcOffset, crc, 4);
  return header;
}

std::string encode(const LogEntry& entry) {
  std::array<char, kHeaderSize> header = encode_header(entry);
  std::string record;
  record.reserve(kHeaderSize + entry.data.size());
  record.append(header.data(), header.size());
  record.append(entry.data);
  return record;
}

Result<LogEntryPtr> decode(std::string_view record, const GroupId& group, LogIndex index) {
  Header header;
  Status s = check_record(record, group, index, &header);
  if (!s.ok()) return s;
  return make_entry(header.type, index, header.term, std::string(record.substr(kHeaderSize)));
}

Result<Term> decode_term(std::string_view record, const GroupId& group, LogIndex index) {
  Header header;
  Status s = check_record(record, group, index, &header);
  if (!s.ok()) return s;
  return header.term;
}

std::optional<PeekedHeader> peek_header(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) return std::nullopt;
  if (static_cast<uint8_t>(bytes[kVersionOffset]) != kFormatVersion) return std::nullopt;
  PeekedHeader header;
  header.index = LogIndex(static_cast<int64_t>(get_le(bytes, kIndexOffset, 8)));
  header.record_size = kHeaderSize + get_le(bytes, kDataSizeOffset, 4);
  return header;
}

}  // namespace raft::log_record
