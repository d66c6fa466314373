// Executor: a serial lane of work, where a component's ring-buffer consumer and its timers run.
//
// Contract for every implementation:
//  - Tasks posted to one Executor run one at a time, never concurrently, so state touched only
//    from one Executor needs no lock. Posted tasks run in the order they were posted.
//  - post() never runs the task inline; it may be called from any thread, including from a task
//    running on this Executor.
//  - dispatch() is post(), except on a thread inside an InlineDispatchScope: there an
//    implementation may run the task at once on the calling thread, if nothing of this
//    Executor is queued or running (so order and mutual exclusion still hold).
//  - post_after() runs the task no earlier than `delay` after the call, on this Executor.
//  - After shutdown() returns, no task of this Executor is running and none will run; tasks
//    not yet run are destroyed without running.
//
// Production: ExecutorPool hands out strands that share a fixed set of threads, so a process
// with thousands of groups does not need thousands of threads. Simulation: SimScheduler hands
// out executors that run on one thread in virtual time, in an order fixed by a seed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "raft/clock.h"

namespace raft {

class Executor {
 public:
  using Task = std::function<void()>;

  virtual ~Executor() = default;
  virtual void post(Task task) = 0;
  // See the class contract. The default posts.
  virtual void dispatch(Task task) { post(std::move(task)); }
  virtual void post_after(Duration delay, Task task) = 0;
  // Stops this lane; see the class contract. Idempotent. Must not be called from a task of
  // this Executor.
  virtual void shutdown() = 0;
};

// Marks the calling thread, for the scope's lifetime, as one that holds no lock and may run a
// lane's task itself: an IO thread handing a received message to its lane saves waking a
// worker for it (Executor::dispatch). Only code that knows its whole call stack opens one
// (the TCP transport around a request handler and a response callback; the log's disk
// callbacks). Nests; not copyable. Thread-safety: the state is the calling thread's own.
class InlineDispatchScope {
 public:
  enum class Reach {
    // Any lane's task may run here, the state machine's applying included.
    kAnyTask,
    // Only the framework's own short tasks: a lane that would call the application (the
    // state machine's on_apply, which may take long) is posted instead. For the disk threads,
    // which every group of the process shares: an on_apply run there would hold up other
    // groups' log writes and fsyncs. Wins over any kAnyTask scope around or inside it.
    kFrameworkOnly,
  };
  explicit InlineDispatchScope(Reach reach = Reach::kAnyTask);
  ~InlineDispatchScope();
  InlineDispatchScope(const InlineDispatchScope&) = delete;
  InlineDispatchScope& operator=(const InlineDispatchScope&) = delete;
  // True on a thread inside at least one scope.
  static bool active();
  // True inside a scope and in no kFrameworkOnly one: a drain that runs the application's code
  // may be dispatched inline.
  static bool allows_application_code();

 private:
  const Reach reach_;
};

// Runtime: what a Node needs from its environment: lanes to run on, a clock, and a seed.
// One Runtime serves many Nodes. Thread-safety: all methods may be called from any thread.
class Runtime {
 public:
  virtual ~Runtime() = default;
  // A new serial lane. `name` appears in thread names and diagnostics.
  virtual std::shared_ptr<Executor> make_executor(std::string_view name) = 0;
  // A new serial lane for tasks that block on IO (log writes with fsync, snapshot files). A
  // runtime may run these on threads of their own, so that a lane waiting for the disk never
  // holds a thread the CPU lanes (elections, replication, applies, RPCs) need; by default it
  // is an ordinary lane.
  virtual std::shared_ptr<Executor> make_io_executor(std::string_view name) {
    return make_executor(name);
  }
  virtual const Clock& clock() const = 0;
};

}  // namespace raft
