#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "raft/executor_pool.h"

using namespace raft;
using namespace std::chrono_literals;

namespace {

// Generous: these bound a hang, they do not pace the test (TSan builds run ~10x slower).
constexpr auto kDeadline = std::chrono::seconds(120);

// A one-shot gate a task can block on until the test opens it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

template <typename T>
bool ready(std::future<T>& future) {
  return future.wait_for(kDeadline) == std::future_status::ready;
}

// Waits until `lane` drops posted tasks, which it does from the moment shutdown() has begun.
bool wait_until_refusing_tasks(Executor& lane) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    auto probe = std::make_shared<int>(0);
    lane.post([probe] {});
    if (probe.use_count() == 1) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace

TEST_CASE("tasks on one strand never overlap", "[executor_pool]") {
  ExecutorPool pool(4);
  std::shared_ptr<Executor> lane = pool.make_executor("serial");
  constexpr int kPosters = 4;
  constexpr int kTasksPerPoster = 5'000;

  std::atomic<int> active{0};
  std::atomic<bool> overlapped{false};
  int unguarded_count = 0;  // Deliberately unsynchronised: TSan flags it if tasks overlap.
  std::atomic<int> done{0};
  std::promise<void> all_done;

  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&] {
      for (int i = 0; i < kTasksPerPoster; ++i) {
        lane->post([&] {
          if (active.fetch_add(1) != 0) overlapped = true;
          ++unguarded_count;
          std::this_thread::yield();  // Widen the window in which an overlap would show.
          active.fetch_sub(1);
          if (done.fetch_add(1) + 1 == kPosters * kTasksPerPoster) all_done.set_value();
        });
      }
    });
  }
  for (std::thread& t : posters) t.join();
  auto finished = all_done.get_future();
  REQUIRE(ready(finished));
  CHECK_FALSE(overlapped);
  CHECK(unguarded_count == kPosters * kTasksPerPoster);
  lane->shutdown();
}

TEST_CASE("a strand runs tasks in the order they were posted", "[executor_pool]") {
  ExecutorPool pool(4);
  std::shared_ptr<Executor> lane = pool.make_executor("fifo");
  constexpr int kPosters = 3;
  constexpr int kTasksPerPoster = 3'000;
  std::vector<std::pair<int, int>> ran;  // Touched only by tasks of `lane`.

  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&, p] {
      for (int i = 0; i < kTasksPerPoster; ++i)
        lane->post([&ran, p, i] { ran.emplace_back(p, i); });
    });
  }
  for (std::thread& t : posters) t.join();
  std::promise<std::vector<std::pair<int, int>>> result;
  lane->post([&] { result.set_value(ran); });
  auto future = result.get_future();
  REQUIRE(ready(future));
  const std::vector<std::pair<int, int>> order = future.get();

  REQUIRE(order.size() == kPosters * kTasksPerPoster);
  std::vector<int> next(kPosters, 0);
  bool in_order = true;
  for (const auto& [p, i] : order) in_order = in_order && (i == next[p]++);
  CHECK(in_order);
  lane->shutdown();
}

TEST_CASE("post never runs the task inline", "[executor_pool]") {
  ExecutorPool pool(2);
  std::shared_ptr<Executor> lane = pool.make_executor("lane");

  SECTION("from a foreign thread") {
    std::promise<std::thread::id> ran_on;
    lane->post([&] { ran_on.set_value(std::this_thread::get_id()); });
    auto future = ran_on.get_future();
    REQUIRE(ready(future));
    CHECK(future.get() != std::this_thread::get_id());
  }

  SECTION("from a task of the same strand") {
    bool outer_returned = false;  // Touched only by tasks of `lane`.
    std::promise<bool> inner_saw_outer_return;
    lane->post([&] {
      lane->post([&] { inner_saw_outer_return.set_value(outer_returned); });
      outer_returned = true;  // The last thing this task does.
    });
    auto future = inner_saw_outer_return.get_future();
    REQUIRE(ready(future));
    CHECK(future.get());
  }
  lane->shutdown();
}

TEST_CASE("post_after runs a task no earlier than its delay", "[executor_pool][timer]") {
  ExecutorPool pool(2);
  std::shared_ptr<Executor> lane = pool.make_executor("timers");
  const Clock& clock = pool.clock();

  for (Duration delay : {Duration(1ms), Duration(20ms), Duration(50ms)}) {
    const TimePoint posted_at = clock.now();
    std::promise<TimePoint> ran_at;
    lane->post_after(delay, [&] { ran_at.set_value(clock.now()); });
    auto future = ran_at.get_future();
    REQUIRE(ready(future));
    CHECK(future.get() - posted_at >= delay);
  }
  lane->shutdown();
}

TEST_CASE("timers fire in deadline order, behind tasks already posted", "[executor_pool][timer]") {
  ExecutorPool pool(2);
  std::shared_ptr<Executor> lane = pool.make_executor("timers");
  std::vector<std::string> ran;  // Touched only by tasks of `lane`.
  std::promise<std::vector<std::string>> result;

  lane->post_after(60ms, [&] {
    ran.push_back("late");
    result.set_value(ran);
  });
  lane->post_after(20ms, [&] { ran.push_back("early"); });
  lane->post([&] { ran.push_back("now"); });
  auto future = result.get_future();
  REQUIRE(ready(future));
  CHECK(future.get() == std::vector<std::string>{"now", "early", "late"});
  lane->shutdown();
}

TEST_CASE("shutdown waits for the running task and drops pending tasks and timers",
          "[executor_pool][shutdown]") {
  ExecutorPool pool(2);
  std::shared_ptr<Executor> lane = pool.make_executor("lane");
  Gate release;
  std::promise<void> started;
  std::atomic<bool> task_finished{false};
  lane->post([&] {
    started.set_value();
    release.wait();
    task_finished = true;
  });
  auto started_future = started.get_future();
  REQUIRE(ready(started_future));

  // Queued behind the blocked task: they must be destroyed, never run.
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran_after_shutdown{0};
  for (int i = 0; i < 10; ++i) lane->post([token, &ran_after_shutdown] { ++ran_after_shutdown; });
  lane->post_after(1ms, [token, &ran_after_shutdown] { ++ran_after_shutdown; });
  lane->post_after(1h, [token, &ran_after_shutdown] { ++ran_after_shutdown; });

  std::promise<bool> finished_when_shutdown_returned;
  std::thread stopper([&] {
    lane->shutdown();
    finished_when_shutdown_returned.set_value(task_finished.load());
  });
  REQUIRE(wait_until_refusing_tasks(*lane));  // shutdown() has begun.
  auto returned = finished_when_shutdown_returned.get_future();
  // The running task is still blocked, so shutdown() must still be waiting for it.
  CHECK(returned.wait_for(50ms) == std::future_status::timeout);

  release.open();
  REQUIRE(ready(returned));
  CHECK(returned.get());
  stopper.join();
  CHECK(ran_after_shutdown == 0);
  CHECK(token.use_count() == 1);  // Pending tasks and timers were destroyed by shutdown().

  // After shutdown, posts and timers are dropped at once.
  lane->post([token, &ran_after_shutdown] { ++ran_after_shutdown; });
  lane->post_after(1ms, [token, &ran_after_shutdown] { ++ran_after_shutdown; });
  CHECK(token.use_count() == 1);
  lane->shutdown();  // Idempotent.
}

TEST_CASE("no task of a strand runs after its shutdown returns", "[executor_pool][shutdown]") {
  std::atomic<bool> shutdown_returned{false};
  std::atomic<bool> ran_late{false};
  std::atomic<int> ran{0};
  {
    ExecutorPool pool(4);
    std::shared_ptr<Executor> lane = pool.make_executor("lane");
    std::atomic<bool> stop_posting{false};
    std::vector<std::thread> posters;
    for (int p = 0; p < 3; ++p) {
      posters.emplace_back([&] {
        while (!stop_posting) {
          lane->post([&] {
            if (shutdown_returned) ran_late = true;
            ++ran;
          });
          lane->post_after(1ms, [&] {
            if (shutdown_returned) ran_late = true;
          });
          std::this_thread::yield();
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (ran < 1'000 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    REQUIRE(ran >= 1'000);
    lane->shutdown();
    shutdown_returned = true;
    stop_posting = true;
    for (std::thread& t : posters) t.join();
    // Destroying the pool joins its threads: anything that could still run has run.
  }
  CHECK_FALSE(ran_late);
}

TEST_CASE("a strand can be shut down from a task of another strand", "[executor_pool][shutdown]") {
  SECTION("while the other strand is running a task") {
    ExecutorPool pool(2);
    std::shared_ptr<Executor> a = pool.make_executor("a");
    std::shared_ptr<Executor> b = pool.make_executor("b");
    Gate release_b;
    std::promise<void> b_started;
    std::atomic<bool> b_finished{false};
    b->post([&] {
      b_started.set_value();
      release_b.wait();
      b_finished = true;
    });
    auto b_started_future = b_started.get_future();
    REQUIRE(ready(b_started_future));

    std::promise<bool> b_finished_when_shutdown_returned;
    a->post([&] {
      b->shutdown();
      b_finished_when_shutdown_returned.set_value(b_finished.load());
    });
    REQUIRE(wait_until_refusing_tasks(*b));
    release_b.open();
    auto future = b_finished_when_shutdown_returned.get_future();
    REQUIRE(ready(future));
    CHECK(future.get());
    a->shutdown();
  }

  SECTION("on a pool with a single thread") {
    ExecutorPool pool(1);
    std::shared_ptr<Executor> a = pool.make_executor("a");
    std::shared_ptr<Executor> b = pool.make_executor("b");
    Gate b_posted;
    std::promise<void> shut_b;
    // a holds the only thread until b has work queued, then shuts b down: b is not running,
    // so shutdown() must return at once instead of waiting for a thread that a occupies.
    a->post([&] {
      b_posted.wait();
      b->shutdown();
      shut_b.set_value();
    });
    std::atomic<int> b_ran{0};
    for (int i = 0; i < 5; ++i) b->post([&] { ++b_ran; });
    b_posted.open();
    auto future = shut_b.get_future();
    REQUIRE(ready(future));
    // A task posted to a after b's tasks were dropped runs after them in any case.
    std::promise<int> b_ran_seen;
    a->post([&] { b_ran_seen.set_value(b_ran.load()); });
    auto seen = b_ran_seen.get_future();
    REQUIRE(ready(seen));
    CHECK(seen.get() == 0);
    a->shutdown();
  }
}

TEST_CASE("many strands share a few threads and each runs all its tasks", "[executor_pool]") {
  ExecutorPool pool(2);
  constexpr int kStrands = 200;
  constexpr int kTasksPerStrand = 100;
  std::vector<std::shared_ptr<Executor>> lanes;
  std::vector<int> counts(kStrands, 0);  // counts[i] is touched only by tasks of lanes[i].
  std::atomic<int> done{0};
  std::promise<void> all_done;
  for (int s = 0; s < kStrands; ++s) lanes.push_back(pool.make_executor("lane"));
  for (int i = 0; i < kTasksPerStrand; ++i) {
    for (int s = 0; s < kStrands; ++s) {
      lanes[s]->post([&, s] {
        ++counts[s];
        if (done.fetch_add(1) + 1 == kStrands * kTasksPerStrand) all_done.set_value();
      });
    }
  }
  auto future = all_done.get_future();
  REQUIRE(ready(future));
  CHECK(std::all_of(counts.begin(), counts.end(), [](int c) { return c == kTasksPerStrand; }));
  for (auto& lane : lanes) lane->shutdown();
}

TEST_CASE("a strand outlives its pool and drops what is posted to it", "[executor_pool]") {
  auto token = std::make_shared<int>(0);
  std::shared_ptr<Executor> lane;
  {
    ExecutorPool pool(1);
    lane = pool.make_executor("orphan");
    lane->post_after(1h, [token] {});
    CHECK(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);  // The pool dropped the pending timer.
  lane->post([token] {});
  lane->post_after(1ms, [token] {});
  CHECK(token.use_count() == 1);
  lane->shutdown();
}

TEST_CASE("dropping the last reference to a strand drops its pending timers", "[executor_pool]") {
  ExecutorPool pool(1);
  auto token = std::make_shared<int>(0);
  std::shared_ptr<Executor> lane = pool.make_executor("dropped");
  lane->post_after(1h, [token] {});
  CHECK(token.use_count() == 2);
  lane.reset();
  CHECK(token.use_count() == 1);
}

TEST_CASE("a pool of zero threads gets one per core", "[executor_pool]") {
  ExecutorPool pool(0);
  CHECK(pool.num_threads() == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("the default pool runs tasks", "[executor_pool]") {
  ExecutorPool& pool = ExecutorPool::default_pool();
  CHECK(&pool == &ExecutorPool::default_pool());
  CHECK(pool.num_threads() == std::max(1u, std::thread::hardware_concurrency()));
  std::shared_ptr<Executor> lane = pool.make_executor("default");
  std::promise<void> ran;
  lane->post([&] { ran.set_value(); });
  auto future = ran.get_future();
  REQUIRE(ready(future));
  lane->shutdown();
}

TEST_CASE("IO strands blocked in the IO threads leave the workers free", "[executor_pool][io]") {
  ExecutorPool pool(1, 2);
  REQUIRE(pool.num_threads() == 1);
  REQUIRE(pool.num_io_threads() == 2);
  // Both IO threads block, as two disk lanes waiting for fsync would.
  Gate disk;
  std::vector<std::shared_ptr<Executor>> disk_lanes{pool.make_io_executor("disk:a"),
                                                    pool.make_io_executor("disk:b")};
  std::atomic<int> blocked{0};
  std::promise<void> both_done;
  std::atomic<int> done{0};
  std::atomic<bool> gate_timed_out{false};  // Catch2 assertions are for the test's thread only.
  for (auto& lane : disk_lanes) {
    lane->post([&] {
      ++blocked;
      if (!disk.wait()) gate_timed_out = true;
      if (++done == 2) both_done.set_value();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (blocked.load() < 2) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::yield();
  }
  // The only CPU worker still runs another lane's task, and its timer still fires.
  auto node_lane = pool.make_executor("node:a");
  std::promise<void> ran;
  std::promise<void> timer_fired;
  node_lane->post([&] { ran.set_value(); });
  node_lane->post_after(1ms, [&] { timer_fired.set_value(); });
  auto ran_future = ran.get_future();
  auto timer_future = timer_fired.get_future();
  CHECK(ready(ran_future));
  CHECK(ready(timer_future));
  disk.open();
  auto both = both_done.get_future();
  CHECK(ready(both));
  CHECK_FALSE(gate_timed_out.load());
}

TEST_CASE("without IO threads, IO strands run on the workers", "[executor_pool][io]") {
  ExecutorPool pool(1, 0);
  CHECK(pool.num_io_threads() == 0);
  auto lane = pool.make_io_executor("disk:a");
  std::promise<std::thread::id> where;
  lane->post([&] { where.set_value(std::this_thread::get_id()); });
  auto future = where.get_future();
  REQUIRE(ready(future));
  std::promise<std::thread::id> worker;
  pool.make_executor("node:a")->post([&] { worker.set_value(std::this_thread::get_id()); });
  auto worker_future = worker.get_future();
  REQUIRE(ready(worker_future));
  CHECK(future.get() == worker_future.get());  // One worker: the same thread.
}

TEST_CASE("dispatch runs inline only inside an InlineDispatchScope on an idle strand",
          "[executor_pool][dispatch]") {
  ExecutorPool pool(2);
  std::shared_ptr<Executor> lane = pool.make_executor("lane");
  const std::thread::id caller = std::this_thread::get_id();

  SECTION("outside a scope it posts") {
    CHECK_FALSE(InlineDispatchScope::active());
    std::promise<std::thread::id> ran_on;
    lane->dispatch([&] { ran_on.set_value(std::this_thread::get_id()); });
    auto future = ran_on.get_future();
    REQUIRE(ready(future));
    CHECK(future.get() != caller);
  }

  SECTION("inside a scope, an idle strand runs the task before dispatch returns") {
    std::thread::id ran_on;
    bool ran = false;
    {
      InlineDispatchScope scope;
      CHECK(InlineDispatchScope::active());
      lane->dispatch([&] {
        ran_on = std::this_thread::get_id();
        ran = true;
      });
    }
    CHECK_FALSE(InlineDispatchScope::active());
    CHECK(ran);
    CHECK(ran_on == caller);
  }

  SECTION("a task the inline task posts runs after it, on a worker") {
    std::promise<std::thread::id> inner_ran_on;
    std::atomic<bool> outer_done{false};
    std::atomic<bool> inner_saw_outer_done{false};
    {
      InlineDispatchScope scope;
      lane->dispatch([&] {
        lane->post([&] {
          inner_saw_outer_done = outer_done.load();
          inner_ran_on.set_value(std::this_thread::get_id());
        });
        outer_done = true;
      });
    }
    auto future = inner_ran_on.get_future();
    REQUIRE(ready(future));
    CHECK(future.get() != caller);
    CHECK(inner_saw_outer_done);
  }

  SECTION("a busy strand queues the task behind what it runs, in order") {
    Gate gate;
    std::mutex order_mu;
    std::vector<int> order;
    std::promise<void> first_started;
    lane->post([&] {
      first_started.set_value();
      gate.wait();
      std::lock_guard<std::mutex> lock(order_mu);
      order.push_back(1);
    });
    auto started = first_started.get_future();
    REQUIRE(ready(started));
    std::promise<std::thread::id> second_ran_on;
    {
      InlineDispatchScope scope;
      lane->dispatch([&] {
        {
          std::lock_guard<std::mutex> lock(order_mu);
          order.push_back(2);
        }
        second_ran_on.set_value(std::this_thread::get_id());
      });
    }
    gate.open();  // dispatch returned without waiting for the running task.
    auto future = second_ran_on.get_future();
    REQUIRE(ready(future));
    CHECK(future.get() != caller);
    std::lock_guard<std::mutex> lock(order_mu);
    CHECK(order == std::vector<int>{1, 2});
  }
  lane->shutdown();
}
