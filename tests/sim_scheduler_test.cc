// SimScheduler (raft/sim_scheduler.h): virtual time charged to the running task, and the
// determinism that replays a run from its seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "raft/sim_scheduler.h"

using namespace raft;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  explicit Fixture(uint64_t seed = 1) : scheduler(std::make_shared<SimScheduler>(seed)) {}

  void run() {
    while (scheduler->run_one()) {
    }
  }
  // Virtual time since the fixture was made.
  Duration elapsed() const { return scheduler->now() - start; }
  // A task that records the virtual time it ran at under `name`.
  Executor::Task note(std::string name) {
    return [this, name] { seen.push_back({name, elapsed()}); };
  }

  struct Seen {
    std::string name;
    Duration at;
    bool operator==(const Seen&) const = default;
  };

  std::shared_ptr<SimScheduler> scheduler;
  TimePoint start = scheduler->now();
  std::shared_ptr<Executor> a = scheduler->make_executor("a");
  std::shared_ptr<Executor> b = scheduler->make_executor("b");
  std::vector<Seen> seen;
};

}  // namespace

TEST_CASE("sim scheduler: a post made after a charge reaches the other lane that much later",
          "[sim_scheduler]") {
  Fixture f;
  f.a->post([&f] {
    f.scheduler->delay_current_task(5ms);
    f.b->post(f.note("b"));
  });
  f.run();
  REQUIRE(f.seen.size() == 1);
  CHECK(f.seen[0] == Fixture::Seen{"b", 5ms});
}

TEST_CASE("sim scheduler: the charged lane takes its next task only when the charge is over",
          "[sim_scheduler]") {
  Fixture f;
  f.a->post([&f] { f.scheduler->delay_current_task(5ms); });
  f.a->post(f.note("a second"));
  f.b->post(f.note("b"));
  f.run();
  REQUIRE(f.seen.size() == 2);
  // The other lane is not held up by a's charge; whichever order the seed picks, b runs at +0.
  CHECK(std::find(f.seen.begin(), f.seen.end(), Fixture::Seen{"b", 0ms}) != f.seen.end());
  CHECK(std::find(f.seen.begin(), f.seen.end(), Fixture::Seen{"a second", 5ms}) != f.seen.end());
}

TEST_CASE("sim scheduler: posts made before the charge are not delayed", "[sim_scheduler]") {
  Fixture f;
  f.a->post([&f] {
    f.b->post(f.note("before"));
    f.scheduler->delay_current_task(5ms);
    f.b->post(f.note("after"));
  });
  f.run();
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[0] == Fixture::Seen{"before", 0ms});
  CHECK(f.seen[1] == Fixture::Seen{"after", 5ms});
}

TEST_CASE("sim scheduler: charges within one task add up", "[sim_scheduler]") {
  Fixture f;
  f.a->post([&f] {
    f.scheduler->delay_current_task(2ms);
    f.b->post(f.note("after 2"));
    f.scheduler->delay_current_task(3ms);
    f.b->post(f.note("after 5"));
    f.a->post(f.note("own lane"));
  });
  f.a->post(f.note("queued on a"));
  f.run();
  REQUIRE(f.seen.size() == 4);
  CHECK(f.seen[0] == Fixture::Seen{"after 2", 2ms});
  // At +5 ms b has its post and a is free again: the seed orders those three.
  std::vector<Fixture::Seen> at5(f.seen.begin() + 1, f.seen.end());
  CHECK(std::find(at5.begin(), at5.end(), Fixture::Seen{"after 5", 5ms}) != at5.end());
  CHECK(std::find(at5.begin(), at5.end(), Fixture::Seen{"queued on a", 5ms}) != at5.end());
  CHECK(std::find(at5.begin(), at5.end(), Fixture::Seen{"own lane", 5ms}) != at5.end());
}

TEST_CASE("sim scheduler: post_after from a charged task counts from the end of the charge",
          "[sim_scheduler]") {
  Fixture f;
  f.a->post([&f] {
    f.scheduler->delay_current_task(5ms);
    f.b->post_after(10ms, f.note("timer"));
  });
  f.run();
  REQUIRE(f.seen.size() == 1);
  CHECK(f.seen[0] == Fixture::Seen{"timer", 15ms});
}

TEST_CASE("sim scheduler: a charge made outside any task does nothing", "[sim_scheduler]") {
  Fixture f;
  f.scheduler->delay_current_task(5ms);
  f.a->post(f.note("a"));
  f.b->post_after(1ms, f.note("b"));
  f.run();
  REQUIRE(f.seen.size() == 2);
  CHECK(f.seen[0] == Fixture::Seen{"a", 0ms});
  CHECK(f.seen[1] == Fixture::Seen{"b", 1ms});
}

TEST_CASE("sim scheduler: run_until waits out a busy lane instead of returning early",
          "[sim_scheduler]") {
  Fixture f;
  bool done = false;
  f.a->post([&f] { f.scheduler->delay_current_task(5ms); });
  f.a->post([&done] { done = true; });
  CHECK(f.scheduler->run_until([&done] { return done; }, 1s));
  CHECK(f.elapsed() == 5ms);
}

TEST_CASE("sim scheduler: run_until gives up at its limit while a lane is still busy",
          "[sim_scheduler]") {
  Fixture f;
  bool done = false;
  f.a->post([&f] { f.scheduler->delay_current_task(5ms); });
  f.a->post([&done] { done = true; });
  CHECK_FALSE(f.scheduler->run_until([&done] { return done; }, 2ms));
  CHECK(f.elapsed() == 2ms);
  CHECK(f.scheduler->run_until([&done] { return done; }, 10ms));
  CHECK(f.elapsed() == 5ms);
}

TEST_CASE("sim scheduler: the same seed replays the same run with charges", "[sim_scheduler]") {
  auto run = [](uint64_t seed) {
    Fixture f(seed);
    for (int i = 0; i < 20; ++i) {
      Executor* lane = (i % 2 == 0) ? f.a.get() : f.b.get();
      lane->post([&f, i] {
        f.scheduler->delay_current_task(std::chrono::microseconds(
            std::uniform_int_distribution<int>(0, 500)(f.scheduler->rng())));
        ((i % 3 == 0) ? f.a : f.b)->post(f.note("echo " + std::to_string(i)));
      });
    }
    f.run();
    return std::make_pair(f.scheduler->steps(), f.seen);
  };
  auto first = run(7);
  auto again = run(7);
  CHECK(first.first == 40);
  CHECK(first.first == again.first);
  CHECK(first.second == again.second);
}
