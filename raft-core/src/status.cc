#include "raft/status.h"

namespace raft {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kNotLeader:
      return "EPERM";
    case StatusCode::kBusy:
      return "EBUSY";
    case StatusCode::kStale:
      return "ESTALE";
    case StatusCode::kTimedOut:
      return "ETIMEDOUT";
    case StatusCode::kInvalidArgument:
      return "EINVAL";
    case StatusCode::kIoError:
      return "EIO";
    case StatusCode::kShutdown:
      return "ESHUTDOWN";
    case StatusCode::kCorruption:
      return "ECORRUPTION";
    case StatusCode::kNotFound:
      return "ENOENT";
    case StatusCode::kUnavailable:
      return "EHOSTDOWN";
    case StatusCode::kStepDown:
      return "ESTEPDOWN";
    case StatusCode::kCatchup:
      return "ECATCHUP";
    case StatusCode::kAgain:
      return "EAGAIN";
  }
  return "EUNKNOWN";
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string out(code_name());
  out += ": ";
  out += message();
  return out;
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.to_string();
}

}  // namespace raft
