// How an example service answers reads (--read): through the log, or without it with
// Node::read_index (docs/reads.md).
//
//   log        the read is a no-op entry proposed on the leader, answered once applied
//   index      ReadIndex: one heartbeat round confirms the leader (the default)
//   lease      the leader answers within its lease without the round
//   wait-free  a leader within its lease that applied its term's first entry answers at once
//
// A replica that is not the leader serves index/lease/wait-free reads too: it asks the leader
// for the read index and answers from its own state once it has applied it.
// Errors follow service_protocol.h: EPERM with a leader hint when no leader is known or this
// replica lost leadership; EBUSY (retry: nothing happened) for EAGAIN, a full queue and the
// other transient failures. Thread-safety: free functions; serve_read may be called from any
// thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/status.h"
#include "server_flags.h"

namespace example {

// Answers a read with `answer()` (the response body) once it is linearizable on this replica.
// REQUIRES: mode != kLog; `node` outlives the answer; `answer` may run on the node's fsm lane
// or, for kWaitFree, its node lane, concurrently with on_apply: it must read the state machine
// in a thread-safe way.
void serve_read(raft::Node* node, ServiceReadMode mode, raft::rpc::RpcServer::Responder respond,
                std::function<std::string()> answer);

}  // namespace example
