#include "raft/rpc/cli_client.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <utility>

#include "cli.pb.h"
#include "raft/check.h"
#include "raft/rpc/leader_hint.h"
#include "raft/rpc/method_ids.h"
#include "rpc_error.h"

namespace raft::rpc {
namespace {

namespace pb = ::pontoon::cli;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinBackoff{5};
constexpr milliseconds kMaxBackoff{200};
// One replica's answer to get-leader is awaited at most this long before the next is asked.
constexpr milliseconds kGetLeaderAttempt{1000};

constexpr std::string_view kCannotConnect = "cannot connect to ";

// A call that failed like this was never written to a socket: nothing reached a replica.
bool never_sent(const Status& status) {
  return status.is_unavailable() && status.message().starts_with(kCannotConnect);
}

// Sleeps for the backoff (at most until `deadline`) and doubles it.
void back_off(milliseconds* backoff, SteadyClock::time_point deadline) {
  const auto pause = std::min<Duration>(*backoff, deadline - SteadyClock::now());
  // A client waiting for an election to finish: nothing to wait on but time.
  if (pause > Duration::zero()) std::this_thread::sleep_for(pause);
  *backoff = std::min(*backoff * 2, kMaxBackoff);
}

Duration remaining(SteadyClock::time_point deadline) {
  return std::max<Duration>(Duration::zero(), deadline - SteadyClock::now());
}

template <typename Request>
std::string serialize_for(Request request, const GroupId& group_id, const PeerId& replica) {
  request.mutable_target()->set_group_id(group_id);
  if (!replica.empty()) request.mutable_target()->set_peer_id(replica.to_string());
  return request.SerializeAsString();
}

// The status a ChangeResponse carries.
Status change_status(const std::string& body) {
  pb::ChangeResponse response;
  if (!response.ParseFromString(body)) return Status::Corruption("unparseable ChangeResponse");
  if (response.error().empty()) return Status::OK();
  return decode_rpc_error(response.error());
}

// What a change that was sent to `replica` ended with: the node's answer (`reply_status` OK,
// `body` the ChangeResponse), or the call's failure.
ChangeResult change_result(const Status& reply_status, const std::string& body,
                           const PeerId& replica) {
  ChangeResult result;
  result.replica = replica;
  if (!reply_status.ok()) {
    result.status = reply_status;
    // No answer (a timeout, a connection lost mid-call): the node may have run it.
    result.outcome_unknown =
        (reply_status.is_timed_out() || reply_status.is_unavailable()) && !never_sent(reply_status);
    return result;
  }
  result.status = change_status(body);
  // The entry is in the log, or its answer was lost: either way it may still take effect.
  result.outcome_unknown = result.status.is_step_down() || result.status.is_corruption();
  return result;
}

template <typename Message>
Result<Message> parse_reply(const Status& status, const std::string& body) {
  if (!status.ok()) return status;
  Message message;
  if (!message.ParseFromString(body)) {
    return Status::Corruption("unparseable " + message.GetTypeName());
  }
  return message;
}

Result<PeerId> parse_peer_field(const std::string& what, const std::string& text) {
  Result<PeerId> peer = PeerId::parse(text);
  if (!peer.ok()) return Status::Corruption(what + " '" + text + "' does not parse");
  return peer;
}

// Leaves `conf` empty for empty text.
Status parse_conf_field(const std::string& what, const std::string& text, Configuration* conf) {
  if (text.empty()) return Status::OK();
  Result<Configuration> parsed = Configuration::parse(text);
  if (!parsed.ok()) return Status::Corruption(what + " '" + text + "' does not parse");
  *conf = *parsed;
  return Status::OK();
}

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
  for (Role role :
       {Role::kFollower, Role::kCandidate, Role::kLeader, Role::kError, Role::kShutdown}) {
    if (role_name(role) == name) return role;
  }
  return std::nullopt;
}

CliClient::CliClient(RpcClient* rpc, GroupId group_id, std::vector<PeerId> replicas,
                     Duration timeout)
    : rpc_(rpc), group_id_(std::move(group_id)), replicas_(std::move(replicas)), timeout_(timeout) {
  PONTOON_CHECK(rpc_ != nullptr);
  PONTOON_CHECK(!replicas_.empty());
  PONTOON_CHECK(timeout_ > Duration::zero());
}

CliClient::Reply CliClient::call(const PeerId& replica, uint32_t method_id, const std::string& body,
                                 Duration timeout) {
  auto reply = std::make_shared<std::promise<Reply>>();
  std::future<Reply> result = reply->get_future();
  rpc_->call(replica.endpoint(), method_id, body, timeout,
             [reply](const Status& status, std::string response) {
               reply->set_value(Reply{status, std::move(response)});
             });
  // RpcClient runs every callback exactly once, at the latest about `timeout` from now.
  return result.get();
}

Result<PeerId> CliClient::find_leader(SteadyClock::time_point deadline) {
  milliseconds backoff = kMinBackoff;
  Status last = Status::TimedOut("no replica asked");
  for (;;) {
    // Every replica is asked: one that was removed from the group, or is cut off, still names
    // the leader it last heard of, so the answer of the highest term wins, and at equal terms
    // a replica that names itself (it leads) wins over hearsay.
    size_t not_found = 0;
    PeerId best;
    uint64_t best_term = 0;
    bool best_is_self = false;
    for (const PeerId& replica : replicas_) {
      const Duration attempt = std::min<Duration>(remaining(deadline), kGetLeaderAttempt);
      if (attempt <= Duration::zero()) break;
      Reply reply = call(replica, method::kCliGetLeader,
                         serialize_for(pb::GetLeaderRequest(), group_id_, PeerId()), attempt);
      Result<pb::GetLeaderResponse> response =
          parse_reply<pb::GetLeaderResponse>(reply.status, reply.body);
      if (!response.ok()) {
        last = Status(response.status().code(),
                      replica.to_string() + ": " + std::string(response.status().message()));
        if (response.status().is_not_found()) ++not_found;
        continue;
      }
      if (response->leader_id().empty()) {
        last = Status::Unavailable(replica.to_string() + " knows no leader of group '" + group_id_ +
                                   "'");
        continue;
      }
      Result<PeerId> leader =
          parse_peer_field("leader_id from " + replica.to_string(), response->leader_id());
      if (!leader.ok()) {
        last = leader.status();
        continue;
      }
      const bool is_self = *leader == replica;
      if (best.empty() || response->term() > best_term ||
          (response->term() == best_term && is_self && !best_is_self)) {
        best = *leader;
        best_term = response->term();
        best_is_self = is_self;
      }
    }
    if (!best.empty()) return best;
    // Every replica says it does not host the group: waiting will not change that.
    if (not_found == replicas_.size()) return last;
    if (remaining(deadline) <= Duration::zero()) {
      return Status::TimedOut("no leader of group '" + group_id_ +
                              "' found in time; last: " + last.to_string());
    }
    back_off(&backoff, deadline);
  }
}

template <typename Request>
ChangeResult CliClient::call_leader(uint32_t method_id, const Request& request) {
  const auto deadline = SteadyClock::now() + timeout_;
  milliseconds backoff = kMinBackoff;
  PeerId leader;
  // Redirects followed in a row; past one per replica they go round in circles (an election
  // in progress), and the client backs off.
  size_t redirects = 0;
  ChangeResult refused;  // The last EPERM or unreachable leader, if any.
  for (;;) {
    if (leader.empty()) {
      Result<PeerId> found = find_leader(deadline);
      if (!found.ok() && refused.status.ok()) return ChangeResult{found.status(), false, {}};
      if (!found.ok()) {
        refused.status = Status::TimedOut("no leader of group '" + group_id_ +
                                          "' found in time; last: " + refused.status.to_string());
        return refused;
      }
      leader = *found;
    }
    const Duration attempt = remaining(deadline);
    if (attempt <= Duration::zero()) {
      return ChangeResult{Status::TimedOut("no time left to call the leader " + leader.to_string()),
                          false, leader};
    }
    Reply reply = call(leader, method_id, serialize_for(request, group_id_, leader), attempt);
    ChangeResult result = change_result(reply.status, reply.body, leader);
    if (!result.status.is_not_leader() && !never_sent(result.status)) return result;
    // EPERM (nothing proposed) or unreachable (nothing sent): safe to try again elsewhere.
    std::optional<PeerId> hint = leader_hint(result.status);
    if (hint && *hint != leader && redirects < replicas_.size()) {
      ++redirects;
      leader = *hint;
      continue;
    }
    redirects = 0;
    leader = PeerId();
    refused = std::move(result);
    back_off(&backoff, deadline);
  }
}

ChangeResult CliClient::call_replica(uint32_t method_id, const PeerId& replica, std::string body) {
  Reply reply = call(replica, method_id, body, timeout_);
  return change_result(reply.status, reply.body, replica);
}

ChangeResult CliClient::add_peer(const PeerId& peer) {
  pb::AddPeerRequest request;
  request.set_peer(peer.to_string());
  return call_leader(method::kCliAddPeer, request);
}

ChangeResult CliClient::remove_peer(const PeerId& peer) {
  pb::RemovePeerRequest request;
  request.set_peer(peer.to_string());
  return call_leader(method::kCliRemovePeer, request);
}

ChangeResult CliClient::change_peers(const Configuration& new_peers) {
  pb::ChangePeersRequest request;
  request.set_new_peers(new_peers.to_string());
  return call_leader(method::kCliChangePeers, request);
}

namespace {

pb::LearnersRequest learners_request(const std::vector<PeerId>& learners) {
  pb::LearnersRequest request;
  for (const PeerId& learner : learners) request.add_learners(learner.to_string());
  return request;
}

}  // namespace

ChangeResult CliClient::add_learners(const std::vector<PeerId>& learners) {
  return call_leader(method::kCliAddLearners, learners_request(learners));
}

ChangeResult CliClient::remove_learners(const std::vector<PeerId>& learners) {
  return call_leader(method::kCliRemoveLearners, learners_request(learners));
}

ChangeResult CliClient::reset_learners(const std::vector<PeerId>& learners) {
  return call_leader(method::kCliResetLearners, learners_request(learners));
}

ChangeResult CliClient::transfer_leader(const PeerId& peer) {
  pb::TransferLeaderRequest request;
  if (!peer.empty()) request.set_peer(peer.to_string());
  return call_leader(method::kCliTransferLeader, request);
}

ChangeResult CliClient::reset_peers(const PeerId& replica, const Configuration& new_peers) {
  PONTOON_CHECK(!replica.empty());
  pb::ResetPeersRequest request;
  request.set_new_peers(new_peers.to_string());
  return call_replica(method::kCliResetPeers, replica, serialize_for(request, group_id_, replica));
}

ChangeResult CliClient::snapshot(const PeerId& replica) {
  if (replica.empty()) return call_leader(method::kCliSnapshot, pb::SnapshotRequest());
  return call_replica(method::kCliSnapshot, replica,
                      serialize_for(pb::SnapshotRequest(), group_id_, replica));
}

Result<PeerId> CliClient::get_leader() { return find_leader(SteadyClock::now() + timeout_); }

Result<Configuration> CliClient::list_peers() {
  const auto deadline = SteadyClock::now() + timeout_;
  Result<PeerId> leader = find_leader(deadline);
  if (!leader.ok()) return leader.status();
  Reply reply = call(*leader, method::kCliListPeers,
                     serialize_for(pb::ListPeersRequest(), group_id_, *leader),
                     std::max<Duration>(remaining(deadline), milliseconds(1)));
  Result<pb::ListPeersResponse> response =
      parse_reply<pb::ListPeersResponse>(reply.status, reply.body);
  if (!response.ok()) return response.status();
  Configuration conf;
  if (Status s = parse_conf_field("conf", response->conf(), &conf); !s.ok()) return s;
  return conf;
}

Result<NodeStatus> CliClient::status(const PeerId& replica) {
  Reply reply = call(replica, method::kCliStatus,
                     serialize_for(pb::StatusRequest(), group_id_, PeerId()), timeout_);
  Result<pb::StatusResponse> response = parse_reply<pb::StatusResponse>(reply.status, reply.body);
  if (!response.ok()) return response.status();
  const pb::StatusResponse& r = *response;
  NodeStatus status;
  status.group_id = r.group_id();
  Result<PeerId> peer = parse_peer_field("peer_id", r.peer_id());
  if (!peer.ok()) return peer.status();
  status.peer_id = *peer;
  std::optional<Role> role = parse_role(r.role());
  if (!role) return Status::Corruption("unknown role '" + r.role() + "'");
  status.role = *role;
  status.term = Term(r.term());
  if (!r.leader_id().empty()) {
    Result<PeerId> leader = parse_peer_field("leader_id", r.leader_id());
    if (!leader.ok()) return leader.status();
    status.leader_id = *leader;
  }
  status.first_log_index = LogIndex(r.first_log_index());
  status.last_log_index = LogIndex(r.last_log_index());
  status.commit_index = LogIndex(r.commit_index());
  status.applied_index = LogIndex(r.applied_index());
  status.last_snapshot = LogId{LogIndex(r.last_snapshot_index()), Term(r.last_snapshot_term())};
  if (!r.snapshot_install_error().empty()) {
    status.snapshot_install_error = decode_rpc_error(r.snapshot_install_error());
  }
  // Empty on a joining replica, which has no configuration yet.
  if (Status s = parse_conf_field("conf", r.conf(), &status.conf); !s.ok()) return s;
  if (Status s = parse_conf_field("old_conf", r.old_conf(), &status.old_conf); !s.ok()) return s;
  for (const pb::FollowerStatus& follower : r.followers()) {
    Result<PeerId> id = parse_peer_field("follower", follower.peer_id());
    if (!id.ok()) return id.status();
    status.peers.push_back({*id, LogIndex(follower.next_index()), LogIndex(follower.match_index()),
                            follower.window_resets(), follower.resends(),
                            follower.out_of_order_acks(), follower.appends_sent(),
                            follower.entries_sent(), follower.appends_held(),
                            follower.storage_reads(), follower.entries_read_from_storage()});
  }
  status.append_reorder.held = r.append_reorder().held();
  status.append_reorder.released = r.append_reorder().released();
  status.append_reorder.rejected = r.append_reorder().rejected();
  status.append_reorder.holding = r.append_reorder().holding();
  return status;
}

}  // namespace raft::rpc
