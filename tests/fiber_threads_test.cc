// FiberThreads (raft/rpc/fiber_threads.h): fibers that wait suspend, so many of them share one
// thread; the same calls block an ordinary thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "raft/rpc/fiber_threads.h"
#include "raft/rpc/io_context_pool.h"

using raft::rpc::FiberThreads;
using raft::rpc::pause_for;
using raft::rpc::wait_for_callback;

namespace {

// Collects the resume callbacks of waiting fibers until a test releases them.
class Gate {
 public:
  void add(std::function<void()> resume) {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_.push_back(std::move(resume));
    cv_.notify_all();
  }

  // Waits (at most 10 s, so that a broken scheduler fails instead of hanging) until `count`
  // callbacks are held; returns how many are.
  size_t wait_for(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_.size() >= count; });
    return waiting_.size();
  }

  // Runs every held callback, from the calling thread.
  void release_all() {
    std::vector<std::function<void()>> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting.swap(waiting_);
    }
    for (auto& resume : waiting) resume();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> waiting_;
};

}  // namespace

TEST_CASE("fibers waiting for callbacks share one thread, and all resume", "[fibers]") {
  constexpr int kFibers = 200;
  constexpr int kRounds = 3;
  Gate gate;
  std::atomic<int> finished{0};
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < kFibers; ++i) {
    tasks.push_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        wait_for_callback([&](std::function<void()> resume) { gate.add(std::move(resume)); });
      }
      finished.fetch_add(1);
    });
  }
  FiberThreads fibers(1, std::move(tasks));
  for (int round = 0; round < kRounds; ++round) {
    // Every fiber waits at once on a single thread: a wait that blocked the thread would
    // leave all but one of them unstarted.
    REQUIRE(gate.wait_for(kFibers) == kFibers);
    gate.release_all();
  }
  fibers.join();
  CHECK(finished.load() == kFibers);
}

TEST_CASE("a callback may resume its fiber before the fiber has suspended", "[fibers]") {
  std::atomic<int> resumed{0};
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back([&] {
      for (int round = 0; round < 100; ++round) {
        wait_for_callback([](std::function<void()> resume) { resume(); });
        resumed.fetch_add(1);
      }
    });
  }
  FiberThreads fibers(2, std::move(tasks));
  fibers.join();
  CHECK(resumed.load() == 1000);
}

TEST_CASE("a pausing fiber lets the other fibers of its thread run", "[fibers]") {
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(std::move(what));
  };
  std::vector<std::function<void()>> tasks;
  tasks.push_back([&] {
    note("slow starts");
    pause_for(std::chrono::milliseconds(200));
    note("slow ends");
  });
  tasks.push_back([&] { note("quick runs"); });
  const auto started = std::chrono::steady_clock::now();
  FiberThreads fibers(1, std::move(tasks));
  fibers.join();
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(200));
  CHECK(order == std::vector<std::string>{"slow starts", "quick runs", "slow ends"});
}

TEST_CASE("off a fiber, the waits block the calling thread", "[fibers]") {
  Gate gate;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    wait_for_callback([&](std::function<void()> resume) { gate.add(std::move(resume)); });
    returned.store(true);
  });
  REQUIRE(gate.wait_for(1) == 1);
  CHECK_FALSE(returned.load());  // Held until released: the gate has its callback.
  gate.release_all();
  waiter.join();
  CHECK(returned.load());

  const auto started = std::chrono::steady_clock::now();
  pause_for(std::chrono::milliseconds(20));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(20));
}

TEST_CASE("hosted on an IO pool, fibers run on its threads and all resume", "[fibers]") {
  for (size_t host_threads : {size_t{1}, size_t{2}}) {
    CAPTURE(host_threads);
    raft::rpc::IoContextPool pool(host_threads, "fiber-host");
    pool.start();
    constexpr int kFibers = 100;
    constexpr int kRounds = 3;
    Gate gate;
    std::atomic<int> finished{0};
    std::atomic<int> off_host{0};
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < kFibers; ++i) {
      tasks.push_back([&] {
        for (int round = 0; round < kRounds; ++round) {
          if (!pool.in_pool_thread()) off_host.fetch_add(1);
          wait_for_callback([&](std::function<void()> resume) { gate.add(std::move(resume)); });
        }
        finished.fetch_add(1);
      });
    }
    FiberThreads fibers(&pool, 2, std::move(tasks), "hosted");
    for (int round = 0; round < kRounds; ++round) {
      // Every fiber waits at once: a wait that blocked a host thread would leave most unstarted.
      REQUIRE(gate.wait_for(kFibers) == kFibers);
      gate.release_all();  // From this thread, not the host's: each resume posts a round.
    }
    fibers.join();
    CHECK(finished.load() == kFibers);
    CHECK(off_host.load() == 0);
    pool.stop();
  }
}

TEST_CASE("hosted, a reply handled on the host resumes its fiber on that thread", "[fibers]") {
  // The reply's handler and the resumed fiber share a thread only if no other thread is
  // involved, which is the point of hosting. With two host threads the replies arrive on both
  // (as on connections placed on different threads), so the round must follow the reply. One
  // fiber per scheduler: a round that ran two fibers could only follow one of their replies.
  for (size_t host_threads : {size_t{1}, size_t{2}}) {
    CAPTURE(host_threads);
    raft::rpc::IoContextPool pool(host_threads, "fiber-host");
    pool.start();
    std::atomic<int> same_thread{0};
    std::atomic<int> replies{0};
    std::atomic<int> off_host{0};
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 4; ++i) {
      tasks.push_back([&, i] {
        for (int call = 0; call < 50; ++call) {
          std::thread::id replied_on;
          boost::asio::io_context& reply_context =
              pool.context(static_cast<size_t>(i + call) % host_threads);
          wait_for_callback([&](std::function<void()> resume) {
            // As an RPC reply arrives: a handler on the host calls the completion. It is sent
            // on from a handler queued behind the running round, so the fiber has suspended
            // and its round has ended when the reply comes (a reply racing ahead of the
            // suspend is taken by the round still running, on that round's thread).
            boost::asio::io_context* round_context = pool.current_context();
            if (round_context == nullptr) {
              off_host.fetch_add(1);  // Counted, not asserted: Catch2 is not thread-safe.
              round_context = &reply_context;
            }
            boost::asio::post(*round_context, [&, resume = std::move(resume)]() mutable {
              boost::asio::post(reply_context, [&, resume = std::move(resume)] {
                replied_on = std::this_thread::get_id();
                replies.fetch_add(1);
                resume();
              });
            });
          });
          if (replied_on == std::this_thread::get_id()) same_thread.fetch_add(1);
        }
      });
    }
    FiberThreads fibers(&pool, 4, std::move(tasks));
    fibers.join();
    CHECK(replies.load() == 200);
    CHECK(same_thread.load() == 200);
    CHECK(off_host.load() == 0);
    pool.stop();
  }
}

TEST_CASE("hosted, callbacks that resume early and pauses keep rounds serial", "[fibers]") {
  raft::rpc::IoContextPool pool(2, "fiber-host");
  pool.start();
  // Counts fibers of the one scheduler running at once: rounds of a scheduler must never
  // overlap, even with two host threads and resumes from both of them.
  std::atomic<int> running{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> resumed{0};
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back([&, i] {
      for (int round = 0; round < 100; ++round) {
        if (running.fetch_add(1) != 0) overlaps.fetch_add(1);
        running.fetch_sub(1);
        if (round % 3 == 0) {
          // Resumed inline, before the fiber suspended.
          wait_for_callback([](std::function<void()> resume) { resume(); });
        } else if (round % 3 == 1) {
          // Resumed by whichever host thread runs the handler, maybe while this round runs.
          wait_for_callback([&](std::function<void()> resume) {
            boost::asio::post(pool.next_context(), std::move(resume));
          });
        } else if (i == 0 && round % 30 == 2) {
          pause_for(std::chrono::milliseconds(1));
        }
        resumed.fetch_add(1);
      }
    });
  }
  const auto started = std::chrono::steady_clock::now();
  FiberThreads fibers(&pool, 1, std::move(tasks));
  fibers.join();
  CHECK(resumed.load() == 1000);
  CHECK(overlaps.load() == 0);
  // Fiber 0 paused 1 ms four times (rounds 2, 32, 62, 92).
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(4));
  pool.stop();
}
