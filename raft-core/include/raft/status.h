// Status: the outcome of an operation that can fail for operating reasons.
//
// A Status is a code plus a human-readable message. OK carries no message and costs no
// allocation. Codes follow the errno names users of braft and SOFAJRaft know (EPERM for "not
// the leader", EBUSY for backpressure, ...); code_name() returns that name.
//
// Thread-safety: a Status is a value; distinct objects may be used from distinct threads.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "raft/check.h"

namespace raft {

enum class StatusCode : int {
  kOk = 0,
  kNotLeader,        // EPERM: this node is not the leader (or not allowed to do it).
  kBusy,             // EBUSY: overloaded, a queue or window is full; retry later.
  kStale,            // ESTALE: the term changed under the request.
  kTimedOut,         // ETIMEDOUT
  kInvalidArgument,  // EINVAL
  kIoError,          // EIO: disk or network failure.
  kShutdown,         // ESHUTDOWN: the node or component is stopping or stopped.
  kCorruption,       // ECORRUPTION: a checksum or format check failed.
  kNotFound,         // ENOENT
  kUnavailable,      // EHOSTDOWN: a peer cannot be reached.
  kStepDown,         // ESTEPDOWN: appended, then the leader stepped down: outcome unknown.
  kCatchup,          // ECATCHUP: a new peer did not catch up with the leader in time.
  kAgain,            // EAGAIN: not possible yet (a new leader has not committed in its term).
};

// Returns the errno-style name of `code`, e.g. "EPERM".
std::string_view status_code_name(StatusCode code);

class Status {
 public:
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotLeader(std::string_view msg) { return {StatusCode::kNotLeader, msg}; }
  static Status Busy(std::string_view msg) { return {StatusCode::kBusy, msg}; }
  static Status Stale(std::string_view msg) { return {StatusCode::kStale, msg}; }
  static Status TimedOut(std::string_view msg) { return {StatusCode::kTimedOut, msg}; }
  static Status InvalidArgument(std::string_view msg) {
    return {StatusCode::kInvalidArgument, msg};
  }
  static Status IoError(std::string_view msg) { return {StatusCode::kIoError, msg}; }
  static Status Shutdown(std::string_view msg) { return {StatusCode::kShutdown, msg}; }
  static Status Corruption(std::string_view msg) { return {StatusCode::kCorruption, msg}; }
  static Status NotFound(std::string_view msg) { return {StatusCode::kNotFound, msg}; }
  static Status Unavailable(std::string_view msg) { return {StatusCode::kUnavailable, msg}; }
  static Status StepDown(std::string_view msg) { return {StatusCode::kStepDown, msg}; }
  static Status Catchup(std::string_view msg) { return {StatusCode::kCatchup, msg}; }
  static Status Again(std::string_view msg) { return {StatusCode::kAgain, msg}; }

  Status(StatusCode code, std::string_view msg) : code_(code) {
    PONTOON_CHECK(code != StatusCode::kOk);
    message_ = std::make_shared<const std::string>(msg);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  std::string_view code_name() const { return status_code_name(code_); }
  std::string_view message() const { return message_ ? std::string_view(*message_) : ""; }

  bool is_not_leader() const { return code_ == StatusCode::kNotLeader; }
  bool is_busy() const { return code_ == StatusCode::kBusy; }
  bool is_stale() const { return code_ == StatusCode::kStale; }
  bool is_timed_out() const { return code_ == StatusCode::kTimedOut; }
  bool is_invalid_argument() const { return code_ == StatusCode::kInvalidArgument; }
  bool is_io_error() const { return code_ == StatusCode::kIoError; }
  bool is_shutdown() const { return code_ == StatusCode::kShutdown; }
  bool is_corruption() const { return code_ == StatusCode::kCorruption; }
  bool is_not_found() const { return code_ == StatusCode::kNotFound; }
  bool is_unavailable() const { return code_ == StatusCode::kUnavailable; }
  bool is_step_down() const { return code_ == StatusCode::kStepDown; }
  bool is_catchup() const { return code_ == StatusCode::kCatchup; }
  bool is_again() const { return code_ == StatusCode::kAgain; }

  // "OK", or "EPERM: <message>".
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message() == b.message();
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  // Shared so that copying a Status (closures fan one out to many waiters) is cheap.
  std::shared_ptr<const std::string> message_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

// Result<T>: a T, or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design.
    PONTOON_CHECK_MSG(!status_.ok(), "a Result built from a Status must carry an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & {
    PONTOON_CHECK(ok());
    return *value_;
  }
  const T& value() const& {
    PONTOON_CHECK(ok());
    return *value_;
  }
  T&& value() && {
    PONTOON_CHECK(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace raft
