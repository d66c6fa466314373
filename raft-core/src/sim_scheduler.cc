#include "raft/sim_scheduler.h"

#include <algorithm>

#include "raft/check.h"

namespace raft {

struct SimScheduler::Lane {
  std::string name;
  std::deque<std::function<void()>> ready;
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
    if (auto scheduler = scheduler_.lock()) {
      scheduler->post_at(lane_, scheduler->now() + std::max(delay, Duration::zero()),
                         std::move(task));
    }
  }
  void shutdown() override {
    lane_->shut_down = true;
    // Destroying a task may destroy an executor of this same lane (tasks own their owners'
    // state); move the queue out first so that never clears a deque being cleared.
    std::deque<std::function<void()>> doomed = std::move(lane_->ready);
    lane_->ready.clear();
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
  if (lane->shut_down) return;
  lane->ready.push_back(std::move(task));
}

void SimScheduler::post_at(const std::shared_ptr<Lane>& lane, TimePoint when,
                           std::function<void()> task) {
  if (lane->shut_down) return;
  timers_.emplace(std::make_pair(when, timer_seq_++), Timer{lane, std::move(task)});
}

void SimScheduler::release_timers(TimePoint until) {
  while (!timers_.empty() && timers_.begin()->first.first <= until) {
    auto node = timers_.extract(timers_.begin());
    post(node.mapped().lane, std::move(node.mapped().task));
  }
}

bool SimScheduler::run_one() {
  // Drop lanes nobody can post to any more and that have nothing left.
  std::erase_if(lanes_, [](const std::shared_ptr<Lane>& lane) {
    return lane.use_count() == 1 && lane->ready.empty();
  });
  std::vector<Lane*> ready;
  for (const auto& lane : lanes_) {
    if (!lane->ready.empty()) ready.push_back(lane.get());
  }
  if (ready.empty()) {
    if (timers_.empty()) return false;
    TimePoint next = timers_.begin()->first.first;
    PONTOON_CHECK(next >= clock_.now_);
    clock_.now_ = next;
    release_timers(next);
    return true;
  }
  Lane* lane = ready[std::uniform_int_distribution<size_t>(0, ready.size() - 1)(rng_)];
  std::function<void()> task = std::move(lane->ready.front());
  lane->ready.pop_front();
  ++steps_;
  task();
  return true;
}

bool SimScheduler::run_until(const std::function<bool()>& done, Duration limit) {
  const TimePoint deadline = clock_.now_ + limit;
  while (!done()) {
    bool has_ready = std::any_of(lanes_.begin(), lanes_.end(),
                                 [](const auto& lane) { return !lane->ready.empty(); });
    if (!has_ready && (timers_.empty() || timers_.begin()->first.first > deadline)) {
      clock_.now_ = std::max(clock_.now_, deadline);
      return done();
    }
    run_one();
  }
  return true;
}

void SimScheduler::run_for(Duration span) {
  run_until([] { return false; }, span);
}

}  // namespace raft
