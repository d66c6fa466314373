// The bench service's messages (method ids kBenchWrite, kBenchRead, kBenchStatus in
// raft/rpc/method_ids.h). Fixed little-endian fields, no protobuf: the messages are tiny and
// only raft-bench speaks them, the driver and the replica processes being the same binary.
//
//   write request   u32 group | payload (the rest of the body)     response: empty
//   read request    u32 group | u8 ReadMode                        response: empty
//   status request  empty
//   status response u64 synced_writes | u64 synced_entries | u32 groups | u8 leads[groups]
//
// Errors travel as the RPC's Status (EPERM: not the leader of that group; EAGAIN: the replica
// has not started its groups yet).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/read_index.h"
#include "raft/status.h"

namespace bench {

struct ReplicaStatus {
  uint64_t synced_writes = 0;
  uint64_t synced_entries = 0;
  // leads[g]: this replica is the leader of group g.
  std::vector<bool> leads;
};

std::string encode_write_request(uint32_t group, std::string_view payload);
std::string encode_read_request(uint32_t group, raft::ReadMode mode);
std::string encode_status_response(const ReplicaStatus& status);

// Each returns EINVAL (naming the message) for a body that is too short or out of range.
raft::Status decode_write_request(std::string_view body, uint32_t* group,
                                  std::string_view* payload);
raft::Status decode_read_request(std::string_view body, uint32_t* group, raft::ReadMode* mode);
raft::Result<ReplicaStatus> decode_status_response(std::string_view body);

}  // namespace bench
