// LoadGenerator: closed-loop clients that increment a counter by 1, and the totals that let a
// checker bound the final count.
//
// Each of `clients` clients runs one increment at a time through a shared CounterClient; the
// clients are fibers on `client_threads` threads, or hosted on the RPC client's IO threads
// (FiberThreads: a client waiting for its reply suspends, it does not hold a thread). An
// increment whose outcome is unknown is counted and never retried (a retry could count it
// twice); CounterClient already retries the failures that prove an increment was not applied.
// So after the run, if nothing else touched the counter:
//
//   start + acked  <=  final value  <=  start + acked + unknown
//
// Thread-safety: run_load() blocks the calling thread until every client has finished; `stop`
// may be set from any thread meanwhile.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "counter_client.h"
#include "raft/clock.h"
#include "raft/rpc/io_context_pool.h"

namespace counter {

struct LoadOptions {
  size_t clients = 1;
  // The threads the clients' fibers run on (--client-threads): 1 keeps a client process to one
  // core's worth of work plus the RPC client's IO threads.
  int client_threads = 1;
  // When set, the pool whose threads read the CounterClient's replies: the clients' fibers
  // then run on those threads (FiberThreads hosted), so a reply resumes its client without
  // waking another thread, and client_threads counts serial schedulers there. Not owned; it
  // must run until run_load() returns.
  raft::rpc::IoContextPool* host = nullptr;
  // Exactly one is set: stop starting increments after this long, or after this many in all.
  std::optional<raft::Duration> duration;
  std::optional<uint64_t> ops;
  // When set and it becomes true, clients start no more increments (those in flight finish):
  // the load ends early with totals as valid as at the planned end. Not owned.
  const std::atomic<bool>* stop = nullptr;
};

struct LoadTotals {
  uint64_t acked = 0;
  uint64_t unknown = 0;
  uint64_t failed = 0;
  raft::Duration elapsed{0};
  // Latency of acknowledged increments, retries included (microseconds).
  uint64_t p50_us = 0;
  uint64_t p99_us = 0;
  uint64_t max_us = 0;
  // The first unknown and failed outcomes, to say why (empty if none).
  std::string first_unknown;
  std::string first_failure;

  // "acked=N unknown=N failed=N": the machine-readable line.
  std::string totals_line() const;
  // A few readable lines for a person.
  std::string summary() const;
};

// REQUIRES: options.clients >= 1, 1 <= options.client_threads <= options.clients, exactly
// one of duration and ops set.
LoadTotals run_load(CounterClient& client, const LoadOptions& options);

}  // namespace counter
