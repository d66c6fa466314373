#include "raft/rpc/fiber_threads.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/defer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "raft/check.h"
#include "raft/rpc/io_context_pool.h"
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

// One scheduler's fibers and the list of those ready to run. It runs them either on a thread
// of its own (run()) or in rounds posted to an io_context (hosted: start_hosted()).
class FiberThreads::Scheduler {
 public:
  Scheduler(std::string name, std::vector<std::function<void()>> tasks, FiberThreads* owner,
            IoContextPool* pool, boost::asio::io_context* host)
      : name_(std::move(name)), owner_(owner), pool_(pool), host_(host), fibers_(tasks.size()) {
    for (size_t f = 0; f < fibers_.size(); ++f) fibers_[f].task = std::move(tasks[f]);
  }

  // The scheduler of the calling fiber, or null off a fiber.
  static Scheduler* current() { return current_; }

  // On the scheduler's own thread.
  void run() {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    std::vector<size_t> batch = create_fibers();
    while (live_ > 0) {
      run_batch(batch);
      batch.clear();
      if (live_ > 0) take_ready(&batch);
    }
    wait_for_resumes();
  }

  // Hosted: makes every fiber ready; rounds run them on the host's threads.
  void start_hosted() {
    std::vector<size_t> batch = create_fibers();
    if (batch.empty()) {
      owner_->scheduler_finished();
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = std::move(batch);
    round_posted_ = true;
    post_round();
  }

  // On a fiber of this scheduler: what makes it ready again, and suspending it until then.
  std::function<void()> resume_of_running() {
    return [this, f = running_] { make_ready(f); };
  }
  void suspend_running() { suspend(running_); }

  // On a fiber of this scheduler.
  void pause_for(raft::Duration duration) {
    const size_t f = running_;
    const auto delay = std::chrono::duration_cast<Clock::duration>(duration);
    if (host_ != nullptr) {
      auto timer = std::make_shared<boost::asio::steady_timer>(*host_, delay);
      timer->async_wait([this, f, timer](const boost::system::error_code&) { make_ready(f); });
    } else {
      delayed_.emplace_back(Clock::now() + delay, f);
    }
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

  // Creates every fiber; returns them all, to be run first.
  std::vector<size_t> create_fibers() {
    std::vector<size_t> all;
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
      all.push_back(f);
    }
    live_ = fibers_.size();
    return all;
  }

  // Resumes each fiber of `batch` once, on the calling thread.
  void run_batch(const std::vector<size_t>& batch) {
    tsan_scheduler_ = tsan_current_fiber();
    // What the fibers of one round send leaves together, one write per connection, before
    // this thread waits for the next round.
    raft::SendBatchScope round;
    for (size_t f : batch) {
      current_ = this;
      running_ = f;
      tsan_switch_to(fibers_[f].tsan);
      fibers_[f].context = std::move(fibers_[f].context).resume();
      current_ = nullptr;
      if (!fibers_[f].context) {
        tsan_destroy_fiber(fibers_[f].tsan);
        --live_;
      }
    }
  }

  // Hosted: one round, a handler on the host. round_posted_ stays true from the post until the
  // round ends with nothing ready, so rounds of one scheduler never overlap: a fiber made ready
  // while it still runs (its callback ran on another thread before it suspended) waits for the
  // next round, which only starts after this one.
  void run_round() {
    // Swapped, not moved: the ready list keeps this vector's capacity and the next round this
    // one's, so steady rounds allocate nothing.
    round_batch_.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      round_batch_.swap(ready_);
    }
    run_batch(round_batch_);
    if (live_ == 0) {
      // Nothing can make a fiber ready any more; wait out a resume still returning, then
      // report. The owner may be destroyed once told, so `this` is not touched after it.
      wait_for_resumes();
      owner_->scheduler_finished();
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (ready_.empty()) {
      round_posted_ = false;
    } else {
      // Ready meanwhile: another round, after whatever else the host has queued.
      post_round();
    }
  }

  // REQUIRES: mu_ held and round_posted_ set by the caller. From one of the pool's threads the
  // round is deferred to that thread's own context (each pool thread runs a context of its
  // own), so it runs right after the current handler and no other thread is woken for it;
  // from elsewhere it goes to the scheduler's home context.
  void post_round() {
    boost::asio::io_context* here = pool_->current_context();
    boost::asio::defer(here != nullptr ? *here : *host_, [this] { run_round(); });
  }

  void suspend(size_t f) {
    tsan_switch_to(tsan_scheduler_);
    fibers_[f].scheduler = std::move(fibers_[f].scheduler).resume();
  }

  // Any thread. The fiber is back on the list only after it suspended: the list is taken
  // by this scheduler's thread (or next round), which is the one running the fiber until then.
  void make_ready(size_t f) {
    resumes_in_flight_.fetch_add(1, std::memory_order_relaxed);
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake = ready_.empty();
      ready_.push_back(f);
      if (host_ != nullptr) {
        // Posted from a host thread, the round runs on that thread right after the handler
        // that made the fiber ready: no other thread is woken for it.
        if (!round_posted_) {
          round_posted_ = true;
          post_round();
        }
        wake = false;
      }
    }
    // After the unlock: a thread woken while the lock is still held wakes only to block on the
    // lock and be woken a second time.
    if (wake) ready_cv_.notify_one();
    resumes_in_flight_.fetch_sub(1, std::memory_order_release);
  }

  // The resume of the last fiber may still be about to return from make_ready(); the
  // scheduler must outlive that.
  void wait_for_resumes() {
    while (resumes_in_flight_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
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
  FiberThreads* const owner_;
  IoContextPool* const pool_;            // Null: the scheduler has a thread of its own.
  boost::asio::io_context* const host_;  // Hosted: the home context (timers, rounds posted from
                                         // outside the pool). Null: a thread of its own.
  // Sized once: the fibers' lambdas refer to their slots by index.
  std::vector<Fiber> fibers_;
  // Touched only by whoever runs the scheduler (its thread, or the round running now).
  size_t live_ = 0;                  // Fibers that have not returned.
  size_t running_ = 0;               // The fiber running now.
  void* tsan_scheduler_ = nullptr;   // ThreadSanitizer's state of the stack running the round.
  std::vector<size_t> round_batch_;  // Hosted: the fibers the running round resumes.
  // Paused fibers and when they are due (own thread only; hosted pauses use timers).
  std::vector<std::pair<Clock::time_point, size_t>> delayed_;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::vector<size_t> ready_;  // Guarded by mu_.
  bool round_posted_ = false;  // Guarded by mu_. Hosted: a round is posted or running.
  // make_ready() calls that have not returned yet.
  std::atomic<int> resumes_in_flight_{0};
};

thread_local FiberThreads::Scheduler* FiberThreads::Scheduler::current_ = nullptr;

namespace {

std::vector<std::vector<std::function<void()>>> deal(int schedulers,
                                                     std::vector<std::function<void()>> tasks) {
  std::vector<std::vector<std::function<void()>>> per_scheduler(static_cast<size_t>(schedulers));
  for (size_t i = 0; i < tasks.size(); ++i) {
    per_scheduler[i % per_scheduler.size()].push_back(std::move(tasks[i]));
  }
  return per_scheduler;
}

}  // namespace

FiberThreads::FiberThreads(int threads, std::vector<std::function<void()>> tasks,
                           const std::string& name) {
  PONTOON_CHECK(threads >= 1);
  std::vector<std::vector<std::function<void()>>> per_thread = deal(threads, std::move(tasks));
  for (int t = 0; t < threads; ++t) {
    schedulers_.push_back(std::make_unique<Scheduler>(name + "-" + std::to_string(t),
                                                      std::move(per_thread[static_cast<size_t>(t)]),
                                                      this, nullptr, nullptr));
  }
  for (auto& scheduler : schedulers_) {
    threads_.emplace_back([s = scheduler.get()] { s->run(); });
  }
}

FiberThreads::FiberThreads(IoContextPool* pool, int schedulers,
                           std::vector<std::function<void()>> tasks, const std::string& name) {
  PONTOON_CHECK(pool != nullptr);
  PONTOON_CHECK(schedulers >= 1);
  std::vector<std::vector<std::function<void()>>> per_scheduler =
      deal(schedulers, std::move(tasks));
  for (int s = 0; s < schedulers; ++s) {
    schedulers_.push_back(std::make_unique<Scheduler>(
        name + "-" + std::to_string(s), std::move(per_scheduler[static_cast<size_t>(s)]), this,
        pool, &pool->context(static_cast<size_t>(s) % pool->thread_count())));
  }
  for (auto& scheduler : schedulers_) scheduler->start_hosted();
}

FiberThreads::~FiberThreads() { join(); }

void FiberThreads::join() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  if (!threads_.empty()) return;
  std::unique_lock<std::mutex> lock(finished_mu_);
  finished_cv_.wait(lock, [this] { return finished_ == schedulers_.size(); });
}

void FiberThreads::scheduler_finished() {
  std::lock_guard<std::mutex> lock(finished_mu_);
  ++finished_;
  finished_cv_.notify_all();
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
