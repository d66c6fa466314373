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
//     request's term (a leader only sends entries from its own or earlier terms, Raft §5.3).
//
// Thread-safety: free functions on values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "raft/status.h"
#include "raft/transport.h"

namespace raft::rpc {

inline constexpr size_t kMaxGroupIdBytes = 128;

std::string encode(const RequestVoteRequest& request);
std::string encode(const RequestVoteResponse& response);
std::string encode(const AppendEntriesRequest& request);
std::string encode(const AppendEntriesResponse& response);

// On success `*out` holds the decoded message; on failure its contents are unspecified.
Status decode(std::string_view bytes, RequestVoteRequest* out);
Status decode(std::string_view bytes, RequestVoteResponse* out);
Status decode(std::string_view bytes, AppendEntriesRequest* out);
Status decode(std::string_view bytes, AppendEntriesResponse* out);

}  // namespace raft::rpc
