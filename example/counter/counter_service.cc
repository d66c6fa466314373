#include "counter_service.h"

#include <memory>
#include <utility>

#include "counter.pb.h"
#include "counter_command.h"
#include "raft/rpc/method_ids.h"
#include "replica_status.h"
#include "service_handlers.h"

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
  return example::register_handlers<CounterService>(
      transport, this,
      {{method::kCounterIncrement, &CounterService::handle_increment},
       {method::kCounterGet, &CounterService::handle_get},
       {method::kCounterStatus, &CounterService::handle_status}});
}

void CounterService::handle_increment(const std::string& request_body,
                                      RpcServer::Responder respond) {
  pb::IncrementRequest request;
  if (!parse(request_body, &request)) {
    respond(raft::Status::InvalidArgument("malformed IncrementRequest"), std::string());
    return;
  }
  example::propose_on_leader<CounterClosure>(node_,
                                             CounterCommand::increment(request.delta()).encode(),
                                             std::move(respond), [](int64_t value) {
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
  auto encode = [stale = inject_stale_gets_](int64_t value) {
    pb::GetResponse response;
    response.set_value(stale && value > 0 ? value - 1 : value);
    return response.SerializeAsString();
  };
  if (read_mode_ == example::ServiceReadMode::kLog) {
    example::propose_on_leader<CounterClosure>(node_, CounterCommand::get().encode(),
                                               std::move(respond), encode);
    return;
  }
  // value() may be read from any thread, as a wait-free read requires.
  const CounterStateMachine* fsm = fsm_;
  example::serve_read(node_, read_mode_, std::move(respond),
                      [fsm, encode] { return encode(fsm->value()); });
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
  example::fill_node_status(status, &response);
  response.set_value(value);
  respond(raft::Status::OK(), response.SerializeAsString());
}

}  // namespace counter
