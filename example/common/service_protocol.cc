#include "service_protocol.h"

#include <string_view>

#include "raft/check.h"
#include "raft/rpc/leader_hint.h"

namespace example {
namespace {

constexpr std::string_view kCannotConnect = "cannot connect to ";
constexpr std::string_view kOutcomeUnknown = "outcome unknown: ";

}  // namespace

raft::Status not_leader_status(const raft::PeerId& leader) {
  // The examples redirect to an endpoint: one replica per process.
  if (leader.empty()) return raft::rpc::not_leader_status(leader);
  return raft::rpc::not_leader_status(raft::PeerId(leader.ip(), leader.port()));
}

std::optional<std::string> leader_hint(const raft::Status& status) {
  std::optional<raft::PeerId> leader = raft::rpc::leader_hint(status);
  if (!leader) return std::nullopt;
  return leader->endpoint();
}

raft::Status proposal_failure_status(const raft::Status& failure) {
  PONTOON_CHECK(!failure.ok());
  // Task's contract (raft/task.h): EBUSY, ESTALE and ESHUTDOWN prove the entry was not
  // appended; ESTEPDOWN (appended, then leadership lost) leaves it to whoever leads next, and
  // so does any other error. EPERM is answered with a redirect before this is reached.
  if (failure.is_busy() || failure.is_stale() || failure.is_shutdown()) {
    return raft::Status::Busy("proposal refused: " + failure.to_string());
  }
  if (failure.is_invalid_argument()) return failure;
  return raft::Status::IoError(std::string(kOutcomeUnknown) + failure.to_string());
}

CallFailure classify_call_failure(const raft::Status& status) {
  PONTOON_CHECK(!status.ok());
  switch (status.code()) {
    case raft::StatusCode::kNotLeader:
      return CallFailure::kNotLeader;
    case raft::StatusCode::kBusy:
      return CallFailure::kBusy;
    case raft::StatusCode::kInvalidArgument:
      return CallFailure::kRejected;
    case raft::StatusCode::kNotFound:
      // The remote does not serve this method (a different program on that port).
      return CallFailure::kNotSent;
    case raft::StatusCode::kUnavailable:
      // RpcClient says "cannot connect to ..." when the request was never written to a
      // socket, and "connection to ... lost" when it may have been.
      return status.message().starts_with(kCannotConnect) ? CallFailure::kNotSent
                                                          : CallFailure::kUnknown;
    default:
      return CallFailure::kUnknown;
  }
}

}  // namespace example
