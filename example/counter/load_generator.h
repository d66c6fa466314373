// LoadGenerator: closed-loop clients that increment a counter by 1 (and, with
// reads_per_write, read it between increments), and the totals that let a checker bound the
// final count.
//
// Each of `clients` clients runs one operation at a time through a shared CounterClient; the
// clients are fibers on `client_threads` threads, or hosted on the RPC client's IO threads
// (FiberThreads: a client waiting for its reply suspends, it does not hold a thread). An
// increment whose outcome is unknown is counted and never retried (a retry could count it
// twice); CounterClient already retries the failures that prove an increment was not applied.
// So after the run, if nothing else touched the counter:
//
//   start + acked  <=  final value  <=  start + acked + unknown
//
// Reads (gets) are checked as they come back: a get must return at least the largest value
// any increment was acknowledged with before the get was issued (the counter only grows), or
// it is counted stale (a linearizability violation). A failed get is counted and not retried
// beyond what CounterClient does.
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
  // Gets per increment, per client (--reads-per-write): 9 is the 9:1 read:write mix. 0 (the
  // default) only increments. Reads count towards `ops`.
  int reads_per_write = 0;
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
  // Gets (reads_per_write > 0 only): answered, answered with a value below one already
  // acknowledged before they were issued, failed; latency of the answered ones (us).
  bool reads_enabled = false;
  uint64_t reads = 0;
  uint64_t stale_reads = 0;
  uint64_t read_failed = 0;
  uint64_t read_p50_us = 0;
  uint64_t read_p99_us = 0;
  std::string first_stale_read;
  std::string first_read_failure;

  // "acked=N unknown=N failed=N", and with reads " reads=N stale_reads=N read_failed=N": the
  // machine-readable line.
  std::string totals_line() const;
  // A few readable lines for a person.
  std::string summary() const;
};

// REQUIRES: options.clients >= 1, 1 <= options.client_threads <= options.clients, exactly
// one of duration and ops set, options.reads_per_write >= 0.
LoadTotals run_load(CounterClient& client, const LoadOptions& options);

}  // namespace counter
