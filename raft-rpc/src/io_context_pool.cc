#include "raft/rpc/io_context_pool.h"

#include <pthread.h>

#include <algorithm>

#include "raft/check.h"

namespace raft::rpc {
namespace {

// Which pool, if any, the current thread belongs to, and the context it runs. Set once by the
// thread itself; in_pool_thread() and current_context() must not read threads_, which stop()
// mutates while a handler may be asking.
thread_local const IoContextPool* t_current_pool = nullptr;
thread_local boost::asio::io_context* t_current_context = nullptr;

}  // namespace

IoContextPool::IoContextPool(size_t threads, std::string name) : name_(std::move(name)) {
  PONTOON_CHECK(threads >= 1);
  contexts_.reserve(threads);
  // Concurrency hint 1: each context is run by exactly one thread, so asio's scheduler never
  // wakes a second thread to wait in epoll while the first runs handlers.
  for (size_t i = 0; i < threads; ++i)
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
}

IoContextPool::~IoContextPool() { stop(); }

void IoContextPool::start() {
  std::lock_guard<std::mutex> lock(mu_);
  PONTOON_CHECK_MSG(!started_, "an IoContextPool is started at most once");
  PONTOON_CHECK_MSG(!stopped_, "a stopped IoContextPool cannot be started");
  started_ = true;
  for (auto& context : contexts_) work_.push_back(boost::asio::make_work_guard(*context));
  running_.store(true, std::memory_order_release);
  threads_.reserve(contexts_.size());
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i, context = contexts_[i].get()] {
      std::string thread_name = name_.substr(0, 11) + "-" + std::to_string(i);
      pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
      t_current_pool = this;
      t_current_context = context;
      context->run();
      t_current_context = nullptr;
      t_current_pool = nullptr;
    });
  }
}

void IoContextPool::stop() {
  PONTOON_CHECK_MSG(!in_pool_thread(), "IoContextPool::stop() would join its own thread");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  running_.store(false, std::memory_order_release);
  work_.clear();
  for (auto& context : contexts_) context->stop();
  for (std::thread& t : threads_) t.join();
}

bool IoContextPool::in_pool_thread() const { return t_current_pool == this; }

boost::asio::io_context& IoContextPool::next_context() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

boost::asio::io_context* IoContextPool::current_context() const {
  return t_current_pool == this ? t_current_context : nullptr;
}

}  // namespace raft::rpc
