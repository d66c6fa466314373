// IoContextPool: the threads that run network IO and RPC timers.
//
// One boost::asio::io_context run by a fixed number of threads. RpcServer and RpcClient
// place each connection on its own strand of this context, so a connection's handlers run
// one at a time while different connections use all the threads.
//
// Lifecycle: constructed stopped; start() once; stop() once (later calls are no-ops). A pool
// is not restartable. Handlers still queued when stop() returns never run; they are destroyed
// with the pool.
//
// Thread-safety: start(), stop(), running() and in_pool_thread() may be called from any
// thread, except that stop() must not be called from a pool thread (it joins them).
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <mutex>
#include <optional>
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

  boost::asio::io_context& context() { return context_; }
  size_t thread_count() const { return thread_count_; }

 private:
  const size_t thread_count_;
  const std::string name_;
  boost::asio::io_context context_;
  std::atomic<bool> running_{false};

  std::mutex mu_;         // Serialises start() and stop().
  bool started_ = false;  // Guarded by mu_.
  bool stopped_ = false;  // Guarded by mu_.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;                          // Guarded by mu_.
  std::vector<std::thread> threads_;  // Guarded by mu_; read-only while running.
};

}  // namespace raft::rpc
