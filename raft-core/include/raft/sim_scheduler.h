// SimScheduler: a deterministic Runtime for tests. Every lane it makes runs on the thread
// that drives the scheduler, in virtual time, in an order fixed by the seed.
//
// At each step the scheduler picks, with its seeded generator, one runnable lane (a task ready
// and the lane not busy) and runs that lane's oldest task, so lanes interleave differently per
// seed while each lane stays FIFO. When no lane is runnable, virtual time jumps to the earliest
// of the next timer and the end of the earliest busy period of a lane with work waiting. The
// same seed and the same test code replay the same run exactly.
//
// Tasks take no virtual time unless they say so: a task that models slow work (a simulated
// fsync) calls delay_current_task(), which keeps its lane busy and holds back what the task
// posts afterwards, as if the task had really run that long. now() itself never moves while a
// task runs.
//
// Thread-safety: none. Create, post to and drive a SimScheduler from one thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
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

  // Charges `d` of virtual time to the task running right now, as if it ran that long:
  //  - its lane takes no further task before now() + the total charged to this task;
  //  - whatever the task posts after the call (post() to any lane, its own included, and
  //    post_after(), counted from now() + charged) reaches its lane only at now() + charged.
  // Posts made before the call are not held back. Charges within one task add up. Called when
  // no task of this scheduler is running (from test code driving it), it does nothing.
  // REQUIRES: d >= 0.
  void delay_current_task(Duration d);
  // When the running task's effects become visible: now() plus what it has charged so far
  // (now() between tasks). A simulated disk completes an fsync at this time.
  TimePoint current_task_end() const { return clock_.now() + running_charge_; }

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

  // Both hold the task back by the charge of the running task, if any.
  void post(const std::shared_ptr<Lane>& lane, std::function<void()> task);
  void post_after(const std::shared_ptr<Lane>& lane, Duration delay, std::function<void()> task);
  void post_at(const std::shared_ptr<Lane>& lane, TimePoint when, std::function<void()> task);
  // Appends to the lane's queue now, whatever is running.
  void enqueue(const std::shared_ptr<Lane>& lane, std::function<void()> task);
  // Drops every timer of `lane` (its executor shut down).
  void drop_timers_of(const std::shared_ptr<Lane>& lane);
  // Moves every timer due at or before `until` onto its lane's queue.
  void release_timers(TimePoint until);
  // The positions in lanes_ of the lanes that have a task ready and are not busy at now().
  std::vector<size_t> runnable_lanes() const;
  // When something next becomes runnable if nothing is now: the earliest timer or the earliest
  // end of a busy period of a lane with a task waiting. Nullopt if nothing is left at all.
  std::optional<TimePoint> next_wakeup() const;

  const uint64_t seed_;
  std::mt19937_64 rng_;
  SimClock clock_;
  uint64_t steps_ = 0;
  uint64_t timer_seq_ = 0;
  std::vector<std::shared_ptr<Lane>> lanes_;
  // Keyed by (due time, insertion order) so timers due together fire in post order.
  std::map<std::pair<TimePoint, uint64_t>, Timer> timers_;
  // The lane of the task run_one is running (null between tasks) and the virtual time that
  // task has charged so far. Invariant: running_charge_ == 0 when running_lane_ is null.
  std::shared_ptr<Lane> running_lane_;
  Duration running_charge_{0};
};

}  // namespace raft
