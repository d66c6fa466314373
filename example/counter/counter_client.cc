#include "counter_client.h"

#include "counter.pb.h"
#include "raft/rpc/method_ids.h"

namespace counter {
namespace {

namespace pb = ::pontoon::counter;

// The counter's value out of a call's result, whose response is a `Response` message.
template <typename Response>
OpResult op_result(example::CallResult call, bool read_only) {
  Response response;
  OpResult result;
  if (example::parse_response(&call, &response, read_only)) {
    result.value = static_cast<int64_t>(response.value());
  }
  static_cast<example::CallResult&>(result) = std::move(call);
  return result;
}

}  // namespace

CounterClient::CounterClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
                             raft::Duration op_timeout)
    : leader_(rpc, std::move(endpoints), op_timeout) {}

OpResult CounterClient::increment(int64_t delta) {
  pb::IncrementRequest request;
  request.set_delta(delta);
  return op_result<pb::IncrementResponse>(
      leader_.call_leader(raft::rpc::method::kCounterIncrement, request.SerializeAsString(),
                          /*read_only=*/false),
      /*read_only=*/false);
}

OpResult CounterClient::get() {
  return op_result<pb::GetResponse>(
      leader_.call_leader(raft::rpc::method::kCounterGet, pb::GetRequest().SerializeAsString(),
                          /*read_only=*/true),
      /*read_only=*/true);
}

std::vector<ReplicaStatus> CounterClient::status_all(raft::Duration timeout) {
  return example::status_of_each<ReplicaStatus, pb::StatusResponse>(
      leader_, raft::rpc::method::kCounterStatus, timeout,
      [](const pb::StatusResponse& response, ReplicaStatus* status) {
        status->value = response.value();
      });
}

}  // namespace counter
