#include "raft/rpc/io_context_pool.h"

#include <pthread.h>

#include <algorithm>

#include "raft/check.h"

namespace raft::rpc {
namespace {

// Which pool, if any, the current thread belongs to. in_pool_thread() must not read
// threads_, which stop() mutates while a handler may be asking.
thread_local const IoContextPool* t_current_pool = nullptr;

}  // namespace

IoContextPool::IoContextPool(size_t threads, std::string name)
    : thread_count_(threads), name_(std::move(name)), context_(static_cast<int>(threads)) {
  PONTOON_CHECK(threads >= 1);
}

IoContextPool::~IoContextPool() { stop(); }

void IoContextPool::start() {
  std::lock_guard<std::mutex> lock(mu_);
  PONTOON_CHECK_MSG(!started_, "an IoContextPool is started at most once");
  PONTOON_CHECK_MSG(!stopped_, "a stopped IoContextPool cannot be started");
  started_ = true;
  work_.emplace(boost::asio::make_work_guard(context_));
  running_.store(true, std::memory_order_release);
  threads_.reserve(thread_count_);
  for (size_t i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this, i] {
      std::string thread_name = name_.substr(0, 11) + "-" + std::to_string(i);
      pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
      t_current_pool = this;
      context_.run();
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
  work_.reset();
  context_.stop();
  for (std::thread& t : threads_) t.join();
}

bool IoContextPool::in_pool_thread() const { return t_current_pool == this; }

}  // namespace raft::rpc
