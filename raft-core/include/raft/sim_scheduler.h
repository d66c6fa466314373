// SimScheduler: a deterministic Runtime for tests. Every lane it makes runs on the thread
// that drives the scheduler, in virtual time, in an order fixed by the seed.
//
// At each step the scheduler picks, with its seeded generator, one lane that has a task ready
// and runs that lane's oldest task, so lanes interleave differently per seed while each lane
// stays FIFO. When no lane has a ready task, virtual time jumps to the earliest timer. The
// same seed and the same test code replay the same run exactly.
//
// Thread-safety: none. Create, post to and drive a SimScheduler from one thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "raft/clock.h"
#include "raft/executor.h"

namespace raft {

class SimScheduler final : public Runtime, public std::enable_shared_from_this<SimScheduler> {
 public:
  explicit SimScheduler(uint64_t seed);
  ~SimScheduler() override;

  std::shared_ptr<Executor> make_executor(std::string_view name) override;
  const Clock& clock() const override { return clock_; }

  TimePoint now() const { return clock_.now(); }
  uint64_t seed() const { return seed_; }
  // The generator tests draw from, so all randomness of a run comes from the seed.
  std::mt19937_64& rng() { return rng_; }

  // Runs one task (advancing time to the next timer if nothing is ready). False if there is
  // nothing at all to run.
  bool run_one();
  // Runs until `done()` holds or virtual time passes now() + `limit`. Returns done().
  bool run_until(const std::function<bool()>& done, Duration limit);
  // Runs everything due within the next `span` of virtual time, then sets the clock there.
  void run_for(Duration span);

  // Steps taken so far; a cheap fingerprint of a run for replay checks.
  uint64_t steps() const { return steps_; }

 private:
  class SimClock final : public Clock {
   public:
    TimePoint now() const override { return now_; }
    TimePoint now_{};
  };
  struct Lane;
  class SimExecutor;
  struct Timer {
    std::shared_ptr<Lane> lane;
    std::function<void()> task;
  };

  void post(const std::shared_ptr<Lane>& lane, std::function<void()> task);
  void post_at(const std::shared_ptr<Lane>& lane, TimePoint when, std::function<void()> task);
  // Moves every timer due at or before `until` onto its lane's queue.
  void release_timers(TimePoint until);

  const uint64_t seed_;
  std::mt19937_64 rng_;
  SimClock clock_;
  uint64_t steps_ = 0;
  uint64_t timer_seq_ = 0;
  std::vector<std::shared_ptr<Lane>> lanes_;
  // Keyed by (due time, insertion order) so timers due together fire in post order.
  std::map<std::pair<TimePoint, uint64_t>, Timer> timers_;
};

}  // namespace raft
