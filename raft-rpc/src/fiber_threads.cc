#include "raft/rpc/fiber_threads.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "raft/check.h"
#include "raft/send_batch.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define PONTOON_TSAN_FIBERS 1
#endif

namespace raft::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// mmap'ed with a guard page: an overflow faults instead of writing over a neighbour. Reserved,
// not committed: untouched pages cost nothing.
constexpr size_t kFiberStackBytes = 128 * 1024;

// ThreadSanitizer follows happens-before per thread; a fiber that suspends on one stack and
// resumes later must be told to it, or it would see one thread's history interleave. These
// wrap its fiber interface and do nothing in other builds.
void* tsan_current_fiber() {
#ifdef PONTOON_TSAN_FIBERS
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
void* tsan_create_fiber() {
#ifdef PONTOON_TSAN_FIBERS
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
void tsan_destroy_fiber([[maybe_unused]] void* fiber) {
#ifdef PONTOON_TSAN_FIBERS
  __tsan_destroy_fiber(fiber);
#endif
}
void tsan_switch_to([[maybe_unused]] void* fiber) {
#ifdef PONTOON_TSAN_FIBERS
  __tsan_switch_to_fiber(fiber, 0);
#endif
}

}  // namespace

// One thread's fibers and the list of those ready to run.
class FiberThreads::Scheduler {
 public:
  Scheduler(std::string name, std::vector<std::function<void()>> tasks)
      : name_(std::move(name)), fibers_(tasks.size()) {
    for (size_t f = 0; f < fibers_.size(); ++f) fibers_[f].task = std::move(tasks[f]);
  }

  // The scheduler of the calling fiber, or null off a fiber.
  static Scheduler* current() { return current_; }

  // On the scheduler's own thread.
  void run() {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    tsan_scheduler_ = tsan_current_fiber();
    size_t live = fibers_.size();
    std::vector<size_t> batch;
    for (size_t f = 0; f < fibers_.size(); ++f) {
      fibers_[f].context = boost::context::fiber(
          std::allocator_arg, boost::context::protected_fixedsize_stack(kFiberStackBytes),
          [this, f](boost::context::fiber&& scheduler) {
            fibers_[f].scheduler = std::move(scheduler);
            fibers_[f].task();
            tsan_switch_to(tsan_scheduler_);
            return std::move(fibers_[f].scheduler);
          });
      fibers_[f].tsan = tsan_create_fiber();
      batch.push_back(f);
    }
    while (live > 0) {
      {
        // What the fibers of one round send leaves together, one write per connection,
        // before this thread waits for the next round.
        raft::SendBatchScope round;
        for (size_t f : batch) {
          current_ = this;
          running_ = f;
          tsan_switch_to(fibers_[f].tsan);
          fibers_[f].context = std::move(fibers_[f].context).resume();
          current_ = nullptr;
          if (!fibers_[f].context) {
            tsan_destroy_fiber(fibers_[f].tsan);
            --live;
          }
        }
      }
      batch.clear();
      if (live > 0) take_ready(&batch);
    }
    // The resume of the last fiber may still be about to notify ready_cv_; the scheduler must
    // outlive that.
    while (resumes_in_flight_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

  // On a fiber of this scheduler: what makes it ready again, and suspending it until then.
  std::function<void()> resume_of_running() {
    return [this, f = running_] { make_ready(f); };
  }
  void suspend_running() { suspend(running_); }

  // On a fiber of this scheduler.
  void pause_for(raft::Duration duration) {
    const size_t f = running_;
    delayed_.emplace_back(Clock::now() + std::chrono::duration_cast<Clock::duration>(duration), f);
    suspend(f);
  }

 private:
  struct Fiber {
    std::function<void()> task;
    // The fiber while it is suspended (empty while it runs, and once it has finished).
    boost::context::fiber context;
    // The scheduler while the fiber runs.
    boost::context::fiber scheduler;
    void* tsan = nullptr;  // ThreadSanitizer's state of this fiber (TSan builds only).
  };

  void suspend(size_t f) {
    tsan_switch_to(tsan_scheduler_);
    fibers_[f].scheduler = std::move(fibers_[f].scheduler).resume();
  }

  // Any thread. The fiber is back on the list only after it suspended: the list is taken
  // by this scheduler's thread, which is the one running the fiber until then.
  void make_ready(size_t f) {
    resumes_in_flight_.fetch_add(1, std::memory_order_relaxed);
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake = ready_.empty();
      ready_.push_back(f);
    }
    // After the unlock: a thread woken while the lock is still held wakes only to block on the
    // lock and be woken a second time.
    if (wake) ready_cv_.notify_one();
    resumes_in_flight_.fetch_sub(1, std::memory_order_release);
  }

  // Waits until a fiber is ready or a paused one is due; moves them all into `batch`.
  void take_ready(std::vector<size_t>* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const Clock::time_point now = Clock::now();
      Clock::time_point next_due = Clock::time_point::max();
      for (size_t i = 0; i < delayed_.size();) {
        if (delayed_[i].first <= now) {
          batch->push_back(delayed_[i].second);
          delayed_[i] = delayed_.back();
          delayed_.pop_back();
        } else {
          next_due = std::min(next_due, delayed_[i].first);
          ++i;
        }
      }
      batch->insert(batch->end(), ready_.begin(), ready_.end());
      ready_.clear();
      if (!batch->empty()) return;
      if (next_due == Clock::time_point::max()) {
        ready_cv_.wait(lock);
      } else {
        ready_cv_.wait_until(lock, next_due);
      }
    }
  }

  static thread_local Scheduler* current_;

  const std::string name_;
  // Sized once: the fibers' lambdas refer to their slots by index.
  std::vector<Fiber> fibers_;
  size_t running_ = 0;              // The fiber this thread runs now.
  void* tsan_scheduler_ = nullptr;  // ThreadSanitizer's state of the scheduler's own stack.
  // Paused fibers and when they are due. Only this scheduler's thread touches it.
  std::vector<std::pair<Clock::time_point, size_t>> delayed_;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::vector<size_t> ready_;  // Guarded by mu_.
  // make_ready() calls that have not returned yet.
  std::atomic<int> resumes_in_flight_{0};
};

thread_local FiberThreads::Scheduler* FiberThreads::Scheduler::current_ = nullptr;

FiberThreads::FiberThreads(int threads, std::vector<std::function<void()>> tasks,
                           const std::string& name) {
  PONTOON_CHECK(threads >= 1);
  std::vector<std::vector<std::function<void()>>> per_thread(static_cast<size_t>(threads));
  for (size_t i = 0; i < tasks.size(); ++i) {
    per_thread[i % per_thread.size()].push_back(std::move(tasks[i]));
  }
  for (int t = 0; t < threads; ++t) {
    schedulers_.push_back(std::make_unique<Scheduler>(
        name + "-" + std::to_string(t), std::move(per_thread[static_cast<size_t>(t)])));
  }
  for (auto& scheduler : schedulers_) {
    threads_.emplace_back([s = scheduler.get()] { s->run(); });
  }
}

FiberThreads::~FiberThreads() { join(); }

void FiberThreads::join() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

namespace fiber_detail {

std::function<void()> resume_of_running_fiber() {
  FiberThreads::Scheduler* scheduler = FiberThreads::Scheduler::current();
  return scheduler != nullptr ? scheduler->resume_of_running() : std::function<void()>();
}

void suspend_running_fiber() {
  FiberThreads::Scheduler* scheduler = FiberThreads::Scheduler::current();
  PONTOON_CHECK(scheduler != nullptr);
  scheduler->suspend_running();
}

void ThreadWait::resume() {
  std::lock_guard<std::mutex> lock(mu_);
  resumed_ = true;
  cv_.notify_one();
}

void ThreadWait::wait() {
  // What this thread collected must leave before it waits for an answer to it.
  raft::SendBatchScope::flush();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return resumed_; });
}

}  // namespace fiber_detail

void pause_for(raft::Duration duration) {
  if (FiberThreads::Scheduler* scheduler = FiberThreads::Scheduler::current()) {
    scheduler->pause_for(duration);
    return;
  }
  std::this_thread::sleep_for(duration);
}

}  // namespace raft::rpc
