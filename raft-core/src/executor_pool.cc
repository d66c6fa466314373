#include "raft/executor_pool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft::detail {
namespace {

class Strand;

// A worker runs at most this many tasks of one strand before giving the next strand a turn: high
// enough to amortise the ready-queue handoff, low enough that one busy strand cannot hog a thread.
constexpr int kTasksPerTurn = 16;

// Longer delays are clamped so that `now + delay` cannot overflow; a century is "never".
constexpr Duration kMaxDelay = std::chrono::hours(24 * 365 * 100);

struct Timer {
  TimePoint deadline;
  uint64_t id = 0;  // Tie-break: timers with equal deadlines fire in the order they were set.
  const Strand* owner = nullptr;  // Identity only, for dropping a strand's timers.
  std::weak_ptr<Strand> strand;   // Weak: a pending timer does not keep its strand alive.
  Executor::Task task;
};

}  // namespace

// The state shared by an ExecutorPool and its strands: the ready queue the workers take strands
// from, and the timer heap. Strands hold it by shared_ptr, so they may outlive the pool.
class PoolCore {
 public:
  const Clock& clock() const { return clock_; }

  // Appends a strand that has tasks to run. Returns false once the pool is stopping.
  bool enqueue(std::shared_ptr<Strand> strand) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      ready_.push_back(std::move(strand));
    }
    ready_cv_.notify_one();
    return true;
  }

  // Blocks until a strand is ready; returns nullptr when the pool is stopping.
  std::shared_ptr<Strand> next_ready() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return nullptr;
    std::shared_ptr<Strand> strand = std::move(ready_.front());
    ready_.pop_front();
    return strand;
  }

  bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }

  // Makes workers and the timer thread exit and returns the strands that were waiting for a
  // worker, which the caller must abandon once the workers have stopped.
  std::deque<std::shared_ptr<Strand>> stop() {
    std::deque<std::shared_ptr<Strand>> orphans;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      stopping_flag_.store(true, std::memory_order_release);
      orphans.swap(ready_);
    }
    ready_cv_.notify_all();
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      timers_stopping_ = true;
    }
    timer_cv_.notify_all();
    return orphans;
  }

  // Adds a timer. Returns false, leaving `timer` with the caller, once the pool is stopping.
  bool add_timer(Timer&& timer) {
    bool new_earliest;
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      if (timers_stopping_) return false;
      const uint64_t id = next_timer_id_++;
      timer.id = id;
      timers_.push_back(std::move(timer));
      std::push_heap(timers_.begin(), timers_.end(), fires_later);
      new_earliest = timers_.front().id == id;
    }
    // Only a new earliest deadline changes how long the timer thread must sleep.
    if (new_earliest) timer_cv_.notify_one();
    return true;
  }

  // Removes and returns the pending timers of `owner`, for the caller to destroy outside the lock.
  std::vector<Timer> take_timers(const Strand* owner) {
    std::vector<Timer> taken;
    std::lock_guard<std::mutex> lock(timer_mu_);
    auto first_taken = std::partition(timers_.begin(), timers_.end(),
                                      [owner](const Timer& t) { return t.owner != owner; });
    if (first_taken == timers_.end()) return taken;
    taken.assign(std::make_move_iterator(first_taken), std::make_move_iterator(timers_.end()));
    timers_.erase(first_taken, timers_.end());
    std::make_heap(timers_.begin(), timers_.end(), fires_later);
    return taken;
  }

  std::vector<Timer> take_all_timers() {
    std::lock_guard<std::mutex> lock(timer_mu_);
    return std::exchange(timers_, {});
  }

  // The timer thread: sleeps until the earliest deadline, then posts the task to its strand.
  void run_timers();

 private:
  // Heap order for a min-heap on (deadline, id).
  static bool fires_later(const Timer& a, const Timer& b) {
    if (a.deadline != b.deadline) return a.deadline > b.deadline;
    return a.id > b.id;
  }

  const SteadyClock clock_;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::deque<std::shared_ptr<Strand>> ready_;  // Guarded by mu_.
  bool stopping_ = false;                      // Guarded by mu_.
  // stopping_ for readers that do not hold mu_ (a worker between two tasks).
  std::atomic<bool> stopping_flag_{false};

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::vector<Timer> timers_;     // Guarded by timer_mu_. Invariant: a heap under fires_later.
  uint64_t next_timer_id_ = 0;    // Guarded by timer_mu_.
  bool timers_stopping_ = false;  // Guarded by timer_mu_.
};

namespace {

// A serial lane on the pool's threads. See executor_pool.h for the contract.
//
// Invariants (under mu_): scheduled_ is true while the strand sits in the ready queue or a worker
// is running its turn, so at most one worker runs it at a time; running_thread_ is the worker
// inside one of its tasks, or empty; once shut_down_ is set, pending_ stays empty.
class Strand final : public Executor, public std::enable_shared_from_this<Strand> {
 public:
  Strand(std::shared_ptr<PoolCore> core, std::string_view name)
      : core_(std::move(core)), name_(name) {}

  ~Strand() override {
    // Nobody can post to us any more; timers that would only find us gone are dropped now,
    // releasing what they captured, rather than at their deadlines.
    std::vector<Timer> timers = core_->take_timers(this);
  }

  void post(Task task) override {
    PONTOON_CHECK_MSG(task != nullptr, "posting an empty task");
    bool must_enqueue = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_down_) return;  // `task` is destroyed after the lock is released.
      pending_.push_back(std::move(task));
      must_enqueue = !std::exchange(scheduled_, true);
    }
    if (must_enqueue && !core_->enqueue(shared_from_this())) abandon();
  }

  void dispatch(Task task) override {
    PONTOON_CHECK_MSG(task != nullptr, "dispatching an empty task");
    if (!InlineDispatchScope::active()) {
      post(std::move(task));
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (shut_down_) return;
    if (scheduled_ || core_->stopping()) {
      // Queued or running elsewhere (or on this very thread, further up the stack): in order.
      lock.unlock();
      post(std::move(task));
      return;
    }
    // Idle: this thread takes the strand's turn, as a worker would.
    scheduled_ = true;
    running_thread_ = std::this_thread::get_id();
    lock.unlock();
    task();
    task = nullptr;  // Captures die inside the running window, as in run_turn().
    lock.lock();
    running_thread_ = std::thread::id();
    if (shut_down_) idle_cv_.notify_all();
    if (shut_down_ || pending_.empty()) {
      scheduled_ = false;
      return;
    }
    lock.unlock();
    // What the task posted to this strand runs on a worker; scheduled_ stays true.
    if (!core_->enqueue(shared_from_this())) abandon();
  }

  void post_after(Duration delay, Task task) override {
    PONTOON_CHECK_MSG(task != nullptr, "posting an empty task");
    if (delay <= Duration::zero()) {
      post(std::move(task));
      return;
    }
    Timer timer;  // Declared before the lock: a dropped timer is destroyed after it is released.
    std::lock_guard<std::mutex> lock(mu_);
    // Adding the timer under mu_ orders it against shutdown(), which sets shut_down_ under mu_
    // before it removes this strand's timers: a timer is either refused here or removed there.
    if (shut_down_) return;
    timer.deadline = core_->clock().now() + std::min(delay, kMaxDelay);
    timer.owner = this;
    timer.strand = weak_from_this();
    timer.task = std::move(task);
    core_->add_timer(std::move(timer));  // Refused only when the pool is stopping.
  }

  void shutdown() override {
    std::deque<Task> dropped;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (running_thread_ == std::this_thread::get_id()) {
        PONTOON_LOG(kError) << "executor '" << name_ << "' shut down from its own task";
        PONTOON_CHECK_MSG(false, "Executor::shutdown() called from a task of the same Executor");
      }
      shut_down_ = true;
      dropped.swap(pending_);
      idle_cv_.wait(lock, [this] { return running_thread_ == std::thread::id(); });
    }
    std::vector<Timer> timers = core_->take_timers(this);
    // `dropped` and `timers` are destroyed here, outside every lock: a task's captures may post
    // to other executors when they die.
  }

  // Runs on a worker: up to kTasksPerTurn tasks, then back to the ready queue if more remain.
  void run_turn() {
    std::unique_lock<std::mutex> lock(mu_);
    PONTOON_CHECK(scheduled_);
    PONTOON_CHECK(running_thread_ == std::thread::id());
    for (int i = 0; i < kTasksPerTurn && !shut_down_ && !pending_.empty(); ++i) {
      if (core_->stopping()) break;
      Task task = std::move(pending_.front());
      pending_.pop_front();
      running_thread_ = std::this_thread::get_id();
      lock.unlock();
      task();
      // Destroy the captures inside the running window, so shutdown() waits for them too.
      task = nullptr;
      lock.lock();
      running_thread_ = std::thread::id();
      if (shut_down_) idle_cv_.notify_all();
    }
    if (shut_down_ || pending_.empty()) {
      scheduled_ = false;
      return;
    }
    lock.unlock();
    // scheduled_ stays true: nobody else enqueues us meanwhile.
    if (!core_->enqueue(shared_from_this())) abandon();
  }

  // The pool stopped before this strand could run again: behave as if shut down.
  void abandon() {
    std::deque<Task> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    scheduled_ = false;
    dropped.swap(pending_);
    // `lock` is released before `dropped` is destroyed (reverse order of declaration).
  }

 private:
  const std::shared_ptr<PoolCore> core_;
  const std::string name_;  // For diagnostics.

  std::mutex mu_;
  std::condition_variable idle_cv_;  // Signalled when running_thread_ clears after shutdown.
  std::deque<Task> pending_;         // Guarded by mu_.
  bool scheduled_ = false;           // Guarded by mu_.
  bool shut_down_ = false;           // Guarded by mu_.
  std::thread::id running_thread_;   // Guarded by mu_.
};

}  // namespace

void PoolCore::run_timers() {
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (!timers_stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const TimePoint deadline = timers_.front().deadline;
    if (clock_.now() < deadline) {
      timer_cv_.wait_until(lock, deadline);
      continue;
    }
    std::pop_heap(timers_.begin(), timers_.end(), fires_later);
    Timer due = std::move(timers_.back());
    timers_.pop_back();
    lock.unlock();
    if (std::shared_ptr<Strand> strand = due.strand.lock()) strand->post(std::move(due.task));
    due = Timer();  // A task its strand refused dies here, outside the lock.
    lock.lock();
  }
}

namespace {

void set_thread_name(const std::string& name) {
#if defined(__linux__)
  // Linux limits thread names to 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

void run_worker(PoolCore& core, std::string name) {
  set_thread_name(name);
  while (std::shared_ptr<Strand> strand = core.next_ready()) strand->run_turn();
}

}  // namespace
}  // namespace raft::detail

namespace raft {
namespace {

thread_local int inline_dispatch_depth = 0;
thread_local int framework_only_depth = 0;  // Of those, the kFrameworkOnly scopes.

}  // namespace

InlineDispatchScope::InlineDispatchScope(Reach reach) : reach_(reach) {
  ++inline_dispatch_depth;
  if (reach_ == Reach::kFrameworkOnly) ++framework_only_depth;
}
InlineDispatchScope::~InlineDispatchScope() {
  --inline_dispatch_depth;
  if (reach_ == Reach::kFrameworkOnly) --framework_only_depth;
}
bool InlineDispatchScope::active() { return inline_dispatch_depth > 0; }
bool InlineDispatchScope::allows_application_code() {
  return inline_dispatch_depth > 0 && framework_only_depth == 0;
}

ExecutorPool::ExecutorPool(size_t num_threads, size_t io_threads) {
  if (num_threads == 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
  cpu_ = start(num_threads, "pontoon-w", "pontoon-timer");
  if (io_threads > 0) io_ = start(io_threads, "pontoon-io", "pontoon-iotimer");
}

ExecutorPool::Threads ExecutorPool::start(size_t num_threads, const char* worker_prefix,
                                          const char* timer_name) {
  Threads threads;
  threads.core = std::make_shared<detail::PoolCore>();
  threads.workers.reserve(num_threads);
  for (size_t i = 0; i < num_threads; ++i) {
    threads.workers.emplace_back(detail::run_worker, std::ref(*threads.core),
                                 worker_prefix + std::to_string(i));
  }
  threads.timer = std::thread([core = threads.core.get(), timer_name] {
    detail::set_thread_name(timer_name);
    core->run_timers();
  });
  return threads;
}

ExecutorPool::~ExecutorPool() {
  const std::thread::id self = std::this_thread::get_id();
  for (const Threads* threads : {&cpu_, &io_}) {
    PONTOON_CHECK_MSG(!threads->timer.joinable() || self != threads->timer.get_id(),
                      "ExecutorPool destroyed by its own timer");
    for (const std::thread& worker : threads->workers) {
      PONTOON_CHECK_MSG(self != worker.get_id(), "ExecutorPool destroyed by its own task");
    }
  }
  stop(io_);
  stop(cpu_);
}

void ExecutorPool::stop(Threads& threads) {
  if (!threads.core) return;
  std::deque<std::shared_ptr<detail::Strand>> orphans = threads.core->stop();
  for (std::thread& worker : threads.workers) worker.join();
  threads.timer.join();
  // Workers finishing a turn abandon their strand themselves; these never got a worker back.
  for (const std::shared_ptr<detail::Strand>& strand : orphans) strand->abandon();
  std::vector<detail::Timer> timers = threads.core->take_all_timers();
}

std::shared_ptr<Executor> ExecutorPool::make_executor(std::string_view name) {
  return std::make_shared<detail::Strand>(cpu_.core, name);
}

std::shared_ptr<Executor> ExecutorPool::make_io_executor(std::string_view name) {
  return std::make_shared<detail::Strand>(io_.core ? io_.core : cpu_.core, name);
}

ExecutorPool& ExecutorPool::default_pool() {
  // Deliberately leaked: its threads may still run tasks while other statics are destroyed.
  static ExecutorPool* const pool = new ExecutorPool(0);
  return *pool;
}

}  // namespace raft
