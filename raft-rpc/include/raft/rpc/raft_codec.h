// Raft's RPC values (raft/transport.h) to and from protobuf bytes (proto/raft.proto).
//
// The one place where the wire form meets raft-core's types. Decoding trusts nothing: bytes
// that do not parse are ECORRUPTION; a message that parses but breaks a rule of the protocol
// is EINVAL naming the field. The rules:
//   - group ids are non-empty and at most kMaxGroupIdBytes;
//   - peer ids parse with PeerId::parse (server_id and peer_id are both required);
//   - terms and indexes are >= 0;
//   - entries have a valid type (is_valid_entry_type), and are contiguous after prev_log_id:
//     entries[i].index == prev_log_id.index + 1 + i;
//   - entry terms never decrease, start no lower than prev_log_id.term, and never exceed the
//     request's term (a leader only sends entries from its own or earlier terms, Raft §5.3);
//   - a snapshot's last_included.term does not exceed the request's term, and its
//     configuration parses with Configuration::parse (so it is not empty);
//   - snapshot file names (in InstallSnapshot's file list and in GetFile) are valid file names
//     (is_valid_snapshot_file_name), and a snapshot lists at most kMaxSnapshotFiles of them,
//     each once;
//   - GetFile asks for max_bytes in [1, kMaxGetFileBytes] at an offset where offset +
//     max_bytes <= INT64_MAX (a file offset); a GetFile response carries at most
//     kMaxGetFileBytes.
//
// Thread-safety: free functions on values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raft/status.h"
#include "raft/transport.h"

namespace raft::rpc {

inline constexpr size_t kMaxGroupIdBytes = 128;
inline constexpr size_t kMaxSnapshotFiles = 100000;
inline constexpr size_t kMaxSnapshotFileNameBytes = 255;          // NAME_MAX on Linux.
inline constexpr uint64_t kMaxGetFileBytes = uint64_t{64} << 20;  // 64 MiB

// A name a receiver can use as one file in a snapshot directory: non-empty, at most
// kMaxSnapshotFileNameBytes, no '/' or NUL byte, and not "." or "..".
bool is_valid_snapshot_file_name(std::string_view name);

std::string encode(const RequestVoteRequest& request);
std::string encode(const RequestVoteResponse& response);
std::string encode(const AppendEntriesRequest& request);
std::string encode(const AppendEntriesResponse& response);
std::string encode(const InstallSnapshotRequest& request);
std::string encode(const InstallSnapshotResponse& response);
std::string encode(const GetFileRequest& request);
std::string encode(const GetFileResponse& response);
std::string encode(const TimeoutNowRequest& request);
std::string encode(const TimeoutNowResponse& response);
std::string encode(const ReadIndexRequest& request);
std::string encode(const ReadIndexResponse& response);

// On success `*out` holds the decoded message; on failure its contents are unspecified.
Status decode(std::string_view bytes, RequestVoteRequest* out);
Status decode(std::string_view bytes, RequestVoteResponse* out);
Status decode(std::string_view bytes, AppendEntriesRequest* out);
Status decode(std::string_view bytes, AppendEntriesResponse* out);
Status decode(std::string_view bytes, InstallSnapshotRequest* out);
Status decode(std::string_view bytes, InstallSnapshotResponse* out);
Status decode(std::string_view bytes, GetFileRequest* out);
Status decode(std::string_view bytes, GetFileResponse* out);
Status decode(std::string_view bytes, TimeoutNowRequest* out);
Status decode(std::string_view bytes, TimeoutNowResponse* out);
Status decode(std::string_view bytes, ReadIndexRequest* out);
Status decode(std::string_view bytes, ReadIndexResponse* out);

}  // namespace raft::rpc
