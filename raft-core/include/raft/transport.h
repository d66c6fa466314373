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
#include "raft/snapshot.h"
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
  // The candidate campaigns because the leader asked it to (TimeoutNow): receivers vote even
  // though they heard from that leader within an election timeout (Raft thesis §3.10).
  bool leadership_transfer = false;
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

// InstallSnapshot (Raft §7): the leader tells a follower that is behind its first log entry to
// replace its state with the leader's snapshot. The request carries only the meta; the
// follower pulls the files with GetFile, verifies each against `files`, publishes and loads
// the snapshot, and answers only then (so the leader's timeout for this RPC is long).
struct InstallSnapshotRequest {
  GroupId group_id;
  PeerId server_id;  // The leader.
  PeerId peer_id;    // The receiver.
  Term term;
  SnapshotMeta meta;
  std::vector<SnapshotFile> files;
  // Names the leader's open snapshot in GetFile requests.
  uint64_t reader_id = 0;
};

struct InstallSnapshotResponse {
  Term term;
  bool success = false;
};

// GetFile: a chunk of one file of the snapshot the leader opened as `reader_id`.
struct GetFileRequest {
  GroupId group_id;
  PeerId server_id;  // The requester (the follower installing).
  PeerId peer_id;    // The receiver (the leader that serves the snapshot).
  uint64_t reader_id = 0;
  std::string file_name;
  uint64_t offset = 0;
  uint64_t max_bytes = 0;
};

struct GetFileResponse {
  // Up to max_bytes at offset; shorter when the file ends or the sender's throttle allows no
  // more now (possibly empty: the requester then waits a moment and asks again).
  std::string data;
  // The file ends with these bytes.
  bool eof = false;
};

// TimeoutNow (Raft thesis §3.10, leadership transfer): the leader, having brought the receiver
// up to date, tells it to start an election at once, skipping its election timeout and the
// pre-vote. The receiver answers whether it started one.
struct TimeoutNowRequest {
  GroupId group_id;
  PeerId server_id;  // The leader.
  PeerId peer_id;    // The receiver (the transfer's target).
  Term term;
};

struct TimeoutNowResponse {
  Term term;  // The receiver's term after it acted on the request.
  bool success = false;
};

// ReadIndex (Raft thesis §6.4): a follower or learner asks the leader for an index that a
// linearizable read must wait for. The leader confirms it still leads with a heartbeat round
// and answers its commit index; failures travel as the RPC's status (EPERM: not the leader,
// EAGAIN: it has not committed an entry of its term yet).
struct ReadIndexRequest {
  GroupId group_id;
  PeerId server_id;  // The asking follower or learner.
  PeerId peer_id;    // The receiver, believed to lead.
};

struct ReadIndexResponse {
  LogIndex index;  // Reads are linearizable once the asker has applied this index.
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
  virtual void handle_install_snapshot(const InstallSnapshotRequest& request,
                                       RpcCallback<InstallSnapshotResponse> done) = 0;
  // ENOENT if no snapshot is open under the reader id (it changed or the leader moved on);
  // EINVAL for a name the snapshot does not have.
  virtual void handle_get_file(const GetFileRequest& request,
                               RpcCallback<GetFileResponse> done) = 0;
  virtual void handle_timeout_now(const TimeoutNowRequest& request,
                                  RpcCallback<TimeoutNowResponse> done) = 0;
  virtual void handle_read_index(const ReadIndexRequest& request,
                                 RpcCallback<ReadIndexResponse> done) = 0;
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
  virtual void install_snapshot(const InstallSnapshotRequest& request, Duration timeout,
                                RpcCallback<InstallSnapshotResponse> done) = 0;
  virtual void get_file(const GetFileRequest& request, Duration timeout,
                        RpcCallback<GetFileResponse> done) = 0;
  virtual void timeout_now(const TimeoutNowRequest& request, Duration timeout,
                           RpcCallback<TimeoutNowResponse> done) = 0;
  virtual void read_index(const ReadIndexRequest& request, Duration timeout,
                          RpcCallback<ReadIndexResponse> done) = 0;
};

}  // namespace raft
