// The command lines of atomic-server and atomic-client, parsed and checked.
//
//   atomic-server --group NAME --peer IP:PORT --conf IP:PORT,... --data DIR
//                 [--election-timeout-ms N] [--read log]
//   atomic-client --conf IP:PORT,... [--timeout-ms N] COMMAND
//     get KEY                    print the register (a linearizable read)
//     set KEY VALUE              store VALUE, print it
//     cas KEY EXPECTED NEW       store NEW if the register holds EXPECTED; print the register
//                                after (exit 0 if swapped, 4 if it held another value)
//     fetch-add KEY DELTA        add DELTA, print the value before
//     status                     one line per replica
//
// Flags may come before or after the command and may be written --flag=value.
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster_flags.h"
#include "raft/status.h"
#include "server_flags.h"

namespace atomic {

// How the server answers get. Only kLog exists today: a get is a no-op entry in the log.
// ReadIndex (kIndex) and lease reads (kLease) will join it once raft-core offers them.
enum class ReadMode { kLog };

struct AtomicServerFlags {
  example::ServerFlags replica;
  ReadMode read = ReadMode::kLog;

  static constexpr const char* kUsage =
      "usage: atomic-server --group NAME --peer IP:PORT (--conf IP:PORT,IP:PORT,... | --join) "
      "--data DIR [--election-timeout-ms N] [--snapshot-interval-s N] "
      "[--snapshot-log-index-margin N] [--log-storage rocksdb|segments] "
      "[--log-segment-max-bytes N] [--inject-disk-eio-on-signal] [--read log]";
};

// Parses `args` (without the program name). EINVAL naming the offending flag, as
// example::parse_server_flags() does, or --read for a mode other than "log". --read is checked
// before the data directory is created.
raft::Result<AtomicServerFlags> parse_atomic_server_flags(const std::vector<std::string>& args);

struct AtomicClientFlags {
  enum class Command { kGet, kSet, kCompareAndSet, kFetchAdd, kStatus };

  example::ClusterFlags cluster;
  Command command = Command::kGet;
  std::string key;        // All but status. Invariant: validate_key(key) is OK.
  int64_t operand = 0;    // set: VALUE; cas: EXPECTED; fetch-add: DELTA.
  int64_t new_value = 0;  // cas: NEW.
  bool help = false;      // --help: print usage and exit; nothing else is set.

  static constexpr const char* kUsage =
      "usage: atomic-client --conf IP:PORT,... [--timeout-ms N] (get KEY | set KEY VALUE | "
      "cas KEY EXPECTED NEW | fetch-add KEY DELTA | status)";
};

// Parses `args` (without the program name). EINVAL naming the offending flag, or the command
// and the argument at fault.
raft::Result<AtomicClientFlags> parse_atomic_client_flags(const std::vector<std::string>& args);

}  // namespace atomic
