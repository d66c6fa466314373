#include "atomic_client.h"

#include "atomic.pb.h"
#include "raft/rpc/method_ids.h"

namespace atomic {
namespace {

namespace pb = ::pontoon::atomic;

// Calls `method_id` on the leader and reads its `Response` into a RegisterResult with `read`.
template <typename Response, typename Read>
RegisterResult call(example::LeaderClient& leader, uint32_t method_id, const std::string& request,
                    bool read_only, Read read) {
  example::CallResult call = leader.call_leader(method_id, request, read_only);
  Response response;
  RegisterResult result;
  if (example::parse_response(&call, &response, read_only)) read(response, &result);
  static_cast<example::CallResult&>(result) = std::move(call);
  return result;
}

}  // namespace

AtomicClient::AtomicClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
                           raft::Duration op_timeout)
    : leader_(rpc, std::move(endpoints), op_timeout) {}

RegisterResult AtomicClient::get(const std::string& key) {
  pb::GetRequest request;
  request.set_key(key);
  return call<pb::GetResponse>(leader_, raft::rpc::method::kAtomicGet, request.SerializeAsString(),
                               /*read_only=*/true,
                               [](const pb::GetResponse& response, RegisterResult* result) {
                                 result->value = response.value();
                               });
}

RegisterResult AtomicClient::set(const std::string& key, int64_t value) {
  pb::SetRequest request;
  request.set_key(key);
  request.set_value(value);
  return call<pb::SetResponse>(
      leader_, raft::rpc::method::kAtomicSet, request.SerializeAsString(),
      /*read_only=*/false,
      [value](const pb::SetResponse&, RegisterResult* result) { result->value = value; });
}

RegisterResult AtomicClient::compare_and_set(const std::string& key, int64_t expected,
                                             int64_t new_value) {
  pb::CompareAndSetRequest request;
  request.set_key(key);
  request.set_expected(expected);
  request.set_new_value(new_value);
  return call<pb::CompareAndSetResponse>(
      leader_, raft::rpc::method::kAtomicCompareAndSet, request.SerializeAsString(),
      /*read_only=*/false, [](const pb::CompareAndSetResponse& response, RegisterResult* result) {
        result->value = response.current();
        result->swapped = response.succeeded();
      });
}

RegisterResult AtomicClient::fetch_add(const std::string& key, int64_t delta) {
  pb::FetchAddRequest request;
  request.set_key(key);
  request.set_delta(delta);
  return call<pb::FetchAddResponse>(
      leader_, raft::rpc::method::kAtomicFetchAdd, request.SerializeAsString(), /*read_only=*/false,
      [](const pb::FetchAddResponse& response, RegisterResult* result) {
        result->value = response.previous();
      });
}

std::vector<ReplicaStatus> AtomicClient::status_all(raft::Duration timeout) {
  return example::status_of_each<ReplicaStatus, pb::StatusResponse>(
      leader_, raft::rpc::method::kAtomicStatus, timeout,
      [](const pb::StatusResponse& response, ReplicaStatus* status) {
        status->keys = response.keys();
      });
}

}  // namespace atomic
