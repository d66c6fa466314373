#include "closed_loop_load.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "raft/check.h"

namespace bench {
namespace {

constexpr auto kRetryDelay = std::chrono::milliseconds(1);
// Paced clients that are early sleep until the next multiple of this after the start, not
// until their exact due time: the clients due within one tick then wake together, on one
// timer expiry, instead of costing the client process a wake-up per operation (at 25,000 ops/s
// that took half a core of a 2-core machine from the replicas). The rounding is part of the
// issue lag, so at most this much of it.
constexpr auto kPaceTick = std::chrono::microseconds(200);

}  // namespace

SteadyTime ClosedLoopLoad::scheduled_start(int client_id, uint64_t k) const {
  const double seconds =
      (static_cast<double>(client_id) + static_cast<double>(k) * options_.clients) / options_.rate;
  return started_at_ +
         std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double>(seconds));
}

SteadyTime ClosedLoopLoad::wake_time(SteadyTime due) const {
  const auto ticks = (due - started_at_ + kPaceTick - SteadyTime::duration(1)) / kPaceTick;
  return started_at_ + ticks * kPaceTick;
}

void ClosedLoopLoad::run_client(int client_id) {
  const int group = client_id % options_.groups;
  const bool mixed = options_.read_fraction > 0;
  const bool paced = options_.rate > 0;
  for (uint64_t k = 0;; ++k) {
    const uint64_t sequence = static_cast<uint64_t>(client_id) + k;
    SteadyTime due = std::chrono::steady_clock::now();
    if (paced) {
      const SteadyTime now = due;
      due = scheduled_start(client_id, k);
      if (due >= stop_at_) return;
      if (due > now) raft::rpc::pause_for(wake_time(due) - now);
    }
    // Late or on time, a paced operation's latency counts from its schedule (`due`).
    const SteadyTime issued = paced ? std::chrono::steady_clock::now() : due;
    if (issued >= stop_at_ || stop_requested_.load(std::memory_order_relaxed)) return;
    const bool is_write = !mixed || sequence % 10 == 0;
    // On this fiber's stack; the completion gets one pointer to it (no allocation for the
    // callback), writes the outcome and resumes the fiber.
    struct Pending {
      raft::Status result;
      std::function<void()> resume;
    } pending;
    raft::rpc::wait_for_callback([&](std::function<void()> resume) {
      pending.resume = std::move(resume);
      auto done = [p = &pending](const raft::Status& status) {
        p->result = status;
        p->resume();
      };
      if (is_write) {
        target_->write(group, options_.payload, std::move(done));
      } else {
        target_->read(group, sequence, std::move(done));
      }
    });
    const SteadyTime finished = std::chrono::steady_clock::now();
    record(is_write, due, issued, finished, pending.result);
    if (!pending.result.ok()) raft::rpc::pause_for(kRetryDelay);
  }
}

ClosedLoopLoad::ClosedLoopLoad(BenchTarget* target, LoadOptions options)
    : target_(target), options_(std::move(options)) {
  PONTOON_CHECK(target_ != nullptr);
  PONTOON_CHECK(options_.client_threads >= 1);
  PONTOON_CHECK(options_.client_threads <= options_.clients);
  PONTOON_CHECK(options_.groups >= 1);
  PONTOON_CHECK(options_.rate >= 0);
}

ClosedLoopLoad::~ClosedLoopLoad() {
  request_stop();
  join();
}

void ClosedLoopLoad::start(SteadyTime measure_from, SteadyTime stop_at) {
  PONTOON_CHECK(measure_from <= stop_at);
  PONTOON_CHECK(fibers_ == nullptr);
  started_at_ = std::chrono::steady_clock::now();
  measure_from_ = measure_from;
  stop_at_ = stop_at;
  std::vector<std::function<void()>> clients;
  for (int c = 0; c < options_.clients; ++c) clients.emplace_back([this, c] { run_client(c); });
  // Client c on scheduler c % client_threads: hosted on the target's reply threads when it
  // has them, else on threads of their own.
  if (raft::rpc::IoContextPool* host = target_->reply_host()) {
    fibers_ = std::make_unique<raft::rpc::FiberThreads>(host, options_.client_threads,
                                                        std::move(clients), "bench-client");
  } else {
    fibers_ = std::make_unique<raft::rpc::FiberThreads>(options_.client_threads, std::move(clients),
                                                        "bench-client");
  }
}

void ClosedLoopLoad::request_stop() { stop_requested_.store(true, std::memory_order_relaxed); }

void ClosedLoopLoad::join() {
  if (fibers_ != nullptr) fibers_->join();
}

void ClosedLoopLoad::record(bool is_write, SteadyTime due, SteadyTime issued, SteadyTime finished,
                            const raft::Status& result) {
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (finished < measure_from_ || finished >= stop_at_) return;
  if (!result.ok()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    const size_t code = static_cast<size_t>(result.code());
    const size_t slot = code < kStatusCodes ? code : 0;
    if (failed_by_code_[slot].fetch_add(1, std::memory_order_relaxed) == 0) {
      std::lock_guard<std::mutex> lock(first_failure_mu_);
      first_failure_[slot] = std::string(result.message());
    }
    return;
  }
  auto nanos_between = [](SteadyTime from, SteadyTime to) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::max(to - from, SteadyTime::duration::zero()))
                                     .count());
  };
  const uint64_t nanos = nanos_between(due, finished);
  latency_.record(nanos);
  if (options_.rate > 0) issue_lag_.record(nanos_between(due, issued));
  (is_write ? write_latency_ : read_latency_).record(nanos);
  (is_write ? writes_ : reads_).fetch_add(1, std::memory_order_relaxed);
}

uint64_t ClosedLoopLoad::completed() const { return completed_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::writes() const { return writes_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::reads() const { return reads_.load(std::memory_order_relaxed); }
uint64_t ClosedLoopLoad::failed() const { return failed_.load(std::memory_order_relaxed); }

std::vector<ClosedLoopLoad::FailureCount> ClosedLoopLoad::failed_by_code() const {
  std::vector<FailureCount> counts;
  std::lock_guard<std::mutex> lock(first_failure_mu_);
  for (size_t code = 0; code < kStatusCodes; ++code) {
    const uint64_t count = failed_by_code_[code].load(std::memory_order_relaxed);
    if (count == 0) continue;
    counts.push_back({std::string(raft::status_code_name(static_cast<raft::StatusCode>(code))),
                      count, first_failure_[code]});
  }
  return counts;
}

}  // namespace bench
