// ServerFlags: the command line of counter-server, parsed and checked.
//
//   counter-server --group NAME --peer IP:PORT --conf IP:PORT,IP:PORT,... --data DIR
//                  [--election-timeout-ms N] [--snapshot-interval-s N]
//                  [--snapshot-log-index-margin N]
//
// Flags may also be written --flag=value. Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "raft/configuration.h"
#include "raft/peer_id.h"
#include "raft/status.h"

namespace counter {

struct ServerFlags {
  std::string group;
  raft::PeerId peer;
  raft::Configuration conf;  // Invariant: contains peer.
  std::string data_dir;      // Invariant: exists and is writable.
  int64_t election_timeout_ms = 1000;
  // NodeOptions.snapshot_interval_s (0: no timer) and snapshot_log_index_margin (0: off).
  int64_t snapshot_interval_s = 3600;
  int64_t snapshot_log_index_margin = 0;
  bool help = false;  // --help: print usage and exit; nothing else is set.

  static constexpr const char* kUsage =
      "usage: counter-server --group NAME --peer IP:PORT --conf IP:PORT,IP:PORT,... --data DIR "
      "[--election-timeout-ms N] [--snapshot-interval-s N] [--snapshot-log-index-margin N]";
};

// Parses `args` (without the program name). EINVAL naming the offending flag for an unknown,
// repeated, missing or malformed flag, a peer that is not in --conf, or a --data directory that
// cannot be created or written (the directory is created if missing, and probed with a file).
raft::Result<ServerFlags> parse_server_flags(const std::vector<std::string>& args);

}  // namespace counter
