#include "load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <vector>

#include "raft/check.h"
#include "raft/rpc/fiber_threads.h"

namespace counter {
namespace {

using Clock = std::chrono::steady_clock;

// What one client thread saw; merged after the threads have joined.
struct ClientTally {
  uint64_t acked = 0;
  uint64_t unknown = 0;
  uint64_t failed = 0;
  std::vector<uint32_t> latencies_us;
  std::string first_unknown;
  std::string first_failure;
  uint64_t reads = 0;
  uint64_t stale_reads = 0;
  uint64_t read_failed = 0;
  std::vector<uint32_t> read_latencies_us;
  std::string first_stale_read;
  std::string first_read_failure;
};

uint32_t micros_since(Clock::time_point started) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  return static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
}

// The largest value an increment has been acknowledged with so far, over every client.
class AckedHighWater {
 public:
  void raise(int64_t value) {
    int64_t seen = value_.load(std::memory_order_relaxed);
    while (seen < value && !value_.compare_exchange_weak(seen, value, std::memory_order_release,
                                                         std::memory_order_relaxed)) {
    }
  }
  int64_t get() const { return value_.load(std::memory_order_acquire); }

 private:
  std::atomic<int64_t> value_{INT64_MIN};
};

std::string describe(const OpResult& result) {
  return result.endpoint + ": " + result.error.to_string();
}

// Hands out the right to start one more increment.
class Tickets {
 public:
  explicit Tickets(const LoadOptions& options)
      : end_(options.duration ? Clock::now() + *options.duration : Clock::time_point::max()),
        limit_(options.ops.value_or(UINT64_MAX)),
        stop_(options.stop) {}

  bool take() {
    if (Clock::now() >= end_) return false;
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) return false;
    return issued_.fetch_add(1, std::memory_order_relaxed) < limit_;
  }

 private:
  const Clock::time_point end_;
  const uint64_t limit_;
  const std::atomic<bool>* const stop_;
  std::atomic<uint64_t> issued_{0};
};

void run_get(CounterClient& client, const AckedHighWater& high_water, ClientTally& tally) {
  // Read before issuing: every increment acknowledged by now must be visible to the get.
  const int64_t floor = high_water.get();
  const auto started = Clock::now();
  OpResult result = client.get();
  if (result.outcome != OpResult::Outcome::kOk) {
    ++tally.read_failed;
    if (tally.first_read_failure.empty()) tally.first_read_failure = describe(result);
    return;
  }
  ++tally.reads;
  tally.read_latencies_us.push_back(micros_since(started));
  if (result.value < floor) {
    ++tally.stale_reads;
    if (tally.first_stale_read.empty()) {
      tally.first_stale_read = result.endpoint + ": got " + std::to_string(result.value) +
                               " after an increment was acknowledged at " + std::to_string(floor);
    }
  }
}

void run_increment(CounterClient& client, AckedHighWater& high_water, ClientTally& tally) {
  const auto started = Clock::now();
  OpResult result = client.increment(1);
  switch (result.outcome) {
    case OpResult::Outcome::kOk:
      ++tally.acked;
      tally.latencies_us.push_back(micros_since(started));
      high_water.raise(result.value);
      break;
    case OpResult::Outcome::kUnknown:
      ++tally.unknown;
      if (tally.first_unknown.empty()) tally.first_unknown = describe(result);
      break;
    case OpResult::Outcome::kFailed:
      ++tally.failed;
      if (tally.first_failure.empty()) tally.first_failure = describe(result);
      break;
  }
}

void run_client(CounterClient& client, Tickets& tickets, AckedHighWater& high_water,
                int reads_per_write, size_t client_index, ClientTally& tally) {
  // Clients start at different points of the read/write cycle, so writes keep flowing.
  const uint64_t cycle = static_cast<uint64_t>(reads_per_write) + 1;
  for (uint64_t k = client_index % cycle; tickets.take(); ++k) {
    if (k % cycle == 0) {
      run_increment(client, high_water, tally);
    } else {
      run_get(client, high_water, tally);
    }
  }
}

uint64_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t at = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[at];
}

}  // namespace

std::string LoadTotals::totals_line() const {
  std::string line = "acked=" + std::to_string(acked) + " unknown=" + std::to_string(unknown) +
                     " failed=" + std::to_string(failed);
  if (reads_enabled) {
    line += " reads=" + std::to_string(reads) + " stale_reads=" + std::to_string(stale_reads) +
            " read_failed=" + std::to_string(read_failed);
  }
  return line;
}

std::string LoadTotals::summary() const {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << "load: " << acked << " increments acknowledged in " << seconds << " s ("
      << (seconds > 0 ? acked / seconds : 0.0) << "/s), " << unknown << " with unknown outcome, "
      << failed << " failed\n";
  // Two decimals: one client's write takes a few tenths of a millisecond.
  out.precision(2);
  out << "load: latency of acknowledged increments: p50 " << p50_us / 1000.0 << " ms, p99 "
      << p99_us / 1000.0 << " ms, max " << max_us / 1000.0 << " ms\n";
  if (!first_unknown.empty()) out << "load: first unknown outcome: " << first_unknown << "\n";
  if (!first_failure.empty()) out << "load: first failure: " << first_failure << "\n";
  if (reads_enabled) {
    out.precision(1);
    out << "load: " << reads << " gets answered (" << (seconds > 0 ? reads / seconds : 0.0)
        << "/s), " << stale_reads << " stale, " << read_failed << " failed\n";
    out.precision(2);
    out << "load: latency of answered gets: p50 " << read_p50_us / 1000.0 << " ms, p99 "
        << read_p99_us / 1000.0 << " ms\n";
    if (!first_stale_read.empty()) out << "load: STALE READ: " << first_stale_read << "\n";
    if (!first_read_failure.empty()) {
      out << "load: first failed get: " << first_read_failure << "\n";
    }
  }
  return out.str();
}

LoadTotals run_load(CounterClient& client, const LoadOptions& options) {
  PONTOON_CHECK(options.clients >= 1);
  PONTOON_CHECK(options.client_threads >= 1);
  PONTOON_CHECK(static_cast<size_t>(options.client_threads) <= options.clients);
  PONTOON_CHECK(options.duration.has_value() != options.ops.has_value());
  PONTOON_CHECK(options.reads_per_write >= 0);
  Tickets tickets(options);
  AckedHighWater high_water;
  std::vector<ClientTally> tallies(options.clients);
  const auto started = Clock::now();
  {
    std::vector<std::function<void()>> clients;
    for (size_t i = 0; i < tallies.size(); ++i) {
      clients.emplace_back([&client, &tickets, &high_water, &options, &tallies, i] {
        run_client(client, tickets, high_water, options.reads_per_write, i, tallies[i]);
      });
    }
    std::unique_ptr<raft::rpc::FiberThreads> fibers =
        options.host != nullptr
            ? std::make_unique<raft::rpc::FiberThreads>(options.host, options.client_threads,
                                                        std::move(clients), "load")
            : std::make_unique<raft::rpc::FiberThreads>(options.client_threads, std::move(clients),
                                                        "load");
  }  // Joins here.
  LoadTotals totals;
  totals.elapsed = Clock::now() - started;
  std::vector<uint32_t> latencies;
  std::vector<uint32_t> read_latencies;
  for (ClientTally& tally : tallies) {
    totals.acked += tally.acked;
    totals.unknown += tally.unknown;
    totals.failed += tally.failed;
    latencies.insert(latencies.end(), tally.latencies_us.begin(), tally.latencies_us.end());
    if (totals.first_unknown.empty()) totals.first_unknown = tally.first_unknown;
    if (totals.first_failure.empty()) totals.first_failure = tally.first_failure;
    totals.reads += tally.reads;
    totals.stale_reads += tally.stale_reads;
    totals.read_failed += tally.read_failed;
    read_latencies.insert(read_latencies.end(), tally.read_latencies_us.begin(),
                          tally.read_latencies_us.end());
    if (totals.first_stale_read.empty()) totals.first_stale_read = tally.first_stale_read;
    if (totals.first_read_failure.empty()) totals.first_read_failure = tally.first_read_failure;
  }
  std::sort(latencies.begin(), latencies.end());
  totals.p50_us = percentile(latencies, 0.50);
  totals.p99_us = percentile(latencies, 0.99);
  totals.max_us = latencies.empty() ? 0 : latencies.back();
  totals.reads_enabled = options.reads_per_write > 0;
  std::sort(read_latencies.begin(), read_latencies.end());
  totals.read_p50_us = percentile(read_latencies, 0.50);
  totals.read_p99_us = percentile(read_latencies, 0.99);
  return totals;
}

}  // namespace counter
