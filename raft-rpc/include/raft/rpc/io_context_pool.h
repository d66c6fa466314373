// IoContextPool: the threads that run network IO and RPC timers.
//
// One boost::asio::io_context per thread, each run by that thread alone. A connection (or an
// RPC channel) is placed on one of them, round robin (next_context()), and all its IO and timers
// run on that thread. Why not one io_context shared by all the threads: asio's scheduler lets
// one thread wait in epoll and, whenever that thread finds an event and other work may be
// queued, wakes another thread to take over the epoll wait. With two threads and one request in
// flight that doubles the wake-ups of every network event (example/counter at one client: the
// leader's two RPC threads made 6.8 context switches per write together with one shared
// context, 3.4 with a context each; a follower's 2.6-2.9 and 1.2), and each wake-up is an
// inter-processor interrupt. With a context per thread an event wakes exactly the thread whose
// epoll it arrived on.
//
// Lifecycle: constructed stopped; start() once; stop() once (later calls are no-ops). A pool
// is not restartable. Handlers still queued when stop() returns never run; they are destroyed
// with the pool.
//
// Thread-safety: start(), stop(), running(), in_pool_thread(), current_context() and
// next_context() may be called from any thread, except that stop() must not be called from a
// pool thread (it joins them). The contexts themselves are asio io_contexts: posting to any of
// them from any thread is safe.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace raft::rpc {

class IoContextPool {
 public:
  // REQUIRES: threads >= 1. `name` prefixes the thread names (at most 15 bytes are kept).
  IoContextPool(size_t threads, std::string name);
  ~IoContextPool();  // Stops the pool.

  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  // REQUIRES: start() was not called before.
  void start();
  // Joins the threads. Idempotent. REQUIRES: !in_pool_thread().
  void stop();

  // True between start() and stop().
  bool running() const { return running_.load(std::memory_order_acquire); }
  bool in_pool_thread() const;

  // The first thread's context: for work any one thread may do (an acceptor, a test's posts).
  boost::asio::io_context& context() { return *contexts_.front(); }
  // Thread i's context. REQUIRES: i < thread_count().
  boost::asio::io_context& context(size_t i) { return *contexts_.at(i); }
  // The contexts in turn, for spreading connections over the threads.
  boost::asio::io_context& next_context();
  // The context the calling thread runs, if it is one of this pool's threads; else nullptr.
  // Work deferred there runs on the calling thread without waking another.
  boost::asio::io_context* current_context() const;

  size_t thread_count() const { return contexts_.size(); }

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  const std::string name_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;  // Fixed at construction.
  std::atomic<size_t> next_{0};
  std::atomic<bool> running_{false};

  std::mutex mu_;                     // Serialises start() and stop().
  bool started_ = false;              // Guarded by mu_.
  bool stopped_ = false;              // Guarded by mu_.
  std::vector<WorkGuard> work_;       // Guarded by mu_.
  std::vector<std::thread> threads_;  // Guarded by mu_; read-only while running.
};

}  // namespace raft::rpc
