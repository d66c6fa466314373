#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "raft/executor_pool.h"
#include "raft/ring_buffer.h"
#include "raft/ring_queue.h"

using namespace raft;
using namespace std::chrono_literals;

namespace {

// Generous: these bound a hang, they do not pace the test (TSan builds run ~10x slower).
constexpr auto kDeadline = std::chrono::seconds(120);

// An Executor that runs tasks only when the test says so, on the test's thread, so that the
// scheduling decisions of RingQueue can be checked step by step.
class ManualExecutor final : public Executor {
 public:
  void post(Task task) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!shut_down_) tasks_.push_back(std::move(task));
  }
  void post_after(Duration /*delay*/, Task task) override { post(std::move(task)); }
  void shutdown() override {
    std::deque<Task> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    dropped.swap(tasks_);
  }

  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }
  bool run_one() {
    Task task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks_.empty()) return false;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
    return true;
  }
  void run_all() {
    while (run_one()) {
    }
  }

 private:
  std::mutex mu_;
  std::deque<Task> tasks_;
  bool shut_down_ = false;
};

// Moving one of these copies it: the user-declared destructor suppresses the implicit move, as
// in many hand-written task structs. Moving it out of a slot leaves the payload in the slot
// unless the ring resets the slot.
struct CopyOnMovePayload {
  std::shared_ptr<int> data;
  ~CopyOnMovePayload() {}
};

uint64_t make_item(uint64_t producer, uint64_t seq) { return (producer << 32) | seq; }

// Runs `producers` threads publishing `per_producer` items each into one ring whose consumer is
// this thread, and checks that every item arrives exactly once and in per-producer order.
template <typename WaitStrategy>
void check_every_item_consumed_once_in_producer_order(uint64_t producers, uint64_t per_producer) {
  MpscRingBuffer<uint64_t, WaitStrategy> ring(1024);
  std::atomic<bool> give_up{false};
  std::vector<std::thread> threads;
  for (uint64_t p = 0; p < producers; ++p) {
    threads.emplace_back([&ring, &give_up, p, per_producer] {
      for (uint64_t seq = 0; seq < per_producer; ++seq) {
        uint64_t item = make_item(p, seq);
        // A full ring is backpressure: retry, but never spin forever if the consumer died.
        while (!ring.try_publish(std::move(item))) {
          if (give_up.load(std::memory_order_relaxed)) return;
          std::this_thread::yield();
        }
      }
    });
  }

  const uint64_t total = producers * per_producer;
  std::vector<uint64_t> next_seq(producers, 0);
  uint64_t consumed = 0;
  uint64_t out_of_order = 0;
  std::vector<uint64_t> batch;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (consumed < total && std::chrono::steady_clock::now() < deadline) {
    if (!ring.wait_for_data(100ms)) continue;
    batch.clear();
    const size_t n = ring.drain(batch, 256);
    REQUIRE(n == batch.size());
    REQUIRE(n > 0);
    for (uint64_t item : batch) {
      const uint64_t producer = item >> 32;
      const uint64_t seq = item & 0xffffffffu;
      if (producer >= producers || seq != next_seq[producer]) {
        ++out_of_order;
      } else {
        ++next_seq[producer];
      }
      ++consumed;
    }
  }
  give_up = true;
  for (std::thread& t : threads) t.join();

  REQUIRE(consumed == total);
  CHECK(out_of_order == 0);
  for (uint64_t p = 0; p < producers; ++p) CHECK(next_seq[p] == per_producer);
  CHECK_FALSE(ring.has_data());
  CHECK(ring.size_approx() == 0);
}

}  // namespace

TEST_CASE("a full ring rejects a publish at once and accepts again after a drain",
          "[ring_buffer]") {
  MpscRingBuffer<int> ring(4);
  CHECK(ring.capacity() == 4);
  for (int i = 0; i < 4; ++i) REQUIRE(ring.try_publish(int{i}));
  CHECK_FALSE(ring.try_publish(4));
  CHECK(ring.size_approx() == 4);

  std::vector<int> out;
  CHECK(ring.drain(out, 2) == 2);
  CHECK(out == std::vector<int>{0, 1});
  CHECK(ring.try_publish(4));
  CHECK(ring.try_publish(5));
  CHECK_FALSE(ring.try_publish(6));

  out.clear();
  CHECK(ring.drain(out, 100) == 4);
  CHECK(out == std::vector<int>{2, 3, 4, 5});
  CHECK(ring.size_approx() == 0);
  CHECK_FALSE(ring.has_data());
  CHECK(ring.drain(out, 1) == 0);
  CHECK(out.size() == 4);
}

TEST_CASE("a rejected item stays with the producer", "[ring_buffer]") {
  MpscRingBuffer<std::unique_ptr<int>> ring(1);
  REQUIRE(ring.try_publish(std::make_unique<int>(1)));
  auto second = std::make_unique<int>(2);
  CHECK_FALSE(ring.try_publish(std::move(second)));
  REQUIRE(second != nullptr);
  CHECK(*second == 2);
}

TEST_CASE("drain appends items in publication order, at most max_batch per call", "[ring_buffer]") {
  MpscRingBuffer<int> ring(8);
  std::vector<int> out;
  int next = 0;
  // Uneven rounds wrap the ring many times at every offset.
  for (int round = 0; round < 500; ++round) {
    const int burst = round % 8 + 1;
    for (int i = 0; i < burst; ++i) REQUIRE(ring.try_publish(next++));
    const size_t max_batch = round % 3 + 1;
    while (true) {
      const size_t before = out.size();
      const size_t n = ring.drain(out, max_batch);
      CHECK(n <= max_batch);
      CHECK(out.size() == before + n);
      if (n == 0) break;
    }
  }
  REQUIRE(out.size() == static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) REQUIRE(out[i] == i);
}

TEST_CASE("drained slots no longer hold the payload", "[ring_buffer]") {
  auto data = std::make_shared<int>(7);

  SECTION("for a type whose move is a copy") {
    MpscRingBuffer<CopyOnMovePayload> ring(4);
    REQUIRE(ring.try_publish(CopyOnMovePayload{data}));
    CHECK(data.use_count() == 2);
    std::vector<CopyOnMovePayload> out;
    REQUIRE(ring.drain(out, 4) == 1);
    CHECK(data.use_count() == 2);  // Only `out` holds it.
    out.clear();
    CHECK(data.use_count() == 1);
  }

  SECTION("for a shared_ptr") {
    MpscRingBuffer<std::shared_ptr<int>> ring(4);
    REQUIRE(ring.try_publish(std::shared_ptr<int>(data)));
    std::vector<std::shared_ptr<int>> out;
    REQUIRE(ring.drain(out, 4) == 1);
    out.clear();
    CHECK(data.use_count() == 1);
  }
}

TEMPLATE_TEST_CASE("wait_for_data times out on an empty ring", "[ring_buffer]",
                   BlockingWaitStrategy, YieldingWaitStrategy, BusySpinWaitStrategy) {
  MpscRingBuffer<int, TestType> ring(4);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(ring.wait_for_data(20ms));
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  REQUIRE(ring.try_publish(1));
  CHECK(ring.wait_for_data(0ms));
}

TEMPLATE_TEST_CASE("a waiting consumer wakes for every item", "[ring_buffer]", BlockingWaitStrategy,
                   YieldingWaitStrategy, BusySpinWaitStrategy) {
  // Ping-pong between two threads through two rings: each side waits for the other's item,
  // so most waits really park (for the blocking strategy) before the item arrives. A lost
  // wakeup shows as a wait that runs into its timeout.
  constexpr int kRounds = 1000;
  constexpr auto kWaitTimeout = 20s;
  MpscRingBuffer<int, TestType> ping(4);
  MpscRingBuffer<int, TestType> pong(4);
  std::atomic<int> echo_failures{0};
  std::thread echo([&] {
    std::vector<int> got;
    for (int i = 0; i < kRounds; ++i) {
      if (!ping.wait_for_data(kWaitTimeout)) {
        ++echo_failures;
        return;
      }
      got.clear();
      ping.drain(got, 1);
      if (!pong.try_publish(std::move(got.front()))) ++echo_failures;
    }
  });
  std::vector<int> got;
  int received = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    REQUIRE(ping.try_publish(int{i}));
    if (!pong.wait_for_data(kWaitTimeout)) break;
    got.clear();
    pong.drain(got, 1);
    if (got.front() == i) ++received;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  echo.join();
  CHECK(echo_failures == 0);
  CHECK(received == kRounds);
  CHECK(elapsed < kWaitTimeout);
}

TEST_CASE("four producers: every item is consumed exactly once, in per-producer order",
          "[ring_buffer][stress]") {
  SECTION("blocking wait") {
    check_every_item_consumed_once_in_producer_order<BlockingWaitStrategy>(4, 100'000);
  }
  SECTION("yielding wait") {
    check_every_item_consumed_once_in_producer_order<YieldingWaitStrategy>(4, 20'000);
  }
  SECTION("busy-spin wait") {
    check_every_item_consumed_once_in_producer_order<BusySpinWaitStrategy>(4, 20'000);
  }
}

TEST_CASE("a ring queue schedules one drain task and re-posts it while items remain",
          "[ring_queue]") {
  auto lane = std::make_shared<ManualExecutor>();
  std::vector<int> handled;
  std::vector<size_t> batch_sizes;
  RingQueue<int> queue("apply", 4, 2, lane, [&](std::vector<int>& batch) {
    batch_sizes.push_back(batch.size());
    handled.insert(handled.end(), batch.begin(), batch.end());
  });
  CHECK(queue.name() == "apply");

  for (int i = 0; i < 4; ++i) REQUIRE(queue.publish(int{i}).ok());
  CHECK(lane->pending() == 1);  // Four publishes, one drain task.
  CHECK(queue.size_approx() == 4);

  REQUIRE(lane->run_one());
  CHECK(handled == std::vector<int>{0, 1});
  CHECK(lane->pending() == 1);  // More remained: the drain re-posted itself.

  REQUIRE(queue.publish(4).ok());
  CHECK(lane->pending() == 1);  // A drain is already scheduled.
  lane->run_all();
  CHECK(handled == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(batch_sizes == std::vector<size_t>{2, 2, 1});
  CHECK(lane->pending() == 0);

  REQUIRE(queue.publish(5).ok());  // The queue went idle; a new item schedules a new drain.
  CHECK(lane->pending() == 1);
  lane->run_all();
  CHECK(handled.back() == 5);
}

TEST_CASE("a full ring queue reports EBUSY naming the queue, and recovers after a drain",
          "[ring_queue]") {
  auto lane = std::make_shared<ManualExecutor>();
  std::vector<std::unique_ptr<int>> handled;
  RingQueue<std::unique_ptr<int>> queue("apply", 2, 8, lane,
                                        [&](std::vector<std::unique_ptr<int>>& batch) {
                                          for (auto& item : batch)
                                            handled.push_back(std::move(item));
                                        });
  REQUIRE(queue.publish(std::make_unique<int>(0)).ok());
  REQUIRE(queue.publish(std::make_unique<int>(1)).ok());
  auto third = std::make_unique<int>(2);
  const Status full = queue.publish(std::move(third));
  CHECK(full.is_busy());
  CHECK(full.to_string() == "EBUSY: apply queue is full");
  REQUIRE(third != nullptr);  // Left with the caller, who can fail it.

  lane->run_all();
  REQUIRE(handled.size() == 2);
  CHECK(queue.publish(std::move(third)).ok());
  lane->run_all();
  REQUIRE(handled.size() == 3);
  CHECK(*handled[2] == 2);
}

TEST_CASE("after shutdown a ring queue refuses items and hands leftovers to drain_for_shutdown",
          "[ring_queue]") {
  auto lane = std::make_shared<ManualExecutor>();
  std::vector<int> handled;
  RingQueue<int> queue("apply", 8, 2, lane, [&](std::vector<int>& batch) {
    handled.insert(handled.end(), batch.begin(), batch.end());
  });
  for (int i = 0; i < 5; ++i) REQUIRE(queue.publish(int{i}).ok());
  CHECK_FALSE(queue.is_shutdown());
  queue.shutdown();
  CHECK(queue.is_shutdown());
  queue.shutdown();  // Idempotent.

  const Status refused = queue.publish(5);
  CHECK(refused.is_shutdown());
  CHECK(refused.to_string() == "ESHUTDOWN: apply queue is shut down");

  lane->shutdown();  // The pending drain task is dropped, not run.
  lane->run_all();
  CHECK(handled.empty());

  std::vector<int> failed;
  std::vector<size_t> batch_sizes;
  const size_t n = queue.drain_for_shutdown([&](std::vector<int>& batch) {
    batch_sizes.push_back(batch.size());
    failed.insert(failed.end(), batch.begin(), batch.end());
  });
  CHECK(n == 5);
  CHECK(failed == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(batch_sizes == std::vector<size_t>{2, 2, 1});
  CHECK(queue.drain_for_shutdown([](std::vector<int>&) {}) == 0);
}

TEST_CASE("items accepted before shutdown still reach the handler while the executor runs",
          "[ring_queue]") {
  auto lane = std::make_shared<ManualExecutor>();
  std::vector<int> handled;
  RingQueue<int> queue("fsm", 8, 8, lane, [&](std::vector<int>& batch) {
    handled.insert(handled.end(), batch.begin(), batch.end());
  });
  for (int i = 0; i < 3; ++i) REQUIRE(queue.publish(int{i}).ok());
  queue.shutdown();
  lane->run_all();
  CHECK(handled == std::vector<int>{0, 1, 2});
  CHECK(queue.drain_for_shutdown([](std::vector<int>&) {}) == 0);
}

TEST_CASE("a ring queue destroyed on its executor leaves its pending drain task harmless",
          "[ring_queue]") {
  auto lane = std::make_shared<ManualExecutor>();
  auto data = std::make_shared<int>(1);
  int handler_calls = 0;
  {
    RingQueue<std::shared_ptr<int>> queue(
        "disk", 4, 4, lane, [&](std::vector<std::shared_ptr<int>>&) { ++handler_calls; });
    REQUIRE(queue.publish(std::shared_ptr<int>(data)).ok());
    REQUIRE(lane->pending() == 1);
  }
  CHECK(data.use_count() == 1);  // The destructor released the queued payload.
  lane->run_all();
  CHECK(handler_calls == 0);
}

TEST_CASE("a ring queue can be destroyed after its executor has been shut down", "[ring_queue]") {
  ExecutorPool pool(2);
  auto data = std::make_shared<int>(1);
  std::atomic<int> handled{0};
  {
    std::shared_ptr<Executor> lane = pool.make_executor("disk");
    RingQueue<std::shared_ptr<int>> queue("disk", 64, 4, lane,
                                          [&](std::vector<std::shared_ptr<int>>& batch) {
                                            handled += static_cast<int>(batch.size());
                                          });
    for (int i = 0; i < 32; ++i) REQUIRE(queue.publish(std::shared_ptr<int>(data)).ok());
    queue.shutdown();
    lane->shutdown();
    int failed = 0;
    queue.drain_for_shutdown([&](std::vector<std::shared_ptr<int>>& batch) {
      failed += static_cast<int>(batch.size());
    });
    CHECK(handled + failed == 32);  // Each item went to exactly one of the two handlers.
  }
  CHECK(data.use_count() == 1);
}

TEST_CASE("a ring queue never loses a wakeup", "[ring_queue][stress]") {
  ExecutorPool pool(2);
  constexpr int kProducers = 4;
  constexpr size_t kMaxBatch = 16;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> handled_per_producer(kProducers, 0);  // Guarded by mu.
  std::vector<uint64_t> next_seq(kProducers, 0);  // Touched only by the (serial) handler.
  std::atomic<int> in_handler{0};
  std::atomic<bool> overlapped{false};
  std::atomic<bool> oversized_batch{false};
  std::atomic<bool> out_of_order{false};

  RingQueue<uint64_t> queue("apply", 64, kMaxBatch, pool.make_executor("apply"),
                            [&](std::vector<uint64_t>& batch) {
                              if (in_handler.fetch_add(1) != 0) overlapped = true;
                              if (batch.size() > kMaxBatch || batch.empty()) oversized_batch = true;
                              std::vector<uint64_t> counts(kProducers, 0);
                              for (uint64_t item : batch) {
                                const uint64_t p = item >> 32;
                                if ((item & 0xffffffffu) != next_seq[p]++) out_of_order = true;
                                ++counts[p];
                              }
                              in_handler.fetch_sub(1);
                              {
                                std::lock_guard<std::mutex> lock(mu);
                                for (int p = 0; p < kProducers; ++p) {
                                  handled_per_producer[p] += counts[p];
                                }
                              }
                              cv.notify_all();
                            });

  // Publishes `count` items from producer `p`; with `closed_loop`, waits for each to be handled
  // before publishing the next, so the queue goes idle and must be woken again every time.
  auto produce = [&](int p, uint64_t count, bool closed_loop, std::atomic<int>& failures) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    for (uint64_t seq = 0; seq < count; ++seq) {
      uint64_t item = make_item(p, seq);
      Status status;
      while ((status = queue.publish(std::move(item))).is_busy()) {
        if (std::chrono::steady_clock::now() > deadline) {
          ++failures;
          return;
        }
        std::this_thread::yield();
      }
      if (!status.ok()) {
        ++failures;
        return;
      }
      if (!closed_loop) continue;
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_until(lock, deadline, [&] { return handled_per_producer[p] > seq; })) {
        ++failures;
        return;
      }
    }
  };

  uint64_t per_producer = 0;
  bool closed_loop = false;
  SECTION("producers that wait for each item to be handled") {
    per_producer = 2'000;
    closed_loop = true;
  }
  SECTION("producers that flood the queue") { per_producer = 50'000; }

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] { produce(p, per_producer, closed_loop, failures); });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(failures == 0);

  // Every accepted item must be handled without anyone publishing again to wake the queue.
  {
    std::unique_lock<std::mutex> lock(mu);
    const bool all_handled = cv.wait_for(lock, kDeadline, [&] {
      for (int p = 0; p < kProducers; ++p) {
        if (handled_per_producer[p] != per_producer) return false;
      }
      return true;
    });
    CHECK(all_handled);
  }
  CHECK_FALSE(overlapped);
  CHECK_FALSE(oversized_batch);
  CHECK_FALSE(out_of_order);
  CHECK(queue.size_approx() == 0);
}
