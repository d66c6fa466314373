#include "closed_loop_load.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <utility>

#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include "raft/check.h"

namespace bench {
namespace {

constexpr size_t kFiberStackBytes = 64 * 1024;
constexpr auto kRetryDelay = std::chrono::milliseconds(1);

}  // namespace

// One client thread: a scheduler that resumes whichever of its fibers are ready.
class ClientThread {
 public:
  ClientThread(ClosedLoopLoad* load, int thread_index, std::vector<int> client_ids)
      : load_(load), thread_index_(thread_index), fibers_(client_ids.size()) {
    for (size_t f = 0; f < fibers_.size(); ++f) fibers_[f].client_id = client_ids[f];
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Fiber {
    int client_id = 0;
    // The fiber while it is suspended (empty while it runs, and once it has finished).
    boost::context::fiber context;
    // The scheduler while the fiber runs.
    boost::context::fiber scheduler;
    // The outcome of the operation the fiber waits for; written by the completion before it
    // puts the fiber on the ready list, read by the fiber after the scheduler took it off
    // (the list's mutex orders the two).
    raft::Status result;
  };

  void run() {
    const std::string name = "bench-client-" + std::to_string(thread_index_);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    size_t live = fibers_.size();
    std::vector<size_t> batch;
    for (size_t f = 0; f < fibers_.size(); ++f) {
      fibers_[f].context = boost::context::fiber(std::allocator_arg,
                                                 boost::context::fixedsize_stack(kFiberStackBytes),
                                                 [this, f](boost::context::fiber&& scheduler) {
                                                   fibers_[f].scheduler = std::move(scheduler);
                                                   run_client(f);
                                                   return std::move(fibers_[f].scheduler);
                                                 });
      batch.push_back(f);
    }
    while (live > 0) {
      for (size_t f : batch) {
        fibers_[f].context = std::move(fibers_[f].context).resume();
        if (!fibers_[f].context) --live;
      }
      batch.clear();
      if (live > 0) take_ready(&batch);
    }
  }

  // The client's loop, on its fiber.
  void run_client(size_t f) {
    Fiber& fiber = fibers_[f];
    const LoadOptions& options = load_->options_;
    const int group = fiber.client_id % options.groups;
    const bool mixed = options.read_fraction > 0;
    for (uint64_t sequence = static_cast<uint64_t>(fiber.client_id);; ++sequence) {
      const SteadyTime started = std::chrono::steady_clock::now();
      if (started >= load_->stop_at_ || load_->stop_requested_.load(std::memory_order_relaxed)) {
        return;
      }
      const bool is_write = !mixed || sequence % 10 == 0;
      auto done = [this, f](const raft::Status& status) {
        fibers_[f].result = status;
        make_ready(f);
      };
      if (is_write) {
        load_->target_->write(group, options.payload, std::move(done));
      } else {
        load_->target_->read(group, sequence, std::move(done));
      }
      suspend(f);
      const SteadyTime finished = std::chrono::steady_clock::now();
      load_->record(is_write, started, finished, fiber.result.ok());
      if (!fiber.result.ok()) {
        delayed_.emplace_back(finished + kRetryDelay, f);
        suspend(f);
      }
    }
  }

  // On fiber f: back to the scheduler until someone makes f ready.
  void suspend(size_t f) { fibers_[f].scheduler = std::move(fibers_[f].scheduler).resume(); }

  // Any thread: f may run again.
  void make_ready(size_t f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ready_.empty()) ready_cv_.notify_one();
    ready_.push_back(f);
  }

  // On the scheduler: waits until a fiber is ready or a delayed one is due; moves them all
  // into `batch`.
  void take_ready(std::vector<size_t>* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const SteadyTime now = std::chrono::steady_clock::now();
      SteadyTime next_due = SteadyTime::max();
      for (size_t i = 0; i < delayed_.size();) {
        if (delayed_[i].first <= now) {
          batch->push_back(delayed_[i].second);
          delayed_[i] = delayed_.back();
          delayed_.pop_back();
        } else {
          next_due = std::min(next_due, delayed_[i].first);
          ++i;
        }
      }
      batch->insert(batch->end(), ready_.begin(), ready_.end());
      ready_.clear();
      if (!batch->empty()) return;
      if (next_due == SteadyTime::max()) {
        ready_cv_.wait(lock);
      } else {
        ready_cv_.wait_until(lock, next_due);
      }
    }
  }

  ClosedLoopLoad* const load_;
  const int thread_index_;
  // Sized once: the fibers' lambdas refer to their slots by index.
  std::vector<Fiber> fibers_;
  // Fibers waiting out kRetryDelay after a failure. Only the scheduler thread (and the fibers
  // it runs) touch it.
  std::vector<std::pair<SteadyTime, size_t>> delayed_;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  std::vector<size_t> ready_;  // Guarded by mu_.
  std::thread thread_;
};

ClosedLoopLoad::ClosedLoopLoad(BenchTarget* target, LoadOptions options)
    : target_(target), options_(std::move(options)) {
  PONTOON_CHECK(target_ != nullptr);
  PONTOON_CHECK(options_.client_threads >= 1);
  PONTOON_CHECK(options_.client_threads <= options_.clients);
  PONTOON_CHECK(options_.groups >= 1);
  for (int t = 0; t < options_.client_threads; ++t) {
    std::vector<int> client_ids;
    for (int c = t; c < options_.clients; c += options_.client_threads) client_ids.push_back(c);
    threads_.push_back(std::make_unique<ClientThread>(this, t, std::move(client_ids)));
  }
}

ClosedLoopLoad::~ClosedLoopLoad() {
  request_stop();
  join();
}

void ClosedLoopLoad::start(SteadyTime measure_from, SteadyTime stop_at) {
  PONTOON_CHECK(measure_from <= stop_at);
  measure_from_ = measure_from;
  stop_at_ = stop_at;
  for (auto& thread : threads_) thread->start();
}

void ClosedLoopLoad::request_stop() { stop_requested_.store(true, std::memory_order_relaxed); }

void ClosedLoopLoad::join() {
  for (auto& thread : threads_) thread->join();
}

void ClosedLoopLoad::record(bool is_write, SteadyTime started, SteadyTime finished, bool ok) {
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (finished < measure_from_ || finished >= stop_at_) return;
  if (!ok) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started).count());
  latency_.record(nanos);
  (is_write ? write_latency_ : read_latency_).record(nanos);
  (is_write ? writes_ : reads_).fetch_add(1, std::memory_order_relaxed);
}

uint64_t ClosedLoopLoad::completed() const { return completed_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::writes() const { return writes_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::reads() const { return reads_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::failed() const { return failed_.load(std::memory_order_relaxed); }

}  // namespace bench
