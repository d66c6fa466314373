// log_record: the byte format of one stored log entry (docs/log_format.md).
//
//   record := header (26 bytes) data
//   header := version u8 | type u8 | index i64 LE | term i64 LE | data_size u32 LE | crc u32 LE
//
// `crc` is the CRC-32C of the header bytes before it followed by the data, so a flipped bit
// anywhere in a record, a truncated record or a record stored under the wrong index is
// detected by decode() and reported as ECORRUPTION naming the group and the index. Every
// LogStorage in raft-storage stores exactly these bytes and decodes them on every read, so
// no storage ever hands out an entry that was not written whole.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raft/log_entry.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft::log_record {

inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 26;
inline constexpr size_t kMaxDataSize = UINT32_MAX;

// Returns the record for `entry`.
// REQUIRES: entry.id.index >= 1, entry.id.term >= 1, is_valid_entry_type(entry.type),
// entry.data.size() <= kMaxDataSize. (LogStorage::write rejects entries that break these
// with EINVAL before encoding; see validate_entry().)
std::string encode(const LogEntry& entry);

// The first kHeaderSize bytes of encode(entry); the record is this header followed by
// entry.data. Lets a writer hand header and data to storage as two pieces without copying the
// data into a record first. REQUIRES: as encode().
std::array<char, kHeaderSize> encode_header(const LogEntry& entry);

// Returns OK if encode() accepts `entry`, EINVAL naming `group` and the problem otherwise.
Status validate_entry(const LogEntry& entry, const GroupId& group);

// Decodes `record`, which was stored as the entry at `index` of `group`. ECORRUPTION (naming
// the group and the index) if the record is shorter than a header, has an unknown version,
// a data size that disagrees with its length, a checksum mismatch, an invalid entry type, an
// index other than `index`, or a term < 1. Never crashes on arbitrary bytes.
Result<LogEntryPtr> decode(std::string_view record, const GroupId& group, LogIndex index);

// The same checks as decode() (including the checksum over the whole data), returning only the
// entry's term without copying its data.
Result<Term> decode_term(std::string_view record, const GroupId& group, LogIndex index);

// What a header says about its record, unverified: decode() checks every field and the checksum.
// For readers that must frame records in a byte stream before decoding them (a log segment file
// holds records back to back).
struct PeekedHeader {
  LogIndex index;
  // kHeaderSize + data_size: where the next record would start.
  uint64_t record_size = 0;
};

// The header at the start of `bytes`, or nullopt if `bytes` is shorter than a header or has an
// unknown format version.
std::optional<PeekedHeader> peek_header(std::string_view bytes);

}  // namespace raft::log_record
