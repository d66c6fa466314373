#include "raft/rpc/cli_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.pb.h"
#include "raft/check.h"
#include "raft/rpc/leader_hint.h"
#include "raft/rpc/method_ids.h"
#include "rpc_error.h"

namespace raft::rpc {
namespace {

namespace pb = ::pontoon::cli;
using Responder = RpcServer::Responder;

enum class Access { kAnyReplica, kLeaderOnly };

Status bad_argument(std::string_view argument, const std::string& text, const Status& why) {
  return Status::InvalidArgument(std::string(argument) + " '" + text +
                                 "': " + std::string(why.message()));
}

Result<PeerId> parse_peer(std::string_view argument, const std::string& text) {
  Result<PeerId> peer = PeerId::parse(text);
  if (!peer.ok()) return bad_argument(argument, text, peer.status());
  return peer;
}

Result<Configuration> parse_conf(std::string_view argument, const std::string& text) {
  Result<Configuration> conf = Configuration::parse(text);
  if (!conf.ok()) return bad_argument(argument, text, conf.status());
  return conf;
}

Result<std::vector<PeerId>> parse_peers(
    std::string_view argument, const google::protobuf::RepeatedPtrField<std::string>& texts) {
  std::vector<PeerId> peers;
  for (const std::string& text : texts) {
    Result<PeerId> peer = parse_peer(argument, text);
    if (!peer.ok()) return peer.status();
    peers.push_back(*peer);
  }
  return peers;
}

Status not_leader(const Node& node) {
  return not_leader_status(node.leader_id(), "group " + node.group_id());
}

// Answers EPERM with the leader's id and returns false unless `node` leads. Leadership may
// move right after; the node's closure then answers EPERM the same way.
bool require(Access access, const Node& node, const Responder& respond) {
  if (access == Access::kAnyReplica || node.is_leader()) return true;
  respond(not_leader(node), std::string());
  return false;
}

// A closure that answers `respond` with a ChangeResponse carrying the status the node ran it
// with (EPERM with the leader's id). It runs while `node` is alive: a node runs every closure
// handed to it before its shutdown finishes.
std::unique_ptr<Closure> answer_when_done(Node* node, Responder respond) {
  return make_closure([node, respond = std::move(respond)](const Status& status) {
    pb::ChangeResponse response;
    if (!status.ok()) {
      response.set_error(encode_rpc_error(status.is_not_leader() ? not_leader(*node) : status));
    }
    respond(Status::OK(), response.SerializeAsString());
  });
}

// add_peer / remove_peer.
template <typename Request, void (Node::*change)(const PeerId&, std::unique_ptr<Closure>)>
void change_one_peer(Node* node, const Request& request, Responder respond) {
  Result<PeerId> peer = parse_peer("peer", request.peer());
  if (!peer.ok()) return respond(peer.status(), std::string());
  if (!require(Access::kLeaderOnly, *node, respond)) return;
  (node->*change)(*peer, answer_when_done(node, std::move(respond)));
}

// add_learners / remove_learners / reset_learners.
template <void (Node::*change)(const std::vector<PeerId>&, std::unique_ptr<Closure>)>
void change_learners(Node* node, const pb::LearnersRequest& request, Responder respond) {
  Result<std::vector<PeerId>> learners = parse_peers("learners", request.learners());
  if (!learners.ok()) return respond(learners.status(), std::string());
  if (!require(Access::kLeaderOnly, *node, respond)) return;
  (node->*change)(*learners, answer_when_done(node, std::move(respond)));
}

// change_peers (through consensus, on the leader) / reset_peers (at once, on any replica).
template <typename Request, Access access,
          void (Node::*change)(const Configuration&, std::unique_ptr<Closure>)>
void set_peers(Node* node, const Request& request, Responder respond) {
  Result<Configuration> conf = parse_conf("new_peers", request.new_peers());
  if (!conf.ok()) return respond(conf.status(), std::string());
  if (!require(access, *node, respond)) return;
  (node->*change)(*conf, answer_when_done(node, std::move(respond)));
}

void transfer_leader(Node* node, const pb::TransferLeaderRequest& request, Responder respond) {
  PeerId peer;  // Empty: any voter.
  if (!request.peer().empty()) {
    Result<PeerId> parsed = parse_peer("peer", request.peer());
    if (!parsed.ok()) return respond(parsed.status(), std::string());
    peer = *parsed;
  }
  if (!require(Access::kLeaderOnly, *node, respond)) return;
  node->transfer_leadership_to(peer, answer_when_done(node, std::move(respond)));
}

void take_snapshot(Node* node, const pb::SnapshotRequest&, Responder respond) {
  node->snapshot(answer_when_done(node, std::move(respond)));
}

void get_leader(Node* node, const pb::GetLeaderRequest&, Responder respond) {
  pb::GetLeaderResponse response;
  const NodeStatus status = node->get_status();
  if (!status.leader_id.empty()) response.set_leader_id(status.leader_id.to_string());
  response.set_term(status.term.value());
  respond(Status::OK(), response.SerializeAsString());
}

void list_peers(Node* node, const pb::ListPeersRequest&, Responder respond) {
  // One status read, so that voters and learners come from the same configuration.
  const NodeStatus status = node->get_status();
  pb::ListPeersResponse response;
  for (const PeerId& peer : status.conf.peers()) response.add_peers(peer.to_string());
  for (const PeerId& peer : status.conf.learners()) response.add_learners(peer.to_string());
  response.set_conf(status.conf.to_string());
  respond(Status::OK(), response.SerializeAsString());
}

void report_status(Node* node, const pb::StatusRequest&, Responder respond) {
  const NodeStatus status = node->get_status();
  pb::StatusResponse response;
  response.set_group_id(status.group_id);
  response.set_peer_id(status.peer_id.to_string());
  response.set_role(std::string(role_name(status.role)));
  response.set_term(status.term.value());
  if (!status.leader_id.empty()) response.set_leader_id(status.leader_id.to_string());
  response.set_first_log_index(status.first_log_index.value());
  response.set_last_log_index(status.last_log_index.value());
  response.set_commit_index(status.commit_index.value());
  response.set_applied_index(status.applied_index.value());
  response.set_last_snapshot_index(status.last_snapshot.index.value());
  response.set_last_snapshot_term(status.last_snapshot.term.value());
  response.set_conf(status.conf.to_string());
  if (!status.old_conf.empty()) response.set_old_conf(status.old_conf.to_string());
  if (!status.snapshot_install_error.ok()) {
    response.set_snapshot_install_error(encode_rpc_error(status.snapshot_install_error));
  }
  for (const PeerReplicationStatus& peer : status.peers) {
    pb::FollowerStatus* follower = response.add_followers();
    follower->set_peer_id(peer.peer.to_string());
    follower->set_next_index(peer.next_index.value());
    follower->set_match_index(peer.match_index.value());
    follower->set_window_resets(peer.window_resets);
    follower->set_resends(peer.resends);
    follower->set_out_of_order_acks(peer.out_of_order_acks);
    follower->set_appends_sent(peer.appends_sent);
    follower->set_entries_sent(peer.entries_sent);
    follower->set_appends_held(peer.appends_held);
    follower->set_storage_reads(peer.storage_reads);
    follower->set_entries_read_from_storage(peer.entries_read_from_storage);
  }
  pb::AppendReorderStatus* reorder = response.mutable_append_reorder();
  reorder->set_held(status.append_reorder.held);
  reorder->set_released(status.append_reorder.released);
  reorder->set_rejected(status.append_reorder.rejected);
  reorder->set_holding(status.append_reorder.holding);
  respond(Status::OK(), response.SerializeAsString());
}

}  // namespace

// Decodes a request, finds its node and hands both to an operation, under the registry lock.
struct CliService::Handlers {
  template <typename Request>
  using Operation = void (*)(Node* node, const Request& request, Responder respond);

  template <typename Request>
  static RpcServer::Handler bind(CliService* service, Operation<Request> operation) {
    return [service, operation](const std::string& body, Responder respond) {
      Request request;
      if (!request.ParseFromString(body)) {
        respond(Status::InvalidArgument("malformed " + request.GetTypeName()), std::string());
        return;
      }
      // Held while the operation hands the request to the node, so that remove_node() waits
      // for it; node calls do not block, and closures that run inline only send a response.
      std::lock_guard<std::mutex> lock(service->mu_);
      Result<Node*> node = find(*service, request.target());
      if (!node.ok()) return respond(node.status(), std::string());
      operation(*node, request, std::move(respond));
    };
  }

  // REQUIRES: service.mu_ is held.
  static Result<Node*> find(const CliService& service, const pb::Target& target) {
    auto it = service.nodes_.find(target.group_id());
    if (it == service.nodes_.end()) {
      return Status::NotFound("group '" + target.group_id() + "': no replica of it here");
    }
    Node* node = it->second;
    if (target.peer_id().empty()) return node;
    Result<PeerId> peer = parse_peer("peer_id", target.peer_id());
    if (!peer.ok()) return peer.status();
    if (*peer != node->peer_id()) {
      return Status::NotFound("peer " + peer->to_string() + ": the replica of group '" +
                              target.group_id() + "' here is " + node->peer_id().to_string());
    }
    return node;
  }
};

Status CliService::register_on(TcpTransport& transport) {
  using H = Handlers;
  const std::pair<uint32_t, RpcServer::Handler> methods[] = {
      {method::kCliAddPeer,
       H::bind<pb::AddPeerRequest>(this, &change_one_peer<pb::AddPeerRequest, &Node::add_peer>)},
      {method::kCliRemovePeer,
       H::bind<pb::RemovePeerRequest>(this,
                                      &change_one_peer<pb::RemovePeerRequest, &Node::remove_peer>)},
      {method::kCliChangePeers,
       H::bind<pb::ChangePeersRequest>(
           this, &set_peers<pb::ChangePeersRequest, Access::kLeaderOnly, &Node::change_peers>)},
      {method::kCliAddLearners,
       H::bind<pb::LearnersRequest>(this, &change_learners<&Node::add_learners>)},
      {method::kCliRemoveLearners,
       H::bind<pb::LearnersRequest>(this, &change_learners<&Node::remove_learners>)},
      {method::kCliResetLearners,
       H::bind<pb::LearnersRequest>(this, &change_learners<&Node::reset_learners>)},
      {method::kCliResetPeers,
       H::bind<pb::ResetPeersRequest>(
           this, &set_peers<pb::ResetPeersRequest, Access::kAnyReplica, &Node::reset_peers>)},
      {method::kCliTransferLeader, H::bind<pb::TransferLeaderRequest>(this, &transfer_leader)},
      {method::kCliGetLeader, H::bind<pb::GetLeaderRequest>(this, &get_leader)},
      {method::kCliListPeers, H::bind<pb::ListPeersRequest>(this, &list_peers)},
      {method::kCliSnapshot, H::bind<pb::SnapshotRequest>(this, &take_snapshot)},
      {method::kCliStatus, H::bind<pb::StatusRequest>(this, &report_status)},
  };
  for (const auto& [id, handler] : methods) {
    if (Status s = transport.register_method(id, handler); !s.ok()) return s;
  }
  return Status::OK();
}

Status CliService::add_node(Node* node) {
  PONTOON_CHECK(node != nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = nodes_.emplace(node->group_id(), node);
  if (!inserted) {
    return Status::InvalidArgument("group '" + node->group_id() + "' already has a replica here (" +
                                   it->second->peer_id().to_string() + ")");
  }
  return Status::OK();
}

void CliService::remove_node(const GroupId& group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  nodes_.erase(group_id);
}

}  // namespace raft::rpc
