#include "rocksdb_keys.h"

#include <cstdint>
#include <string>

#include "raft/check.h"
#include "raft/storage/crc32c.h"

namespace raft::rocksdb_keys {
namespace {

constexpr char kLogTag = 'L';
constexpr char kMetaTag = 'M';
constexpr char kFirstIndexKind = 'f';
constexpr uint8_t kFirstIndexVersion = 1;
constexpr size_t kFirstIndexValueSize = 1 + 8 + 4;

std::string group_prefix(char tag, const GroupId& group) {
  PONTOON_CHECK(!group.empty());
  PONTOON_CHECK(group.size() <= kMaxGroupIdSize);
  std::string prefix;
  prefix.reserve(2 + group.size() + 8);
  prefix.push_back(tag);
  prefix.push_back(static_cast<char>(group.size()));
  prefix.append(group);
  return prefix;
}

void put_fixed(std::string* out, uint64_t v, int bytes, bool big_endian) {
  for (int i = 0; i < bytes; ++i) {
    int shift = big_endian ? 8 * (bytes - 1 - i) : 8 * i;
    out->push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

uint64_t get_fixed(std::string_view in, int bytes, bool big_endian) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    int shift = big_endian ? 8 * (bytes - 1 - i) : 8 * i;
    v |= uint64_t(static_cast<uint8_t>(in[i])) << shift;
  }
  return v;
}

}  // namespace

Status validate_group_id(const GroupId& group) {
  if (group.empty()) return Status::InvalidArgument("group id must not be empty");
  if (group.size() > kMaxGroupIdSize) {
    return Status::InvalidArgument("group id of " + std::to_string(group.size()) +
                                   " bytes is longer than " + std::to_string(kMaxGroupIdSize));
  }
  return Status::OK();
}

std::string log_prefix(const GroupId& group) { return group_prefix(kLogTag, group); }

std::string log_key(const GroupId& group, LogIndex index) {
  PONTOON_CHECK(index >= LogIndex(0));
  std::string key = log_prefix(group);
  put_fixed(&key, static_cast<uint64_t>(index.value()), 8, /*big_endian=*/true);
  return key;
}

void set_log_key_index(std::string* key, size_t prefix_size, LogIndex index) {
  PONTOON_CHECK(index >= LogIndex(0));
  PONTOON_CHECK(key->size() >= prefix_size);
  key->resize(prefix_size);
  put_fixed(key, static_cast<uint64_t>(index.value()), 8, /*big_endian=*/true);
}

std::string log_key_upper_bound(const GroupId& group) {
  // Indexes are non-negative int64s, so their big-endian bytes are all below 8 bytes of 0xFF.
  std::string key = log_prefix(group);
  key.append(8, '\xFF');
  return key;
}

std::optional<LogIndex> parse_log_key(std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 8) return std::nullopt;
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto index = static_cast<int64_t>(get_fixed(key.substr(prefix.size()), 8, true));
  if (index < 1) return std::nullopt;
  return LogIndex(index);
}

std::string first_index_key(const GroupId& group) {
  std::string key = group_prefix(kMetaTag, group);
  key.push_back(kFirstIndexKind);
  return key;
}

std::string encode_first_index(LogIndex index) {
  PONTOON_CHECK(index >= LogIndex(1));
  std::string value;
  value.push_back(static_cast<char>(kFirstIndexVersion));
  put_fixed(&value, static_cast<uint64_t>(index.value()), 8, /*big_endian=*/false);
  put_fixed(&value, crc32c::value(value), 4, /*big_endian=*/false);
  PONTOON_CHECK(value.size() == kFirstIndexValueSize);
  return value;
}

Result<LogIndex> decode_first_index(std::string_view value, const GroupId& group) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("group " + group + ": first_log_index record " + why);
  };
  if (value.size() != kFirstIndexValueSize) {
    return corrupt("is " + std::to_string(value.size()) + " bytes, expected " +
                   std::to_string(kFirstIndexValueSize));
  }
  auto stored_crc = static_cast<uint32_t>(get_fixed(value.substr(9), 4, false));
  if (stored_crc != crc32c::value(value.substr(0, 9))) return corrupt("fails its checksum");
  if (static_cast<uint8_t>(value[0]) != kFirstIndexVersion) {
    return corrupt("has unknown version " + std::to_string(static_cast<uint8_t>(value[0])));
  }
  auto index = static_cast<int64_t>(get_fixed(value.substr(1), 8, false));
  if (index < 1) return corrupt("holds invalid index " + std::to_string(index));
  return LogIndex(index);
}

}  // namespace raft::rocksdb_keys
