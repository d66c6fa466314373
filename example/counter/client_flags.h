// ClientFlags: the command line of counter-client, parsed and checked.
//
//   counter-client --conf IP:PORT,... [--timeout-ms N] COMMAND
//     incr DELTA                        add DELTA, print the value after it
//     get                               print the value (a linearizable read)
//     status                            one line per replica
//     load --clients N [--client-threads T] [--reads-per-write R] (--seconds S | --ops N)
//                                       N closed-loop clients doing incr 1 (and R gets
//                                       between increments, checked against what was
//                                       acknowledged); prints "acked=A unknown=U failed=F"
//                                       (with R: " reads=N stale_reads=S read_failed=F"),
//                                       also when SIGINT/SIGTERM ends it early
//
// Flags may come before or after the command and may be written --flag=value.
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load_generator.h"
#include "raft/status.h"

namespace counter {

struct ClientFlags {
  enum class Command { kIncr, kGet, kStatus, kLoad };

  std::vector<std::string> endpoints;  // Invariant: non-empty, each a valid "ip:port".
  int64_t timeout_ms = 10000;          // Per operation, retries included.
  Command command = Command::kGet;
  int64_t delta = 0;  // incr only.
  LoadOptions load;   // load only.
  // load only (--client-fibers): run the clients' fibers on the RPC client's IO threads
  // (hosted, the default) or on threads of their own (threads).
  bool host_client_fibers = true;
  bool help = false;  // --help: print usage and exit; nothing else is set.

  static constexpr const char* kUsage =
      "usage: counter-client --conf IP:PORT,... [--timeout-ms N] "
      "(incr DELTA | get | status | load --clients N [--client-threads T] [--client-fibers "
      "hosted|threads] [--reads-per-write 0-99] "
      "(--seconds S | --ops N))";
};

// Parses `args` (without the program name). EINVAL naming the offending flag or argument.
raft::Result<ClientFlags> parse_client_flags(const std::vector<std::string>& args);

}  // namespace counter
