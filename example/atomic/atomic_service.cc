#include "atomic_service.h"

#include <utility>

#include "atomic.pb.h"
#include "raft/rpc/method_ids.h"
#include "replica_status.h"
#include "service_handlers.h"

namespace atomic {
namespace {

namespace pb = ::pontoon::atomic;
using raft::rpc::RpcServer;

// Parses `body` into `message`, or answers EINVAL naming the message and returns false.
template <typename Message>
bool parse(const std::string& body, Message* message, RpcServer::Responder* respond) {
  if (message->ParseFromString(body)) return true;
  (*respond)(raft::Status::InvalidArgument("malformed " + message->GetTypeName()), std::string());
  return false;
}

}  // namespace

raft::Status AtomicService::register_methods(raft::rpc::TcpTransport& transport) {
  return example::register_handlers<AtomicService>(
      transport, this,
      {{raft::rpc::method::kAtomicGet, &AtomicService::handle_get},
       {raft::rpc::method::kAtomicSet, &AtomicService::handle_set},
       {raft::rpc::method::kAtomicCompareAndSet, &AtomicService::handle_compare_and_set},
       {raft::rpc::method::kAtomicFetchAdd, &AtomicService::handle_fetch_add},
       {raft::rpc::method::kAtomicStatus, &AtomicService::handle_status}});
}

template <typename Encode>
void AtomicService::propose(AtomicCommand command, RpcServer::Responder respond, Encode encode) {
  if (raft::Status s = validate_key(command.key); !s.ok()) {
    respond(s, std::string());
    return;
  }
  example::propose_on_leader<AtomicClosure>(node_, command.encode(), std::move(respond),
                                            std::move(encode));
}

void AtomicService::handle_get(const std::string& request_body, RpcServer::Responder respond) {
  pb::GetRequest request;
  if (!parse(request_body, &request, &respond)) return;
  auto encode = [](int64_t value) {
    pb::GetResponse response;
    response.set_value(value);
    return response.SerializeAsString();
  };
  if (read_mode_ == example::ServiceReadMode::kLog) {
    propose(AtomicCommand::get(request.key()), std::move(respond),
            [encode](const AtomicResult& result) { return encode(result.value); });
    return;
  }
  if (raft::Status s = validate_key(request.key()); !s.ok()) {
    respond(s, std::string());
    return;
  }
  // value() may be read from any thread, concurrently with on_apply, as a wait-free read needs.
  const AtomicStateMachine* fsm = fsm_;
  example::serve_read(node_, read_mode_, std::move(respond),
                      [fsm, encode, key = request.key()] { return encode(fsm->value(key)); });
}

void AtomicService::handle_set(const std::string& request_body, RpcServer::Responder respond) {
  pb::SetRequest request;
  if (!parse(request_body, &request, &respond)) return;
  propose(AtomicCommand::set(request.key(), request.value()), std::move(respond),
          [](const AtomicResult&) { return pb::SetResponse().SerializeAsString(); });
}

void AtomicService::handle_compare_and_set(const std::string& request_body,
                                           RpcServer::Responder respond) {
  pb::CompareAndSetRequest request;
  if (!parse(request_body, &request, &respond)) return;
  propose(AtomicCommand::compare_and_set(request.key(), request.expected(), request.new_value()),
          std::move(respond), [](const AtomicResult& result) {
            pb::CompareAndSetResponse response;
            response.set_succeeded(result.succeeded);
            response.set_current(result.value);
            return response.SerializeAsString();
          });
}

void AtomicService::handle_fetch_add(const std::string& request_body,
                                     RpcServer::Responder respond) {
  pb::FetchAddRequest request;
  if (!parse(request_body, &request, &respond)) return;
  propose(AtomicCommand::fetch_add(request.key(), request.delta()), std::move(respond),
          [](const AtomicResult& result) {
            pb::FetchAddResponse response;
            response.set_previous(result.value);
            return response.SerializeAsString();
          });
}

void AtomicService::handle_status(const std::string& request_body, RpcServer::Responder respond) {
  pb::StatusRequest request;
  if (!parse(request_body, &request, &respond)) return;
  // Counted before the node's indexes are read, so it reflects at most the entries up to the
  // applied index reported with it.
  const size_t keys = fsm_->key_count();
  pb::StatusResponse response;
  example::fill_node_status(node_->get_status(), &response);
  response.set_keys(static_cast<int64_t>(keys));
  respond(raft::Status::OK(), response.SerializeAsString());
}

}  // namespace atomic
