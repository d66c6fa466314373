// SnapshotThrottle: a byte budget per second for snapshot transfer, shared by every group of a
// process (pass one instance to every NodeOptions), applied where bytes leave the leader and
// where a follower asks for them.
//
// A token bucket on the node's Clock: the bucket refills at bytes_per_s and holds at most one
// second's worth, so a transfer that waited cannot burst past the rate afterwards.
//
// Thread-safety: acquire() may be called from any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "raft/check.h"
#include "raft/clock.h"

namespace raft {

class SnapshotThrottle {
 public:
  // REQUIRES: bytes_per_s > 0.
  SnapshotThrottle(const Clock& clock, uint64_t bytes_per_s)
      : clock_(clock), bytes_per_s_(bytes_per_s), available_(static_cast<double>(bytes_per_s)) {
    PONTOON_CHECK(bytes_per_s > 0);
    last_refill_ = clock_.now();
  }

  // Takes up to `wanted` bytes of budget and returns how many were granted (0 if the bucket
  // is empty now; ask again later).
  uint64_t acquire(uint64_t wanted) {
    std::lock_guard<std::mutex> lock(mutex_);
    const TimePoint now = clock_.now();
    const double elapsed_s = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    available_ = std::min(static_cast<double>(bytes_per_s_),
                          available_ + elapsed_s * static_cast<double>(bytes_per_s_));
    const uint64_t granted = std::min<uint64_t>(wanted, static_cast<uint64_t>(available_));
    available_ -= static_cast<double>(granted);
    return granted;
  }

  uint64_t bytes_per_s() const { return bytes_per_s_; }

 private:
  const Clock& clock_;
  const uint64_t bytes_per_s_;
  std::mutex mutex_;
  double available_;       // Guarded by mutex_.
  TimePoint last_refill_;  // Guarded by mutex_.
};

}  // namespace raft
