// rocksdb_keys: the key layout of RocksDBLogStore (docs/log_format.md, "RocksDB keys").
//
//   log entry:        'L' | u8 len(group) | group | u64 BE index   -> log_record
//   first_log_index:  'M' | u8 len(group) | group | 'f'            -> meta value (below)
//
// The length byte makes group prefixes prefix-free ("g" and "g1" never share a key range) and
// big-endian indexes make RocksDB's bytewise order the log order.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "raft/status.h"
#include "raft/types.h"

namespace raft::rocksdb_keys {

inline constexpr size_t kMaxGroupIdSize = 128;

// OK if `group` is a usable group id (non-empty, at most kMaxGroupIdSize bytes), else EINVAL.
Status validate_group_id(const GroupId& group);

// The bytes every log key of `group` starts with. REQUIRES: validate_group_id(group).ok().
std::string log_prefix(const GroupId& group);
// REQUIRES: validate_group_id(group).ok(), index >= 0.
std::string log_key(const GroupId& group, LogIndex index);

// log_key for a batch of entries without a new string for each: `*key` holds log_prefix(group)
// (and possibly a previous index); its index part is replaced by `index`'s.
void set_log_key_index(std::string* key, size_t prefix_size, LogIndex index);
// A key greater than every log key of `group` and less than any other group's keys that
// follow it. REQUIRES: validate_group_id(group).ok().
std::string log_key_upper_bound(const GroupId& group);
// Returns the index of `key` if it is a log key with prefix `prefix` and an index >= 1.
std::optional<LogIndex> parse_log_key(std::string_view key, std::string_view prefix);

// REQUIRES: validate_group_id(group).ok().
std::string first_index_key(const GroupId& group);
// first_log_index value := version u8 (1) | index i64 LE | crc32c u32 LE of the 9 bytes before.
std::string encode_first_index(LogIndex index);
// ECORRUPTION naming `group` if `value` is not a valid encode_first_index() output.
Result<LogIndex> decode_first_index(std::string_view value, const GroupId& group);

}  // namespace raft::rocksdb_keys
