// Clock: where raft-core reads the time. Nothing in raft-core reads a wall clock.
//
// Production uses SteadyClock (std::chrono::steady_clock, monotonic). The simulation runtime
// supplies a virtual clock that only moves when its scheduler advances it.
// Thread-safety: implementations must allow now() from any thread.
#pragma once

#include <chrono>

namespace raft {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic: never returns less than a previous call returned.
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace raft
