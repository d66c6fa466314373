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

void run_client(CounterClient& client, Tickets& tickets, ClientTally& tally) {
  while (tickets.take()) {
    const auto started = Clock::now();
    OpResult result = client.increment(1);
    switch (result.outcome) {
      case OpResult::Outcome::kOk: {
        ++tally.acked;
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        tally.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
        break;
      }
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
}

uint64_t percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t at = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[at];
}

}  // namespace

std::string LoadTotals::totals_line() const {
  return "acked=" + std::to_string(acked) + " unknown=" + std::to_string(unknown) +
         " failed=" + std::to_string(failed);
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
  return out.str();
}

LoadTotals run_load(CounterClient& client, const LoadOptions& options) {
  PONTOON_CHECK(options.clients >= 1);
  PONTOON_CHECK(options.client_threads >= 1);
  PONTOON_CHECK(static_cast<size_t>(options.client_threads) <= options.clients);
  PONTOON_CHECK(options.duration.has_value() != options.ops.has_value());
  Tickets tickets(options);
  std::vector<ClientTally> tallies(options.clients);
  const auto started = Clock::now();
  {
    std::vector<std::function<void()>> clients;
    for (ClientTally& tally : tallies) {
      clients.emplace_back([&client, &tickets, &tally] { run_client(client, tickets, tally); });
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
  for (ClientTally& tally : tallies) {
    totals.acked += tally.acked;
    totals.unknown += tally.unknown;
    totals.failed += tally.failed;
    latencies.insert(latencies.end(), tally.latencies_us.begin(), tally.latencies_us.end());
    if (totals.first_unknown.empty()) totals.first_unknown = tally.first_unknown;
    if (totals.first_failure.empty()) totals.first_failure = tally.first_failure;
  }
  std::sort(latencies.begin(), latencies.end());
  totals.p50_us = percentile(latencies, 0.50);
  totals.p99_us = percentile(latencies, 0.99);
  totals.max_us = latencies.empty() ? 0 : latencies.back();
  return totals;
}

}  // namespace counter
