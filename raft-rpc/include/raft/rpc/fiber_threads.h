// FiberThreads: many blocking-style tasks (closed-loop clients) as Boost.Context fibers on a
// few threads.
//
// A task written as a sequence of blocking calls (a client's: send, wait for the reply, maybe
// back off and retry) needs a thread each when it blocks a thread: 256
// clients are then 256 threads, and each reply wakes one of them, so a client process on a
// small machine spends most of its CPU switching threads. Run as fibers, a task that waits
// suspends its fiber instead: the reply only puts the fiber on its thread's ready list, and
// one wake-up of that thread resumes every fiber whose reply arrived meanwhile.
//
// Hosted on an IoContextPool instead of threads of their own, the fibers run as handlers on the
// pool's threads: a reply the pool's thread reads resumes its fiber on that same thread, right
// after the read handler, with no thread woken in between (a client's request/reply loop then
// costs no hand-off inside the client process). Each scheduler is serial (its fibers never run
// on two threads at once) but may move between the pool's threads from one round to the next.
// A hosted fiber must wait only through wait_for_callback() and pause_for(): a call that
// blocks its thread holds one of the pool's threads, and if the reply it waits for needs that
// thread (a one-thread pool), it never comes.
//
// In ThreadSanitizer builds every switch between a fiber and its thread's scheduler is
// announced to TSan (its fiber interface), so races are judged per fiber.
//
// Code that may run either way calls wait_for_callback() and pause_for(): on a fiber of a
// FiberThreads they suspend the fiber, anywhere else they block the calling thread.
//
// Thread-safety: FiberThreads is started and joined by one thread. wait_for_callback() and
// pause_for() from any thread; the callback wait_for_callback() hands out may run on any
// thread, exactly once.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raft/clock.h"

namespace raft::rpc {

class IoContextPool;

class FiberThreads {
 public:
  // Runs `tasks` as fibers: task i on thread i % threads, named "<name>-<thread index>".
  // Starts at once. REQUIRES: threads >= 1.
  FiberThreads(int threads, std::vector<std::function<void()>> tasks,
               const std::string& name = "fibers");
  // Runs `tasks` as fibers of `schedulers` serial schedulers hosted on `pool`'s threads: task i
  // on scheduler i % schedulers. Starts at once. REQUIRES: schedulers >= 1; the pool runs
  // (started, not stopped) until join() has returned, or suspended fibers never resume.
  FiberThreads(IoContextPool* pool, int schedulers, std::vector<std::function<void()>> tasks,
               const std::string& name = "fibers");
  ~FiberThreads();  // Joins.

  FiberThreads(const FiberThreads&) = delete;
  FiberThreads& operator=(const FiberThreads&) = delete;

  // Waits until every task has returned.
  void join();

  class Scheduler;

 private:
  // Hosted: a scheduler's last fiber returned.
  void scheduler_finished();

  std::vector<std::unique_ptr<Scheduler>> schedulers_;
  std::vector<std::thread> threads_;
  // Hosted mode: schedulers whose fibers have all returned.
  std::mutex finished_mu_;
  std::condition_variable finished_cv_;
  size_t finished_ = 0;  // Guarded by finished_mu_.
};

namespace fiber_detail {
// On a fiber of a FiberThreads: the callback that makes the running fiber ready again; empty
// off a fiber.
std::function<void()> resume_of_running_fiber();
// On a fiber: suspends it until its resume callback ran (or returns at once if it already
// did).
void suspend_running_fiber();
// Off a fiber: a thread blocks in wait() until resume() is called, from any thread.
class ThreadWait {
 public:
  void resume();
  void wait();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool resumed_ = false;
};
}  // namespace fiber_detail

// Calls `start(resume)` and waits until `resume` has been called: the caller's fiber is
// suspended meanwhile if it runs on a FiberThreads, else the calling thread blocks. `resume`
// (a std::function<void()>, small enough to be stored without allocating) may be called from
// any thread, inline in `start` as well, and must be called exactly once. A template, so that
// `start` itself is not turned into a std::function (an allocation per call).
template <typename Start>
void wait_for_callback(Start&& start) {
  if (std::function<void()> resume = fiber_detail::resume_of_running_fiber()) {
    start(std::move(resume));
    fiber_detail::suspend_running_fiber();
    return;
  }
  fiber_detail::ThreadWait wait;
  start(std::function<void()>([&wait] { wait.resume(); }));
  wait.wait();
}

// Waits `duration`: suspends the calling fiber, or sleeps the calling thread.
void pause_for(raft::Duration duration);

}  // namespace raft::rpc
