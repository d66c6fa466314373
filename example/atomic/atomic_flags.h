// The command line of atomic-client, parsed and checked (atomic-server takes exactly the
// replica flags, example/common/server_flags.h).
//
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

namespace atomic {

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
