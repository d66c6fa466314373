// MpscRingBuffer: a bounded, pre-allocated, disruptor-like multi-producer single-consumer ring.
//
// Node, LogManager, FSMCaller and ReadOnlyService each take their work through one of these
// (usually wrapped in a RingQueue, raft/ring_queue.h, which runs the consumer on an Executor).
//
// How it works. Every item gets a sequence number 0, 1, 2, ... and lives in slot
// `sequence & (capacity - 1)`. A producer
//   1. reads the consumer's cursor and returns false at once if the ring is full (it never
//      blocks and never grows the ring: a full ring is backpressure, reported upward as EBUSY);
//   2. claims the next sequence with a CAS on the claim cursor;
//   3. moves its item into the slot;
//   4. publishes that one slot by storing its sequence into the slot's `published` marker.
// The consumer takes the slots from its cursor onward while each one's marker says it is
// published, stops at the first slot that is claimed but not yet published (so items always come
// out in sequence order, and a slow producer holds back the items claimed after it), moves each
// item out, resets the slot to T{} so that the ring does not keep payloads alive after they were
// consumed, and then advances its cursor, which frees the slots for producers.
//
// Drain API: drain() appends the batch to a caller-provided std::vector<T>, in sequence order.
// One call hands the consumer everything available at once, which is what LogManager needs for
// one write batch and one fsync per drained batch; the caller reuses its vector, so a steady
// state allocates nothing.
//
// Ordering guarantees: items are consumed in sequence order, which is the order in which their
// producers won the claim CAS. Items from one producer thread therefore come out in the order
// that thread published them. Every published item is consumed exactly once.
//
// Thread-safety: try_publish() and size_approx() may be called from any number of threads at
// once. drain(), has_data() and wait_for_data() are the consumer's: at any time at most one
// thread may be inside any of them (the consumer may move between threads if the hand-over
// synchronises, e.g. through an Executor).
//
// Ownership: the ring owns its slots and the items in them until they are drained; items still
// in the ring when it is destroyed are destroyed with it.
//
// Memory ordering (why it is correct):
//  - Slot reuse: the consumer resets the slots it drained and then stores its cursor with
//    release; a producer loads that cursor with acquire before it claims. A producer may only
//    claim sequence s if s < cursor + capacity, i.e. the slot's previous occupant s - capacity
//    was below the cursor it read, so the consumer's reset of that slot happens-before the
//    producer's write. The cursor only grows, so a stale cursor is merely conservative (the ring
//    looks fuller than it is); the CAS makes sure the sequence itself is not stale.
//  - Publication: a producer writes the item and then stores the slot's marker with (at least)
//    release; the consumer loads the marker with acquire and only touches the item if the marker
//    equals the sequence it expects, so it sees the whole item. Markers of consecutive uses of
//    one slot differ by capacity, so a stale marker never matches.
//  - Waking a waiting consumer: see BlockingWaitStrategy.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/clock.h"

namespace raft {

namespace detail {

// Cursors written by different threads live on different cache lines, so producers claiming
// and the consumer advancing do not invalidate each other's lines needlessly.
inline constexpr size_t kCacheLineBytes = 64;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace detail

// Wait strategies decide how a consumer on a dedicated thread waits for the next item
// (MpscRingBuffer::wait_for_data) and what a producer must do after publishing so that a waiting
// consumer wakes up. Each provides:
//   static constexpr std::memory_order kPublishOrder;  // order of the producer's marker store
//   void signal();                                      // producer, after publishing
//   template <class Ready> bool wait(const Ready& ready, Duration timeout);  // consumer
// wait() returns ready() as it stands when it stops waiting. Timeouts use the steady clock: these
// strategies exist for production consumer threads; simulated runs drive consumers through an
// Executor (RingQueue) and never wait.

// The consumer never waits on the ring; whoever publishes wakes it some other way (RingQueue posts
// a drain task to an Executor). Publishing costs nothing beyond the release store.
struct NoWaitStrategy {
  static constexpr std::memory_order kPublishOrder = std::memory_order_release;
  void signal() {}
  template <class Ready>
  bool wait(const Ready& ready, Duration /*timeout*/) {
    return ready();
  }
};

// Spins on the next slot with a CPU pause. Lowest latency, burns a core while idle: only for a
// consumer that owns a core. Producers pay nothing extra.
struct BusySpinWaitStrategy {
  static constexpr std::memory_order kPublishOrder = std::memory_order_release;
  void signal() {}
  template <class Ready>
  bool wait(const Ready& ready, Duration timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (uint32_t spins = 1;; ++spins) {
      if (ready()) return true;
      // Reading the clock costs about as much as dozens of pauses; do it now and then.
      if (spins % 256 == 0 && std::chrono::steady_clock::now() >= deadline) return ready();
      detail::cpu_relax();
    }
  }
};

// Spins briefly, then yields the CPU between checks. Low latency without starving other
// threads of a shared core; still never sleeps. Producers pay nothing extra.
struct YieldingWaitStrategy {
  static constexpr std::memory_order kPublishOrder = std::memory_order_release;
  static constexpr uint32_t kSpinsBeforeYield = 100;
  void signal() {}
  template <class Ready>
  bool wait(const Ready& ready, Duration timeout) {
    for (uint32_t i = 0; i < kSpinsBeforeYield; ++i) {
      if (ready()) return true;
      detail::cpu_relax();
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
      if (std::chrono::steady_clock::now() >= deadline) return ready();
      std::this_thread::yield();
    }
    return true;
  }
};

// Parks the consumer on a condition variable; producers signal it. Uses no CPU while idle.
// Producers take the mutex only when a consumer is actually parked (or about to park).
//
// Why no wakeup is lost: it is Dekker's pattern. The consumer increments waiters_ and then
// re-reads the slot marker; a producer stores the marker and then reads waiters_. All four are
// seq_cst, so in their single total order one of the two stores comes first and the other
// thread's load sees it: either the consumer sees the item and does not park, or the producer
// sees a waiter. In the second case the producer locks and unlocks mu_ before notifying; the
// consumer re-checks readiness under mu_ and releases mu_ only atomically with starting to wait,
// so the notify either finds it waiting or happens after its check saw the item. (seq_cst
// operations are used instead of fences because ThreadSanitizer does not model fences.)
class BlockingWaitStrategy {
 public:
  static constexpr std::memory_order kPublishOrder = std::memory_order_seq_cst;

  void signal() {
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }

  template <class Ready>
  bool wait(const Ready& ready, Duration timeout) {
    if (ready()) return true;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool result;
    {
      std::unique_lock<std::mutex> lock(mu_);
      result = cv_.wait_for(lock, timeout, ready);
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return result;
  }

 private:
  std::atomic<uint32_t> waiters_{0};  // consumers parked or about to park
  std::mutex mu_;                     // guards nothing; orders a signal against a park
  std::condition_variable cv_;
};

template <typename T, typename WaitStrategy = BlockingWaitStrategy>
class MpscRingBuffer {
  // A slot is reset by move-assigning T{}, and moves happen between claiming and publishing,
  // where an exception would leave a claimed slot that is never published and stall the ring.
  static_assert(std::is_nothrow_default_constructible_v<T>, "T{} must not throw");
  static_assert(std::is_nothrow_move_constructible_v<T>, "moving a T must not throw");
  static_assert(std::is_nothrow_move_assignable_v<T>, "move-assigning a T must not throw");

 public:
  // REQUIRES: capacity is a power of two, >= 1.
  explicit MpscRingBuffer(size_t capacity)
      : capacity_(capacity), mask_(capacity - 1), slots_(new Slot[capacity]) {
    PONTOON_CHECK_MSG(capacity > 0, "ring capacity must be positive");
    PONTOON_CHECK_MSG((capacity & (capacity - 1)) == 0, "ring capacity must be a power of two");
  }

  MpscRingBuffer(const MpscRingBuffer&) = delete;
  MpscRingBuffer& operator=(const MpscRingBuffer&) = delete;

  size_t capacity() const { return capacity_; }

  // Producer, any thread. Moves `value` into the ring and returns true, or returns false at once,
  // leaving `value` untouched, if the ring is full. Never blocks.
  bool try_publish(T&& value) {
    uint64_t sequence = claim_.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t consumed = consumed_.load(std::memory_order_acquire);
      // `sequence` may be older than `consumed` if other producers and the consumer moved on
      // since it was read; the CAS below then fails and reloads it.
      if (sequence >= consumed + capacity_) return false;
      if (claim_.compare_exchange_weak(sequence, sequence + 1, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    Slot& slot = slots_[sequence & mask_];
    PONTOON_DCHECK(slot.published.load(std::memory_order_relaxed) != sequence);
    slot.value = std::move(value);
    slot.published.store(sequence, WaitStrategy::kPublishOrder);
    wait_strategy_.signal();
    return true;
  }

  // Consumer only. Appends to `out`, in sequence order, every item that is published contiguously
  // from the consumer's cursor, at most `max_batch` of them, and returns how many it appended.
  // The drained slots are reset to T{} and handed back to producers. Never blocks.
  // REQUIRES: max_batch > 0.
  size_t drain(std::vector<T>& out, size_t max_batch) {
    PONTOON_CHECK(max_batch > 0);
    ConsumerScope scope(*this);
    const uint64_t begin = consumed_.load(std::memory_order_relaxed);  // only we write it
    // Producers cannot claim past begin + capacity until the cursor moves, so one pass never
    // sees more than capacity items.
    const uint64_t end = begin + std::min<uint64_t>(max_batch, capacity_);
    uint64_t sequence = begin;
    try {
      for (; sequence != end; ++sequence) {
        Slot& slot = slots_[sequence & mask_];
        if (slot.published.load(std::memory_order_acquire) != sequence) break;
        out.push_back(std::move(slot.value));  // may throw bad_alloc, leaving the slot intact
        slot.value = T{};
      }
    } catch (...) {
      release_slots(begin, sequence);
      throw;
    }
    release_slots(begin, sequence);
    return static_cast<size_t>(sequence - begin);
  }

  // Consumer only. True if the next item is published, i.e. drain() would return at least one.
  bool has_data() const { return next_published(std::memory_order_acquire); }

  // Consumer only, for a consumer on its own thread. Returns true as soon as the next item is
  // published, or false after `timeout` without one, waiting as WaitStrategy says.
  bool wait_for_data(Duration timeout) {
    // seq_cst: BlockingWaitStrategy's Dekker handshake needs it; elsewhere it costs the same as
    // acquire on common hardware.
    return wait_strategy_.wait([this] { return next_published(std::memory_order_seq_cst); },
                               timeout);
  }

  // Any thread. Items claimed and not yet drained; exact only when nothing moves.
  size_t size_approx() const {
    // Reading the consumer cursor first keeps the difference from going negative.
    const uint64_t consumed = consumed_.load(std::memory_order_acquire);
    const uint64_t claimed = claim_.load(std::memory_order_acquire);
    return static_cast<size_t>(claimed - consumed);
  }

 private:
  // No real sequence ever equals this, so a fresh slot never looks published.
  static constexpr uint64_t kNeverPublished = std::numeric_limits<uint64_t>::max();

  struct Slot {
    // Invariant: the sequence most recently published into this slot, or kNeverPublished.
    std::atomic<uint64_t> published{kNeverPublished};
    T value{};
  };

  // In builds with DCHECKs, catches two threads consuming at once (a broken ownership contract,
  // for RingQueue: a drain racing the queue's destruction or drain_for_shutdown).
  class ConsumerScope {
   public:
#ifdef NDEBUG
    explicit ConsumerScope(MpscRingBuffer&) {}
#else
    explicit ConsumerScope(MpscRingBuffer& ring) : ring_(ring) {
      PONTOON_CHECK_MSG(!ring_.consumer_active_.exchange(true, std::memory_order_acquire),
                        "two threads consume one MpscRingBuffer at once");
    }
    ~ConsumerScope() { ring_.consumer_active_.store(false, std::memory_order_release); }

   private:
    MpscRingBuffer& ring_;
#endif
  };

  bool next_published(std::memory_order order) const {
    const uint64_t next = consumed_.load(std::memory_order_relaxed);
    return slots_[next & mask_].published.load(order) == next;
  }

  void release_slots(uint64_t begin, uint64_t end) {
    if (end == begin) return;
    // Release: the resets above must be visible to a producer that claims these slots.
    consumed_.store(end, std::memory_order_release);
  }

  const size_t capacity_;
  const uint64_t mask_;
  const std::unique_ptr<Slot[]> slots_;
  WaitStrategy wait_strategy_;

  // Invariant: consumed_ <= claim_ <= consumed_ + capacity_; both only grow.
  // Next sequence to claim; producers CAS it.
  alignas(detail::kCacheLineBytes) std::atomic<uint64_t> claim_{0};
  // Next sequence to consume; written only by the consumer, read by producers.
  alignas(detail::kCacheLineBytes) std::atomic<uint64_t> consumed_{0};
#ifndef NDEBUG
  std::atomic<bool> consumer_active_{false};
#endif
  // The alignas members make sizeof a multiple of a cache line, so nothing allocated after
  // this object shares consumed_'s line.
};

}  // namespace raft
