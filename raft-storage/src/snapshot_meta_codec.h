// The meta file of a snapshot directory: what it covers and the size and checksum of each of
// its files. Format: docs/snapshots.md.
//
//   meta := magic "PNTS" | version u8 (1) | last index i64 LE | last term i64 LE
//           | conf_size u32 LE | conf (Configuration::to_string)
//           | file_count u32 LE | file_count * (name_size u16 LE | name | size u64 LE | crc u32 LE)
//           | crc32c u32 LE of every byte before it
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "raft/snapshot.h"
#include "raft/status.h"

namespace raft::snapshot_meta {

// The name of the meta file inside each snapshot directory; no state machine file may use it.
inline constexpr std::string_view kFileName = "__raft_snapshot_meta";
// A meta file longer than this is damaged (it would list millions of files).
inline constexpr uint64_t kMaxFileBytes = 64ull << 20;
// The longest file name the format can hold.
inline constexpr size_t kMaxNameBytes = 0xFFFF;

// What one meta file holds.
struct Record {
  SnapshotMeta meta;
  std::vector<SnapshotFile> files;  // Invariant: sorted by name, names unique and valid.
};

// OK if `name` may name a state machine file in a snapshot directory; EINVAL saying why not
// (empty, longer than kMaxNameBytes, "." or "..", containing '/' or NUL, or kFileName).
Status check_file_name(std::string_view name);

// REQUIRES: meta.last_included index and term >= 1, meta.conf not empty, `files` sorted by
// name with unique names that pass check_file_name.
std::string encode(const SnapshotMeta& meta, const std::vector<SnapshotFile>& files);

// Parses `bytes`, the content of the meta file at `path`. Every malformation is ECORRUPTION
// naming `path` and what is wrong; never crashes, whatever the bytes.
Result<Record> decode(std::string_view bytes, const std::string& path);

}  // namespace raft::snapshot_meta
