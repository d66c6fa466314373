// ClosedLoopLoad: N closed-loop clients as Boost.Context fibers on a few client threads.
//
// Each client is a fiber (raft/rpc/fiber_threads.h) that issues one operation on the
// BenchTarget, suspends, and is resumed on its own thread by the operation's completion
// (which only puts it on that thread's ready list); it then records the latency and issues
// the next operation. So 10,000
// clients need 10,000 small stacks (64 KiB each, reserved, mostly untouched), not 10,000
// threads. Client c runs on thread c % client_threads and uses group c % groups (round robin).
// In a mixed workload every tenth operation of a client is a write, the rest reads; clients
// start at different points of that cycle. A failed operation is counted and the client
// waits 1 ms before its next one, so a cluster without a leader is not hammered.
//
// Only operations that complete inside [measure_from, stop_at) count: before is warm-up,
// after is the drain of what was in flight at stop_at.
//
// Paced (LoadOptions::rate > 0), the clients offer a fixed rate instead of a closed loop: each
// client issues its k-th operation at start + (client + k * clients) / rate (client c's first
// one a c/rate after start, so the schedule is evenly spread) and waits for that time when it
// is early. An operation's latency counts from its scheduled time, not from when it was
// issued: a client that falls behind (a slow reply held it) issues the late operations at once
// and their latencies include the time they waited for it, as a stream of independent users
// would see them (no coordinated omission). An early client sleeps until the 200 µs tick its
// time falls in, so that the clients of one tick wake together (issue_lag() includes it). A cluster
// that cannot keep up then shows latencies that grow over the run, and fewer ops/s than offered.
//
// Thread-safety: the counters and latency() from any thread while the load runs (see
// LatencyHistogram); start()/join() from one thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_target.h"
#include "latency_histogram.h"
#include "raft/rpc/fiber_threads.h"
#include "raft/status.h"

namespace bench {

using SteadyTime = std::chrono::steady_clock::time_point;

struct LoadOptions {
  int clients = 1;
  int client_threads = 1;
  int groups = 1;
  // 0: every operation writes; otherwise 9 of 10 operations read (the only mix supported).
  double read_fraction = 0;
  std::string payload;
  // Operations per second offered by all clients together; 0: a closed loop (each client
  // issues its next operation when the last one completed).
  double rate = 0;
};

class ClosedLoopLoad {
 public:
  // REQUIRES: target outlives the load; 1 <= client_threads <= clients.
  ClosedLoopLoad(BenchTarget* target, LoadOptions options);
  ~ClosedLoopLoad();  // Joins.

  ClosedLoopLoad(const ClosedLoopLoad&) = delete;
  ClosedLoopLoad& operator=(const ClosedLoopLoad&) = delete;

  // Starts the client threads. REQUIRES: called once; measure_from <= stop_at.
  void start(SteadyTime measure_from, SteadyTime stop_at);
  // Clients issue nothing new after this (or after stop_at).
  void request_stop();
  // Waits until every client finished its last operation.
  void join();

  // Every operation completed so far, measured or not (for the progress line).
  uint64_t completed() const;
  // Operations completed in the measured window.
  uint64_t writes() const;
  uint64_t reads() const;
  uint64_t failed() const;
  // The measured failures by code, the codes that occurred only: the status name (e.g.
  // "EBUSY"), how many, and the message of the first one (which says which limit refused).
  struct FailureCount {
    std::string code;
    uint64_t count = 0;
    std::string first_message;
  };
  std::vector<FailureCount> failed_by_code() const;
  // Latencies of the successful measured operations: all, writes only, reads only.
  const LatencyHistogram& latency() const { return latency_; }
  const LatencyHistogram& write_latency() const { return write_latency_; }
  const LatencyHistogram& read_latency() const { return read_latency_; }
  // Paced only (empty otherwise): how late each measured operation was issued against its
  // schedule. Near zero while the clients keep up; it is the part of latency() that the
  // operation spent waiting for its client (a reply before it that came late, or the client's
  // own thread being busy), and latency() minus it is the cluster's service time.
  const LatencyHistogram& issue_lag() const { return issue_lag_; }

 private:
  // Client `client_id`'s loop, on its fiber.
  void run_client(int client_id);
  // Paced: when client `client_id` is to issue its `k`-th operation.
  SteadyTime scheduled_start(int client_id, uint64_t k) const;
  // Paced: when a client early for `due` wakes (`due` rounded up to a pacing tick).
  SteadyTime wake_time(SteadyTime due) const;
  // Called by a client fiber when an operation completed.
  // `due` is when the operation was to start: its issue time in a closed loop, its scheduled
  // time when paced.
  void record(bool is_write, SteadyTime due, SteadyTime issued, SteadyTime finished,
              const raft::Status& result);

  BenchTarget* const target_;
  const LoadOptions options_;
  SteadyTime started_at_;  // When start() was called: the paced schedule's origin.
  SteadyTime measure_from_;
  SteadyTime stop_at_;
  std::atomic<bool> stop_requested_{false};

  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> failed_{0};
  static constexpr size_t kStatusCodes = static_cast<size_t>(raft::StatusCode::kAgain) + 1;
  std::array<std::atomic<uint64_t>, kStatusCodes> failed_by_code_{};
  mutable std::mutex first_failure_mu_;
  std::array<std::string, kStatusCodes> first_failure_;  // Guarded by first_failure_mu_.
  LatencyHistogram latency_;
  LatencyHistogram write_latency_;
  LatencyHistogram read_latency_;
  LatencyHistogram issue_lag_;

  std::unique_ptr<raft::rpc::FiberThreads> fibers_;  // Set by start().
};

}  // namespace bench
