// RingQueue: an MpscRingBuffer whose consumer runs on an Executor.
//
// Producers on any thread publish() items; a drain task on the Executor takes whatever has been
// published, at most max_batch items at a time, and passes them to the handler as one batch, in
// publication order. This is how Node (apply queue), LogManager (disk queue), FSMCaller and
// ReadOnlyService receive work: bounded, batched, and with their state touched only from their
// own Executor lane, so that the same code runs on a thread pool and in simulation.
//
// Scheduling: at most one drain task is posted or running at a time. A publisher that finds no
// drain scheduled posts one; with `inline_drain`, it dispatches it instead (Executor::dispatch):
// a publisher inside an InlineDispatchScope whose lane is idle then runs the drain itself, before
// publish() returns, saving a worker's wake-up. An inline drain hands the handler only the item
// just published. Only queues whose handler never blocks and never shuts its own queue down may
// drain inline; publish(value, may_drain_inline) chooses per item, for a handler that may block
// on some items only.
//
// A drain task hands one batch to the handler, clears the "scheduled" flag and checks once more
// for items; if there are any (left over, or published meanwhile), a new drain task is posted
// rather than looping, so other work on a shared lane gets its turn (see schedule_drain() for why
// no wakeup is lost).
//
// Backpressure: publish() never blocks and never grows the queue; when the ring is full it returns
// EBUSY ("<name> queue is full") and leaves the item with the caller.
//
// Shutdown (nothing accepted is ever lost):
//  - shutdown() closes the queue: from then on publish() returns ESHUTDOWN and leaves the item
//    with the caller. It waits for publish() calls already past the check to finish, so after it
//    returns the set of accepted items is final.
//  - Every accepted item is handed exactly once to a handler: to the queue's handler by a drain
//    task, or, for items still queued when the owner stops the Executor, to the handler given
//    to drain_for_shutdown(). An owner that must fail every leftover item (the apply queue runs
//    each leftover Task's closure with ESHUTDOWN) therefore stops like this:
//        queue.shutdown();             // no new items
//        executor->shutdown();         // no drain task runs any more
//        queue.drain_for_shutdown([](std::vector<Task>& tasks) { fail each with ESHUTDOWN });
//    Items that a drain task already handed to the queue's handler are the handler's business.
//  - Items still queued when the RingQueue is destroyed are destroyed without being handled.
//  - If the Executor stops while the queue is still open, accepted items wait in the ring (and
//    the ring eventually reports EBUSY) until drain_for_shutdown() takes them.
//
// Thread-safety: every method may be called from any thread, including from the handler. The
// handler runs only on the Executor and never concurrently with itself or with a
// drain_for_shutdown() handler: whoever consumes holds the queue's consumer lock, so
// drain_for_shutdown() and the destructor wait for a drain task running on another thread to
// return (and do not wait when called from inside the handler).
//
// Ownership: the queue keeps the Executor alive. A posted drain task keeps the queue's internals
// alive, not the RingQueue object, so the queue may be destroyed while a drain task is still
// pending; that task then does nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/executor.h"
#include "raft/ring_buffer.h"
#include "raft/status.h"

namespace raft {

template <typename T>
class RingQueue {
 public:
  // Receives one batch of at most max_batch items, in publication order. It may move items out;
  // whatever is left in `batch` is destroyed when it returns.
  using Handler = std::function<void(std::vector<T>& batch)>;

  // REQUIRES: capacity is a power of two; max_batch > 0; executor and handler are set.
  RingQueue(std::string name, size_t capacity, size_t max_batch, std::shared_ptr<Executor> executor,
            Handler handler, bool inline_drain = false)
      : core_(std::make_shared<Core>(std::move(name), capacity, max_batch, std::move(executor),
                                     std::move(handler), inline_drain)) {}

  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  // Waits for a drain running on another thread to return; destroys the items still queued.
  ~RingQueue() {
    shutdown();
    ConsumerLock consumer(*core_);
    // A drain task still pending on the Executor must neither call the handler (its owner is
    // going away) nor re-post itself.
    core_->detached = true;
    // Release the payloads now rather than when the last pending drain task lets go of core_.
    std::vector<T> leftovers;
    while (core_->ring.drain(leftovers, core_->max_batch) > 0) leftovers.clear();
  }

  const std::string& name() const { return core_->name; }

  // Any thread. Queues `value` and returns OK; or returns EBUSY if the queue is full, or
  // ESHUTDOWN after shutdown(), leaving `value` untouched so the caller can fail it.
  Status publish(T&& value) { return publish(std::move(value), core_->inline_drain); }
  // As publish(), choosing for this item whether the drain may run inline (see Scheduling):
  // for a queue whose handler may block on some items but not on this one.
  Status publish(T&& value, bool may_drain_inline) {
    Core& core = *core_;
    // Entering the gate makes shutdown() wait for us; see shutdown().
    if ((core.gate.fetch_add(1, std::memory_order_acquire) & kClosed) != 0) {
      core.gate.fetch_sub(1, std::memory_order_release);
      return core.shutdown_status;
    }
    Status status;
    if (core.ring.try_publish(std::move(value))) {
      // Still inside the gate: once shutdown() has returned, no publisher touches the Executor.
      schedule_drain(core_, may_drain_inline);
    } else {
      // A full ring always has a drain scheduled (each accepted item scheduled one after it
      // was published), so nothing needs waking here.
      status = core.busy_status;
    }
    core.gate.fetch_sub(1, std::memory_order_release);
    return status;
  }

  // Any thread, idempotent. After it returns, publish() fails with ESHUTDOWN and no publish()
  // call is still adding items. Drain tasks keep running until the owner stops the Executor.
  void shutdown() {
    Core& core = *core_;
    core.gate.fetch_or(kClosed, std::memory_order_acq_rel);
    // Publishers inside the gate never block, so this wait is short. Acquire pairs with their
    // release decrement: their items are visible to whoever drains after we return.
    while ((core.gate.load(std::memory_order_acquire) & ~kClosed) != 0) {
      std::this_thread::yield();
    }
  }

  bool is_shutdown() const { return (core_->gate.load(std::memory_order_acquire) & kClosed) != 0; }

  // Hands every item still queued to `handler`, in batches of at most max_batch, in publication
  // order, and returns how many there were. Meant for after the owner stopped the Executor, when
  // no drain task will take them; if the Executor still runs, drain tasks and this call split the
  // items between the two handlers, each item going to exactly one.
  // REQUIRES: shutdown() has returned.
  size_t drain_for_shutdown(const Handler& handler) {
    Core& core = *core_;
    PONTOON_CHECK_MSG(is_shutdown(), "drain_for_shutdown() requires shutdown() first");
    PONTOON_CHECK(handler != nullptr);
    ConsumerLock consumer(core);
    std::vector<T> batch;
    size_t total = 0;
    while (const size_t n = core.ring.drain(batch, core.max_batch)) {
      total += n;
      handler(batch);
      batch.clear();
    }
    return total;
  }

  // Any thread. Items accepted and not yet taken by a drain; exact only when nothing moves.
  size_t size_approx() const { return core_->ring.size_approx(); }

 private:
  // gate: bit 63 says closed, the bits below count publishers inside publish().
  static constexpr uint64_t kClosed = uint64_t{1} << 63;

  struct Core {
    Core(std::string queue_name, size_t capacity, size_t batch_limit,
         std::shared_ptr<Executor> lane, Handler batch_handler, bool drain_inline)
        : name(std::move(queue_name)),
          inline_drain(drain_inline),
          max_batch(batch_limit),
          executor(std::move(lane)),
          handler(std::move(batch_handler)),
          busy_status(Status::Busy(name + " queue is full")),
          shutdown_status(Status::Shutdown(name + " queue is shut down")),
          ring(capacity) {
      PONTOON_CHECK_MSG(max_batch > 0, "max_batch must be positive");
      PONTOON_CHECK(executor != nullptr);
      PONTOON_CHECK(handler != nullptr);
    }

    const std::string name;
    // Whether publish() without a choice may drain inline.
    const bool inline_drain;
    const size_t max_batch;
    const std::shared_ptr<Executor> executor;
    const Handler handler;
    // Built once: a full queue is a hot path under overload.
    const Status busy_status;
    const Status shutdown_status;

    // The consumer is wakened by posting a drain task, so producers need no wait strategy.
    MpscRingBuffer<T, NoWaitStrategy> ring;
    std::atomic<uint64_t> gate{0};
    // True while a drain task is posted or running. Only ever changed with exchange(): the
    // no-lost-wakeup argument in schedule_drain() relies on every write being a read-modify-write.
    std::atomic<bool> drain_scheduled{false};

    // Held by whoever consumes the ring: a drain task (across its handler call),
    // drain_for_shutdown(), the destructor.
    std::mutex consumer_mu;
    // The thread holding consumer_mu, so that the handler may call drain_for_shutdown() or
    // destroy the queue without deadlocking on it. Only a thread can store its own id here, so
    // a thread that reads its own id knows it holds the lock.
    std::atomic<std::thread::id> consumer_thread{};
    std::vector<T> batch;   // Guarded by consumer_mu; a drain task's batch.
    bool detached = false;  // Guarded by consumer_mu. Set by the destructor.
  };

  // Takes consumer_mu unless this thread already holds it (a handler calling back into us).
  class ConsumerLock {
   public:
    explicit ConsumerLock(Core& core) : core_(core) {
      const std::thread::id self = std::this_thread::get_id();
      if (core_.consumer_thread.load(std::memory_order_relaxed) == self) return;
      lock_ = std::unique_lock<std::mutex>(core_.consumer_mu);
      core_.consumer_thread.store(self, std::memory_order_relaxed);
    }
    ~ConsumerLock() {
      if (!lock_.owns_lock()) return;
      core_.consumer_thread.store(std::thread::id(), std::memory_order_relaxed);
    }
    ConsumerLock(const ConsumerLock&) = delete;
    ConsumerLock& operator=(const ConsumerLock&) = delete;

   private:
    Core& core_;
    std::unique_lock<std::mutex> lock_;
  };

  // Why no wakeup is lost: a producer publishes its slot (release) and then exchanges the flag to
  // true; a drain task that is about to stop exchanges the flag to false and then checks for data.
  // Exchanges on one atomic are totally ordered. If the producer's exchange comes after the drain
  // task's, the producer reads false and posts a new drain task. If it comes before, the drain
  // task's exchange reads a value written by the producer's exchange or by a later exchange (all
  // writes are read-modify-writes, so they continue the producer's release sequence); acquire then
  // makes the producer's published slot visible to the drain task's re-check, which schedules a
  // drain itself.
  static void schedule_drain(const std::shared_ptr<Core>& core, bool may_run_inline = false) {
    if (core->drain_scheduled.exchange(true, std::memory_order_acq_rel)) return;
    if (may_run_inline) {
      // Inline, the drain takes one item: the one just published (an item published earlier
      // would still hold the token; one published meanwhile comes after it in the ring), so the
      // caller knows exactly what may run on its thread. The rest goes to a posted drain.
      core->executor->dispatch([core] { run_drain(core, /*max_items=*/1); });
    } else {
      core->executor->post([core] { run_drain(core); });
    }
  }

  // Runs on the Executor. The caller owns the "scheduled" token (drain_scheduled is true).
  static void run_drain(const std::shared_ptr<Core>& core, size_t max_items = SIZE_MAX) {
    Core& c = *core;
    ConsumerLock consumer(c);
    if (c.detached) return;
    if (c.ring.drain(c.batch, std::min(c.max_batch, max_items)) > 0) {
      c.handler(c.batch);
      c.batch.clear();
    }
    if (c.detached) return;  // The handler destroyed the queue.
    // Give the token back, then look again. This one path covers both "more was ready all along"
    // and "more was published while we were clearing the flag"; either way, at most one new
    // drain task is posted (by us or by a publisher), behind other work on the lane.
    c.drain_scheduled.exchange(false, std::memory_order_acq_rel);
    if (c.ring.has_data()) schedule_drain(core);
  }

  std::shared_ptr<Core> core_;
};

}  // namespace raft
