// SnapshotThrottle on a clock the test moves by hand: a token bucket that grants at most one
// second's worth of bytes at once, refills at its rate, and does not save up beyond one second.
#include <catch2/catch.hpp>

#include "raft/clock.h"
#include "raft/snapshot_throttle.h"

using namespace raft;
using namespace std::chrono_literals;

namespace {

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_{std::chrono::hours(1)};
};

}  // namespace

TEST_CASE("snapshot throttle: a full bucket grants up to one second's worth of bytes",
          "[snapshot_throttle]") {
  ManualClock clock;
  SnapshotThrottle throttle(clock, 1000);
  CHECK(throttle.acquire(300) == 300);   // less than available: all of it
  CHECK(throttle.acquire(5000) == 700);  // the rest of the second's budget, no more
  CHECK(throttle.acquire(1) == 0);       // empty until time passes
  CHECK(throttle.acquire(0) == 0);
}

TEST_CASE("snapshot throttle: the bucket refills at its rate", "[snapshot_throttle]") {
  ManualClock clock;
  SnapshotThrottle throttle(clock, 1000);
  REQUIRE(throttle.acquire(1000) == 1000);
  clock.advance(250ms);
  CHECK(throttle.acquire(1000) == 250);
  CHECK(throttle.acquire(1000) == 0);
  // Refills between small requests add up: 4 x 125 bytes came in, 4 x 100 were taken.
  for (int i = 0; i < 4; ++i) {
    clock.advance(125ms);
    CHECK(throttle.acquire(100) == 100);
  }
  CHECK(throttle.acquire(1000) == 100);
  // What was not taken stays for later.
  clock.advance(500ms);
  CHECK(throttle.acquire(200) == 200);
  CHECK(throttle.acquire(1000) == 300);
}

TEST_CASE("snapshot throttle: idling never saves up more than one second's budget",
          "[snapshot_throttle]") {
  ManualClock clock;
  SnapshotThrottle throttle(clock, 4096);
  REQUIRE(throttle.acquire(4096) == 4096);
  clock.advance(10s);
  CHECK(throttle.acquire(UINT64_MAX) == 4096);
  CHECK(throttle.acquire(1) == 0);
  // Idling with a full bucket does not overfill it either.
  clock.advance(2s);
  clock.advance(3s);
  CHECK(throttle.acquire(100000) == 4096);
  CHECK(throttle.bytes_per_s() == 4096);
}
