// CliCommand: one raft-cli command line, parsed and checked, and running it on a CliClient
// (docs/operations.md is the reference).
//
//   raft-cli COMMAND --group G --conf IP:PORT,... [--timeout-ms N] [--peer IP:PORT] [ARG]
//
// Thread-safety: a value; run_command() from one thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "raft/configuration.h"
#include "raft/peer_id.h"
#include "raft/rpc/cli_client.h"
#include "raft/status.h"

namespace raft::cli {

// raft-cli's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // The operation failed; the message names the code.
inline constexpr int kExitUsage = 2;    // A bad, missing or unknown flag or argument.
inline constexpr int kExitUnknown = 3;  // The change was sent and may still complete.

enum class Command {
  kAddPeer,
  kRemovePeer,
  kChangePeers,
  kAddLearners,
  kRemoveLearners,
  kResetLearners,
  kResetPeers,
  kTransferLeader,
  kGetLeader,
  kListPeers,
  kSnapshot,
  kStatus,
};

struct CliCommand {
  Command command = Command::kStatus;
  std::string name;  // As typed, e.g. "add-peer".
  GroupId group;
  std::vector<PeerId> replicas;  // --conf. Invariant: non-empty.
  int64_t timeout_ms = 30000;    // --timeout-ms
  PeerId peer;                   // --peer (reset-peers, snapshot, status); may be empty.
  PeerId target;                 // add-peer, remove-peer, transfer-leader.
  Configuration new_peers;       // change-peers, reset-peers.
  std::vector<PeerId> learners;  // add-, remove-, reset-learners.
  bool help = false;             // --help (or no arguments): print usage; nothing else is set.
};

// The usage text `raft-cli --help` prints.
std::string usage();

// Parses `args` (without the program name). EINVAL naming the flag or argument that is
// missing, malformed, unknown or not used by the command.
Result<CliCommand> parse_command(const std::vector<std::string>& args);

// Runs `command` on `client` (built for command.group and command.replicas), prints the
// result on `out` and failures on `err`, and returns the exit code.
int run_command(const CliCommand& command, rpc::CliClient& client, std::ostream& out,
                std::ostream& err);

}  // namespace raft::cli
