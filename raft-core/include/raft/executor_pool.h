// ExecutorPool: the production Runtime. A fixed set of worker threads runs any number of strands.
//
// make_executor() returns a strand: a serial lane that implements the Executor contract
// (raft/executor.h) exactly, while sharing the pool's threads with every other strand, so a
// process with thousands of Raft groups needs no more threads than the pool has.
// make_io_executor() returns a strand on a second, small set of IO threads (when the pool has
// them), shared by every group's disk and snapshot lanes: while both IO threads wait in fsync,
// the CPU workers still run elections, replication, applies and RPC handlers.
//  - A strand runs its tasks one at a time, in the order they were posted, never inline in
//    post(). A worker runs a few of a strand's tasks per turn and then puts the strand at the
//    back of the ready queue, so one busy strand cannot starve the others.
//  - post_after() is served by one timer thread per pool (a min-heap of deadlines and a
//    condition variable, on the steady clock); when a timer is due its task is posted to its
//    strand, behind whatever that strand already has queued.
//  - Strand::shutdown() waits until the task the strand is running (if any) has returned and
//    destroys its pending tasks and pending timers without running them. It may be called from
//    any thread, including from a task of another strand of the same pool, but not from a task
//    of the strand itself (that would wait for itself; it is checked and aborts).
//  - A strand that outlives its pool, or was shut down, drops whatever is posted to it.
//  - Dropping the last reference to a strand without shutdown() drops its pending timers;
//    tasks already posted still run.
//
// Thread-safety: all methods may be called from any thread. A task that throws terminates the
// process (raft-core reports operating errors as Status, so an exception is a programmer error).
//
// Ownership: the pool owns its threads; strands are shared with their users and keep the pool's
// internals alive (not the ExecutorPool object).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "raft/clock.h"
#include "raft/executor.h"

namespace raft {

namespace detail {
class PoolCore;
}  // namespace detail

class ExecutorPool final : public Runtime {
 public:
  // IO threads a pool has unless told otherwise: a process's groups share them, and two keep
  // one fsync in flight while the next batch is being prepared.
  static constexpr size_t kDefaultIoThreads = 2;

  // Starts `num_threads` workers (0 means std::thread::hardware_concurrency(), at least 1) for
  // make_executor() strands, `io_threads` workers for make_io_executor() strands (0: those
  // strands share the first workers), and a timer thread for each set.
  explicit ExecutorPool(size_t num_threads, size_t io_threads = kDefaultIoThreads);

  // Lets each worker finish the task it is running, then stops all threads. Tasks and timers
  // still pending are destroyed without running; strands made by this pool remain valid objects
  // that drop whatever is posted to them.
  // REQUIRES: not called from a task or timer of this pool.
  ~ExecutorPool() override;

  ExecutorPool(const ExecutorPool&) = delete;
  ExecutorPool& operator=(const ExecutorPool&) = delete;

  std::shared_ptr<Executor> make_executor(std::string_view name) override;
  std::shared_ptr<Executor> make_io_executor(std::string_view name) override;
  const Clock& clock() const override { return clock_; }

  size_t num_threads() const { return cpu_.workers.size(); }
  size_t num_io_threads() const { return io_.workers.size(); }

  // The process-wide pool, created on first use with hardware_concurrency() threads. It is never
  // destroyed, so strands from it stay usable while other static objects are destroyed at exit.
  static ExecutorPool& default_pool();

 private:
  // One set of workers with its ready queue, timer heap and timer thread.
  struct Threads {
    std::shared_ptr<detail::PoolCore> core;
    std::vector<std::thread> workers;
    std::thread timer;
  };
  static Threads start(size_t num_threads, const char* worker_prefix, const char* timer_name);
  static void stop(Threads& threads);

  SteadyClock clock_;
  Threads cpu_;
  Threads io_;  // No threads and no core when the pool has no IO threads of its own.
};

}  // namespace raft
