#include "service_protocol.h"

#include <string_view>

#include "raft/check.h"

namespace example {
namespace {

constexpr std::string_view kHintKey = "leader_hint=";
constexpr std::string_view kCannotConnect = "cannot connect to ";
constexpr std::string_view kOutcomeUnknown = "outcome unknown: ";

}  // namespace

raft::Status not_leader_status(const raft::PeerId& leader) {
  if (leader.empty()) return raft::Status::NotLeader("not the leader; no leader known");
  return raft::Status::NotLeader("not the leader; " + std::string(kHintKey) + leader.endpoint());
}

std::optional<std::string> leader_hint(const raft::Status& status) {
  if (!status.is_not_leader()) return std::nullopt;
  const std::string_view message = status.message();
  const size_t at = message.find(kHintKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view hint = message.substr(at + kHintKey.size());
  hint = hint.substr(0, hint.find_first_of(" ;,"));
  // Only a well-formed address is worth following.
  if (!raft::PeerId::parse(hint).ok()) return std::nullopt;
  return std::string(hint);
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
