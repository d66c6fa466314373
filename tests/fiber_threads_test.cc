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

#include "raft/rpc/fiber_threads.h"

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
