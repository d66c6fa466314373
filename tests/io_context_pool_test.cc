// IoContextPool (raft/rpc/io_context_pool.h): one io_context per thread, each run by that
// thread alone, handed out in turn.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "raft/rpc/io_context_pool.h"

using raft::rpc::IoContextPool;

namespace {

struct Ran {
  std::thread::id thread;
  boost::asio::io_context* current = nullptr;
  bool in_pool = false;
};

// Runs a handler on `context` and reports where it ran (at most 10 s, so a context nobody runs
// fails the test instead of hanging it).
Ran run_on(IoContextPool& pool, boost::asio::io_context& context) {
  std::promise<Ran> ran;
  std::future<Ran> result = ran.get_future();
  boost::asio::post(context, [&] {
    ran.set_value(Ran{std::this_thread::get_id(), pool.current_context(), pool.in_pool_thread()});
  });
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return result.get();
}

}  // namespace

TEST_CASE("each context of the pool is run by one thread of its own", "[io_pool]") {
  IoContextPool pool(3, "test-io");
  REQUIRE(pool.thread_count() == 3);
  pool.start();
  std::set<std::thread::id> threads;
  for (size_t i = 0; i < pool.thread_count(); ++i) {
    CAPTURE(i);
    const Ran first = run_on(pool, pool.context(i));
    CHECK(first.in_pool);
    CHECK(first.current == &pool.context(i));
    CHECK(first.thread != std::this_thread::get_id());
    // Every later handler of this context runs on the same thread.
    for (int again = 0; again < 20; ++again)
      CHECK(run_on(pool, pool.context(i)).thread == first.thread);
    threads.insert(first.thread);
  }
  CHECK(threads.size() == 3);
  CHECK(&pool.context() == &pool.context(0));
  pool.stop();
}

TEST_CASE("next_context hands out every context in turn", "[io_pool]") {
  IoContextPool pool(2, "test-io");
  std::vector<boost::asio::io_context*> handed;
  for (int i = 0; i < 6; ++i) handed.push_back(&pool.next_context());
  for (size_t i = 0; i < handed.size(); ++i) CHECK(handed[i] == &pool.context(i % 2));
}

TEST_CASE("current_context is null off the pool and on another pool's threads", "[io_pool]") {
  IoContextPool pool(1, "test-io");
  IoContextPool other(1, "test-other");
  pool.start();
  other.start();
  CHECK(pool.current_context() == nullptr);
  CHECK_FALSE(pool.in_pool_thread());
  std::promise<boost::asio::io_context*> seen;
  boost::asio::post(other.context(), [&] { seen.set_value(pool.current_context()); });
  std::future<boost::asio::io_context*> result = seen.get_future();
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(result.get() == nullptr);
  other.stop();
  pool.stop();
}
