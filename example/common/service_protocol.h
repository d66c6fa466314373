// What every example service's server and client agree on beyond their messages: how a
// redirect names the leader, which errors prove that a write was NOT applied, and which leave
// its outcome unknown. example/counter and example/atomic both follow these rules.
//
// Errors travel as the RPC's Status. The server answers:
//   EPERM  "not the leader; leader_hint=IP:PORT" (or "...; no leader known") — before
//          proposing anything: definitely not applied. The client retries at the hint.
//   EBUSY  the leader refused the proposal (a full queue): definitely not applied.
//   EINVAL a malformed request: definitely not applied, and retrying will not help.
//   EIO    "outcome unknown: ..." — the entry was handed to Raft but this replica lost
//          leadership or shut down before it was applied; it may still commit.
// The client's own RpcClient adds EHOSTDOWN "cannot connect to ..." (never sent: definitely not
// applied), EHOSTDOWN "connection ... lost" and ETIMEDOUT (sent, maybe applied: unknown), and
// EBUSY (too many calls pending: never sent).
//
// Thread-safety: free functions on values.
#pragma once

#include <optional>
#include <string>

#include "raft/peer_id.h"
#include "raft/status.h"

namespace example {

// The EPERM a replica that is not the leader answers with; `leader` may be empty (unknown).
raft::Status not_leader_status(const raft::PeerId& leader);

// The "ip:port" named by a not_leader_status, or nothing if it names none (or `status` is not
// one).
std::optional<std::string> leader_hint(const raft::Status& status);

// What the server answers when the closure of a proposal it made fails with `failure`.
// REQUIRES: !failure.ok()
raft::Status proposal_failure_status(const raft::Status& failure);

// How a client must treat the failure of a call that proposes a write.
enum class CallFailure {
  kNotLeader,  // EPERM from the server: not applied; retry at the leader hint.
  kBusy,       // EBUSY: not applied; back off and retry at the same replica.
  kNotSent,    // The request never reached a server that serves the service: not applied;
               // try another replica.
  kRejected,   // Definitely not applied, and retrying cannot help (EINVAL).
  kUnknown,    // It may or may not have been applied.
};
// REQUIRES: !status.ok()
CallFailure classify_call_failure(const raft::Status& status);

}  // namespace example
