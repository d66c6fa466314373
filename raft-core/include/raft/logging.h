// Minimal leveled logging to stderr.
//
//   PONTOON_LOG(kInfo) << "node " << id << " became leader at term " << term;
//
// The level threshold is process-wide (default kInfo, or PONTOON_LOG_LEVEL=debug|info|warn|
// error from the environment). Each message is written with one write() so lines from
// different threads do not interleave. Thread-safety: safe from any thread.
#pragma once

#include <sstream>
#include <string_view>

namespace raft {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

LogLevel log_level();
void set_log_level(LogLevel level);

namespace detail {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace detail
}  // namespace raft

#define PONTOON_LOG(level)                             \
  if (::raft::LogLevel::level < ::raft::log_level()) { \
  } else                                               \
    ::raft::detail::LogMessage(::raft::LogLevel::level, __FILE__, __LINE__).stream()
