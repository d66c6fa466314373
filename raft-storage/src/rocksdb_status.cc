#include "rocksdb_status.h"

#include <string>

namespace raft {

Status from_rocksdb(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return Status::OK();
  std::string message(context);
  message += ": ";
  message += status.ToString();
  switch (status.code()) {
    case rocksdb::Status::kCorruption:
      return Status::Corruption(message);
    case rocksdb::Status::kNotFound:
      return Status::NotFound(message);
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return Status::InvalidArgument(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
      return Status::Busy(message);
    case rocksdb::Status::kTimedOut:
      return Status::TimedOut(message);
    case rocksdb::Status::kShutdownInProgress:
      return Status::Shutdown(message);
    default:
      // IOError and the codes that only mean "the engine could not do it" (Aborted,
      // Incomplete, ...) are disk-side failures to the caller.
      return Status::IoError(message);
  }
}

}  // namespace raft
