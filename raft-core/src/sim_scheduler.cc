#include "raft/sim_scheduler.h"

#include <algorithm>

#include "raft/check.h"

namespace raft {

struct SimScheduler::Lane {
  std::string name;
  std::deque<std::function<void()>> ready;
  // The lane takes no task before this time: its last task charged virtual time up to here.
  TimePoint busy_until{};
  bool shut_down = false;
};

class SimScheduler::SimExecutor final : public Executor {
 public:
  SimExecutor(std::weak_ptr<SimScheduler> scheduler, std::shared_ptr<Lane> lane)
      : scheduler_(std::move(scheduler)), lane_(std::move(lane)) {}
  ~SimExecutor() override { shutdown(); }

  void post(Task task) override {
    if (auto scheduler = scheduler_.lock()) scheduler->post(lane_, std::move(task));
  }
  void post_after(Duration delay, Task task) override {
    if (auto scheduler = scheduler_.lock()) scheduler->post_after(lane_, delay, std::move(task));
  }
  void shutdown() override {
    lane_->shut_down = true;
    // Destroying a task may destroy an executor of this same lane (tasks own their owners'
    // state); move the queue out first so that never clears a deque being cleared.
    std::deque<std::function<void()>> doomed = std::move(lane_->ready);
    lane_->ready.clear();
    // Timers not yet due are tasks not yet run too: they go now, not whenever they come due
    // (a crashed node's timers must not keep its state alive past the node).
    if (auto scheduler = scheduler_.lock()) scheduler->drop_timers_of(lane_);
  }

 private:
  std::weak_ptr<SimScheduler> scheduler_;
  std::shared_ptr<Lane> lane_;
};

SimScheduler::SimScheduler(uint64_t seed) : seed_(seed), rng_(seed) {
  // Start away from zero so that "time since the epoch" never looks like "never happened".
  clock_.now_ = TimePoint(std::chrono::hours(1));
}

SimScheduler::~SimScheduler() {
  // Pending tasks and timers can own the executors of their own lanes (a drain task keeps its
  // queue alive, the queue keeps its executor): drop them all to break those cycles.
  std::map<std::pair<TimePoint, uint64_t>, Timer> timers = std::move(timers_);
  timers_.clear();
  timers.clear();
  for (const auto& lane : lanes_) {
    std::deque<std::function<void()>> doomed = std::move(lane->ready);
    lane->ready.clear();
  }
}

std::shared_ptr<Executor> SimScheduler::make_executor(std::string_view name) {
  auto lane = std::make_shared<Lane>();
  lane->name = std::string(name);
  lanes_.push_back(lane);
  return std::make_shared<SimExecutor>(weak_from_this(), std::move(lane));
}

void SimScheduler::post(const std::shared_ptr<Lane>& lane, std::function<void()> task) {
  // A task that has charged time posts "later": what it sends must not arrive before the work
  // it pretends to have done is over.
  if (running_charge_ > Duration::zero()) {
    post_at(lane, clock_.now_ + running_charge_, std::move(task));
    return;
  }
  enqueue(lane, std::move(task));
}

void SimScheduler::post_after(const std::shared_ptr<Lane>& lane, Duration delay,
                              std::function<void()> task) {
  post_at(lane, clock_.now_ + running_charge_ + std::max(delay, Duration::zero()), std::move(task));
}

void SimScheduler::post_at(const std::shared_ptr<Lane>& lane, TimePoint when,
                           std::function<void()> task) {
  if (lane->shut_down) return;
  PONTOON_CHECK(when >= clock_.now_);
  timers_.emplace(std::make_pair(when, timer_seq_++), Timer{lane, std::move(task)});
}

void SimScheduler::enqueue(const std::shared_ptr<Lane>& lane, std::function<void()> task) {
  if (lane->shut_down) return;
  lane->ready.push_back(std::move(task));
}

void SimScheduler::delay_current_task(Duration d) {
  PONTOON_CHECK(d >= Duration::zero());
  if (running_lane_ == nullptr) return;
  running_charge_ += d;
  running_lane_->busy_until = std::max(running_lane_->busy_until, clock_.now_ + running_charge_);
}

void SimScheduler::drop_timers_of(const std::shared_ptr<Lane>& lane) {
  std::vector<std::function<void()>> doomed;
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second.lane == lane) {
      doomed.push_back(std::move(it->second.task));
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
}

void SimScheduler::release_timers(TimePoint until) {
  while (!timers_.empty() && timers_.begin()->first.first <= until) {
    auto node = timers_.extract(timers_.begin());
    enqueue(node.mapped().lane, std::move(node.mapped().task));
  }
}

std::vector<size_t> SimScheduler::runnable_lanes() const {
  std::vector<size_t> runnable;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (!lanes_[i]->ready.empty() && lanes_[i]->busy_until <= clock_.now_) runnable.push_back(i);
  }
  return runnable;
}

std::optional<TimePoint> SimScheduler::next_wakeup() const {
  std::optional<TimePoint> next;
  if (!timers_.empty()) next = timers_.begin()->first.first;
  for (const auto& lane : lanes_) {
    if (lane->ready.empty() || lane->busy_until <= clock_.now_) continue;
    if (!next || lane->busy_until < *next) next = lane->busy_until;
  }
  return next;
}

bool SimScheduler::run_one() {
  // Drop lanes nobody can post to any more and that have nothing left.
  std::erase_if(lanes_, [](const std::shared_ptr<Lane>& lane) {
    return lane.use_count() == 1 && lane->ready.empty();
  });
  std::vector<size_t> runnable = runnable_lanes();
  if (runnable.empty()) {
    std::optional<TimePoint> next = next_wakeup();
    if (!next) return false;
    PONTOON_CHECK(*next >= clock_.now_);
    clock_.now_ = *next;
    release_timers(*next);
    return true;
  }
  // Held, not borrowed: the task may drop the last executor of its own lane.
  std::shared_ptr<Lane> lane =
      lanes_[runnable[std::uniform_int_distribution<size_t>(0, runnable.size() - 1)(rng_)]];
  std::function<void()> task = std::move(lane->ready.front());
  lane->ready.pop_front();
  ++steps_;
  // Restored on the way out, even if the task throws, so a task driving the scheduler itself
  // (a nested run_one) charges its own lane and not the outer one.
  struct RunningTask {
    SimScheduler* scheduler;
    std::shared_ptr<Lane> saved_lane;
    Duration saved_charge;
    ~RunningTask() {
      scheduler->running_lane_ = std::move(saved_lane);
      scheduler->running_charge_ = saved_charge;
    }
  } running{this, running_lane_, running_charge_};
  running_lane_ = lane;
  running_charge_ = Duration::zero();
  task();
  return true;
}

bool SimScheduler::run_until(const std::function<bool()>& done, Duration limit) {
  const TimePoint deadline = clock_.now_ + limit;
  while (!done()) {
    if (runnable_lanes().empty()) {
      std::optional<TimePoint> next = next_wakeup();
      if (!next || *next > deadline) {
        clock_.now_ = std::max(clock_.now_, deadline);
        return done();
      }
    }
    run_one();
  }
  return true;
}

void SimScheduler::run_for(Duration span) {
  run_until([] { return false; }, span);
}

}  // namespace raft
