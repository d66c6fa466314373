#include "counter_service.h"

#include <memory>
#include <utility>

#include "counter.pb.h"
#include "counter_command.h"
#include "counter_protocol.h"
#include "raft/rpc/method_ids.h"
#include "raft/task.h"

namespace counter {
namespace {

namespace pb = ::pontoon::counter;
using raft::rpc::RpcServer;

template <typename Message>
bool parse(const std::string& body, Message* message) {
  return message->ParseFromString(body);
}

}  // namespace

raft::Status CounterService::register_methods(raft::rpc::TcpTransport& transport) {
  namespace method = raft::rpc::method;
  const std::pair<uint32_t, void (CounterService::*)(const std::string&, RpcServer::Responder)>
      methods[] = {{method::kCounterIncrement, &CounterService::handle_increment},
                   {method::kCounterGet, &CounterService::handle_get},
                   {method::kCounterStatus, &CounterService::handle_status}};
  for (const auto& [id, handler] : methods) {
    raft::Status s = transport.register_method(
        id, [this, handler](const std::string& body, RpcServer::Responder respond) {
          (this->*handler)(body, std::move(respond));
        });
    if (!s.ok()) return s;
  }
  return raft::Status::OK();
}

template <typename Encode>
void CounterService::propose(const std::string& command, RpcServer::Responder respond,
                             Encode encode) {
  // A shortcut, not a safety check: a follower answers the redirect at once instead of going
  // through the apply ring (which would answer the same EPERM).
  if (!node_->is_leader()) {
    respond(not_leader_status(node_->leader_id()), std::string());
    return;
  }
  raft::Task task;
  task.data = command;
  task.done = std::make_unique<CounterClosure>(
      [this, respond = std::move(respond), encode](const raft::Status& status, int64_t value) {
        // EPERM proves nothing was appended: the client retries at the leader we know of.
        if (status.is_not_leader()) {
          respond(not_leader_status(node_->leader_id()), std::string());
          return;
        }
        if (!status.ok()) {
          respond(proposal_failure_status(status), std::string());
          return;
        }
        respond(raft::Status::OK(), encode(value));
      });
  node_->apply(std::move(task));
}

void CounterService::handle_increment(const std::string& request_body,
                                      RpcServer::Responder respond) {
  pb::IncrementRequest request;
  if (!parse(request_body, &request)) {
    respond(raft::Status::InvalidArgument("malformed IncrementRequest"), std::string());
    return;
  }
  propose(CounterCommand::increment(request.delta()).encode(), std::move(respond),
          [](int64_t value) {
            pb::IncrementResponse response;
            response.set_value(value);
            return response.SerializeAsString();
          });
}

void CounterService::handle_get(const std::string& request_body, RpcServer::Responder respond) {
  pb::GetRequest request;
  if (!parse(request_body, &request)) {
    respond(raft::Status::InvalidArgument("malformed GetRequest"), std::string());
    return;
  }
  propose(CounterCommand::get().encode(), std::move(respond), [](int64_t value) {
    pb::GetResponse response;
    response.set_value(value);
    return response.SerializeAsString();
  });
}

void CounterService::handle_status(const std::string& request_body, RpcServer::Responder respond) {
  pb::StatusRequest request;
  if (!parse(request_body, &request)) {
    respond(raft::Status::InvalidArgument("malformed StatusRequest"), std::string());
    return;
  }
  // The value and the node's indexes are read separately; reading the value first means it
  // reflects at most the entries up to the applied index reported with it.
  const int64_t value = fsm_->value();
  const raft::NodeStatus status = node_->get_status();
  pb::StatusResponse response;
  response.set_peer(status.peer_id.endpoint());
  response.set_role(std::string(raft::role_name(status.role)));
  response.set_term(status.term.value());
  response.set_leader(status.leader_id.empty() ? std::string() : status.leader_id.endpoint());
  response.set_first_log_index(status.first_log_index.value());
  response.set_last_log_index(status.last_log_index.value());
  response.set_commit_index(status.commit_index.value());
  response.set_applied_index(status.applied_index.value());
  response.set_value(value);
  respond(raft::Status::OK(), response.SerializeAsString());
}

}  // namespace counter
