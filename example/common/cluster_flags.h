// ClusterFlags: the flags every example client takes to reach a group.
//
//   --conf IP:PORT,IP:PORT,... [--timeout-ms N]
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "flag_parser.h"
#include "raft/status.h"

namespace example {

struct ClusterFlags {
  // The replicas, in the configuration's (sorted) order; the first is the first tried as
  // leader. Invariant: non-empty, each a valid "ip:port".
  std::vector<std::string> endpoints;
  int64_t timeout_ms = 10000;  // Per operation, retries included.
};

// The flags parse_cluster_flags() reads.
std::set<std::string> cluster_flag_names();

// Reads --conf (required) and --timeout-ms from `parser` (already parsed); EINVAL naming the
// flag if one is missing or malformed.
raft::Result<ClusterFlags> parse_cluster_flags(const FlagParser& parser);

}  // namespace example
