// How a replica that does not lead names the leader in its EPERM answer, so that a client can
// redirect: "<what>: not the leader; leader_hint=IP:PORT[:INDEX]", or "...; no leader known".
// Shared by every service that answers on a replica's port (the CLI service, the examples).
//
// Thread-safety: free functions on values.
#pragma once

#include <optional>
#include <string_view>

#include "raft/peer_id.h"
#include "raft/status.h"

namespace raft::rpc {

// The EPERM a replica that is not the leader answers with; `leader` may be empty (unknown).
// `context` (may be empty) prefixes the message, e.g. "group counter".
Status not_leader_status(const PeerId& leader, std::string_view context = {});

// The leader named by a not_leader_status, or nothing if it names none (or `status` is not
// one).
std::optional<PeerId> leader_hint(const Status& status);

}  // namespace raft::rpc
