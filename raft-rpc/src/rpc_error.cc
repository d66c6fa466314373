#include "rpc_error.h"

#include "raft/check.h"
#include "rpc.pb.h"

namespace raft::rpc {
namespace {

namespace pb = ::pontoon::rpc;

pb::ErrorCode to_wire(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      break;
    case StatusCode::kNotLeader:
      return pb::ERROR_CODE_NOT_LEADER;
    case StatusCode::kBusy:
      return pb::ERROR_CODE_BUSY;
    case StatusCode::kStale:
      return pb::ERROR_CODE_STALE;
    case StatusCode::kTimedOut:
      return pb::ERROR_CODE_TIMED_OUT;
    case StatusCode::kInvalidArgument:
      return pb::ERROR_CODE_INVALID_ARGUMENT;
    case StatusCode::kIoError:
      return pb::ERROR_CODE_IO_ERROR;
    case StatusCode::kShutdown:
      return pb::ERROR_CODE_SHUTDOWN;
    case StatusCode::kCorruption:
      return pb::ERROR_CODE_CORRUPTION;
    case StatusCode::kNotFound:
      return pb::ERROR_CODE_NOT_FOUND;
    case StatusCode::kUnavailable:
      return pb::ERROR_CODE_UNAVAILABLE;
    case StatusCode::kStepDown:
      return pb::ERROR_CODE_STEP_DOWN;
    case StatusCode::kCatchup:
      return pb::ERROR_CODE_CATCHUP;
    case StatusCode::kAgain:
      return pb::ERROR_CODE_AGAIN;
  }
  PONTOON_CHECK_MSG(false, "an OK status has no wire error code");
}

// Returns false for codes this build does not know (a newer peer) and for UNSPECIFIED.
bool from_wire(int code, StatusCode* out) {
  switch (code) {
    case pb::ERROR_CODE_NOT_LEADER:
      *out = StatusCode::kNotLeader;
      return true;
    case pb::ERROR_CODE_BUSY:
      *out = StatusCode::kBusy;
      return true;
    case pb::ERROR_CODE_STALE:
      *out = StatusCode::kStale;
      return true;
    case pb::ERROR_CODE_TIMED_OUT:
      *out = StatusCode::kTimedOut;
      return true;
    case pb::ERROR_CODE_INVALID_ARGUMENT:
      *out = StatusCode::kInvalidArgument;
      return true;
    case pb::ERROR_CODE_IO_ERROR:
      *out = StatusCode::kIoError;
      return true;
    case pb::ERROR_CODE_SHUTDOWN:
      *out = StatusCode::kShutdown;
      return true;
    case pb::ERROR_CODE_CORRUPTION:
      *out = StatusCode::kCorruption;
      return true;
    case pb::ERROR_CODE_NOT_FOUND:
      *out = StatusCode::kNotFound;
      return true;
    case pb::ERROR_CODE_UNAVAILABLE:
      *out = StatusCode::kUnavailable;
      return true;
    case pb::ERROR_CODE_STEP_DOWN:
      *out = StatusCode::kStepDown;
      return true;
    case pb::ERROR_CODE_CATCHUP:
      *out = StatusCode::kCatchup;
      return true;
    case pb::ERROR_CODE_AGAIN:
      *out = StatusCode::kAgain;
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string encode_rpc_error(const Status& status) {
  PONTOON_CHECK(!status.ok());
  pb::RpcError error;
  error.set_code(to_wire(status.code()));
  error.set_message(std::string(status.message()));
  return error.SerializeAsString();
}

Status decode_rpc_error(std::string_view body) {
  pb::RpcError error;
  if (!error.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::Corruption("unparseable error response");
  }
  StatusCode code = StatusCode::kOk;
  if (!from_wire(error.code(), &code)) {
    return Status::Corruption("error response with unknown code " + std::to_string(error.code()) +
                              ": " + error.message());
  }
  return Status(code, error.message());
}

}  // namespace raft::rpc
