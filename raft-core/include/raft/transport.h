// The RPCs of Raft (§5, Figure 2, plus pre-vote from §9.6 of Ongaro's thesis) as plain values,
// and the seam between raft-core and whatever carries them.
//
// raft-core speaks only these types. raft-rpc maps them to protobuf frames over TCP
// (TcpTransport) and to in-process calls with fault injection (tests); neither is known here.
#pragma once

#include <functional>
#include <vector>

#include "raft/clock.h"
#include "raft/log_entry.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

struct RequestVoteRequest {
  GroupId group_id;
  PeerId server_id;  // The candidate.
  PeerId peer_id;    // The receiver.
  Term term;         // For a pre-vote: the term the candidate would campaign in.
  LogId last_log_id;
  bool pre_vote = false;
};

struct RequestVoteResponse {
  Term term;  // The receiver's current term, so a stale candidate learns of a newer term.
  bool granted = false;
};

struct AppendEntriesRequest {
  GroupId group_id;
  PeerId server_id;  // The leader.
  PeerId peer_id;    // The receiver.
  Term term;
  LogId prev_log_id;         // The entry just before `entries` (Raft §5.3 consistency check).
  LogIndex committed_index;  // The leader's commit index.
  std::vector<LogEntryPtr> entries;  // Empty for a heartbeat or a probe.
};

struct AppendEntriesResponse {
  Term term;
  bool success = false;
  // The receiver's last log index (after the request took effect, if success).
  LogIndex last_log_index;
  // When !success because of a log mismatch: a hint for fast backtracking (Raft §5.3, the
  // optimisation at the end of the section). conflict_term is the term of the receiver's
  // entry at prev_log_id.index (0 if it has none) and conflict_index the first index the
  // receiver holds with that term (or last_log_index + 1 if it has no entry there).
  Term conflict_term;
  LogIndex conflict_index;
};

// Called exactly once, on any thread. A non-OK status means no response arrived (timeout,
// unreachable peer, transport shut down); the response is then default-constructed.
template <typename Response>
using RpcCallback = std::function<void(const Status&, const Response&)>;

// The server side of one replica: what a transport delivers incoming requests to.
// Implementations may be called from any thread and must call `done` exactly once.
class RaftService {
 public:
  virtual ~RaftService() = default;
  virtual void handle_request_vote(const RequestVoteRequest& request,
                                   RpcCallback<RequestVoteResponse> done) = 0;
  virtual void handle_append_entries(const AppendEntriesRequest& request,
                                     RpcCallback<AppendEntriesResponse> done) = 0;
};

// Carries RPCs between replicas, and routes incoming ones by (group id, receiver peer id) to
// registered services. One transport serves every group of a process.
// Thread-safety: every method may be called from any thread.
class RaftTransport {
 public:
  virtual ~RaftTransport() = default;

  // Incoming requests for (group_id, self) go to `service` until unregister_service returns.
  // EINVAL if that pair is already registered. `service` must outlive its registration.
  virtual Status register_service(const GroupId& group_id, const PeerId& self,
                                  RaftService* service) = 0;
  // After this returns no call into the service is running or will start.
  virtual void unregister_service(const GroupId& group_id, const PeerId& self) = 0;

  // Sends to request.peer_id; `done` runs once with the response or the failure, at the
  // latest `timeout` after the call.
  virtual void request_vote(const RequestVoteRequest& request, Duration timeout,
                            RpcCallback<RequestVoteResponse> done) = 0;
  virtual void append_entries(const AppendEntriesRequest& request, Duration timeout,
                              RpcCallback<AppendEntriesResponse> done) = 0;
};

}  // namespace raft
