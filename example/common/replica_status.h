// ReplicaStatus: what one replica says about itself in answer to a service's Status method,
// and the helpers both sides use to move it in and out of a service's StatusResponse.
//
// Every example service's StatusResponse has the same first eight fields (peer, role, term,
// leader, first_log_index, last_log_index, commit_index, applied_index) and field 10
// (last_snapshot_index); field 9 and any after 10 are its own view of the state machine. These
// templates handle the shared part for any such message.
// Thread-safety: values and free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leader_client.h"
#include "raft/node.h"
#include "raft/status.h"

namespace example {

struct ReplicaStatus {
  std::string endpoint;
  raft::Status error;  // Not OK if the replica did not answer; the fields below are then unset.
  std::string role;
  int64_t term = 0;
  std::string leader;
  int64_t first_log_index = 0;
  int64_t last_log_index = 0;
  int64_t commit_index = 0;
  int64_t applied_index = 0;
  int64_t last_snapshot_index = 0;  // 0: no snapshot.
};

// Server side: the node's view into a StatusResponse.
template <typename StatusResponse>
void fill_node_status(const raft::NodeStatus& status, StatusResponse* response) {
  response->set_peer(status.peer_id.endpoint());
  response->set_role(std::string(raft::role_name(status.role)));
  response->set_term(status.term.value());
  response->set_leader(status.leader_id.empty() ? std::string() : status.leader_id.endpoint());
  response->set_first_log_index(status.first_log_index.value());
  response->set_last_log_index(status.last_log_index.value());
  response->set_commit_index(status.commit_index.value());
  response->set_applied_index(status.applied_index.value());
  response->set_last_snapshot_index(status.last_snapshot.index.value());
}

// Client side: one replica's reply to a Status call, parsed into `response` as well.
template <typename StatusResponse>
ReplicaStatus replica_status_from(const std::string& endpoint, const Reply& reply,
                                  StatusResponse* response) {
  ReplicaStatus status;
  status.endpoint = endpoint;
  if (!reply.status.ok()) {
    status.error = reply.status;
  } else if (!response->ParseFromString(reply.body)) {
    status.error = raft::Status::Corruption("unparseable " + response->GetTypeName());
  } else {
    status.role = response->role();
    status.term = response->term();
    status.leader = response->leader();
    status.first_log_index = response->first_log_index();
    status.last_log_index = response->last_log_index();
    status.commit_index = response->commit_index();
    status.applied_index = response->applied_index();
    status.last_snapshot_index = response->last_snapshot_index();
  }
  return status;
}

// Calls a service's Status method (`method_id`, an empty request) on every replica, and for
// each reply builds a `Status` (a ReplicaStatus subclass) whose own fields `fill(response,
// &status)` sets from a parsed `StatusResponse`. One entry per endpoint, in order.
template <typename Status, typename StatusResponse, typename Fill>
std::vector<Status> status_of_each(LeaderClient& client, uint32_t method_id, raft::Duration timeout,
                                   Fill fill) {
  std::vector<Reply> replies = client.call_each(method_id, std::string(), timeout);
  std::vector<Status> statuses;
  for (size_t i = 0; i < replies.size(); ++i) {
    StatusResponse response;
    Status status;
    static_cast<ReplicaStatus&>(status) =
        replica_status_from(client.endpoints()[i], replies[i], &response);
    if (status.error.ok()) fill(response, &status);
    statuses.push_back(std::move(status));
  }
  return statuses;
}

// "ENDPOINT  role=leader term=2 leader=ENDPOINT last=5 commit=5 applied=5 first=1 snapshot=0",
// or "ENDPOINT  unreachable (...)"; a service appends its own fields. New fields go at the end
// of the shared part, so that scripts reading fields by position or by key keep working.
std::string describe(const ReplicaStatus& status);

}  // namespace example
