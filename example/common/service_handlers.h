// What the example services' RPC handlers share: registering them on the transport, and
// turning a request into a Raft proposal answered once applied (propose_on_leader), following
// service_protocol.h.
//
// EPERM always means "nothing was proposed" (raft/task.h): a follower answers it at once from
// the handler, and a task the apply ring refuses because leadership moved meanwhile gets the
// same redirect. ESTEPDOWN (appended, then leadership lost) and other errors are answered as
// proposal_failure_status() says (usually an unknown outcome).
//
// Thread-safety: may be called from any thread (the node's apply() is). The response is sent
// from the node's state-machine or node lane.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/task.h"
#include "service_protocol.h"

namespace example {

// Registers each (method id, member function) of `service` on `transport`; the first failure
// is returned. REQUIRES: the transport has not started; `service` outlives it.
template <typename Service>
raft::Status register_handlers(
    raft::rpc::TcpTransport& transport, Service* service,
    std::initializer_list<
        std::pair<uint32_t, void (Service::*)(const std::string&, raft::rpc::RpcServer::Responder)>>
        handlers) {
  for (const auto& [id, handler] : handlers) {
    raft::Status s = transport.register_method(
        id, [service, handler](const std::string& body, raft::rpc::RpcServer::Responder respond) {
          (service->*handler)(body, std::move(respond));
        });
    if (!s.ok()) return s;
  }
  return raft::Status::OK();
}

// REQUIRES: `node` outlives the answer. Proposes `command` if `node` leads, with a `Closure`
// (constructed from a callback taking the status and the state machine's result for the entry) that
// answers `encode(result)`.
template <typename Closure, typename Encode>
void propose_on_leader(raft::Node* node, std::string command,
                       raft::rpc::RpcServer::Responder respond, Encode encode) {
  if (!node->is_leader()) {
    respond(not_leader_status(node->leader_id()), std::string());
    return;
  }
  raft::Task task;
  task.data = std::move(command);
  task.done = std::make_unique<Closure>(
      [node, respond = std::move(respond), encode](const raft::Status& status, const auto& result) {
        if (status.is_not_leader()) {
          respond(not_leader_status(node->leader_id()), std::string());
          return;
        }
        if (!status.ok()) {
          respond(proposal_failure_status(status), std::string());
          return;
        }
        respond(raft::Status::OK(), encode(result));
      });
  node->apply(std::move(task));
}

}  // namespace example
