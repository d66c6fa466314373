// LatencyHistogram: a log-linear histogram of latencies (HdrHistogram's layout), so that
// percentiles over millions of operations cost a fixed 18 KiB and no sort.
//
// Values are nanoseconds. Below 128 ns each value has its own bucket; above, every power of
// two is split into 64 buckets, so a reported percentile is within 1/64 (1.6%) of the true
// value. The maximum is kept exactly.
//
// Thread-safety: record() from any number of threads at once (relaxed atomics); the readers
// (count, percentile_ns, max_ns, merge_from) may run concurrently with it and then see a
// recent, not necessarily consistent, state — good enough for a progress line; read after the
// writers stopped for the final numbers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace bench {

class LatencyHistogram {
 public:
  void record(uint64_t nanos);
  uint64_t count() const;
  // The value at or below which `percent` percent of the recorded values lie (0 if empty).
  // REQUIRES: 0 <= percent <= 100.
  uint64_t percentile_ns(double percent) const;
  uint64_t max_ns() const { return max_ns_.load(std::memory_order_relaxed); }
  // Adds every value recorded in `other`.
  void merge_from(const LatencyHistogram& other);

 private:
  static constexpr int kSubBucketBits = 6;
  static constexpr uint64_t kLinearLimit = uint64_t{2} << kSubBucketBits;  // 128
  // 128 linear buckets, then 64 for each of the powers 2^7 .. 2^63.
  static constexpr size_t kBuckets = kLinearLimit + (64 - 7) * (uint64_t{1} << kSubBucketBits);

  static size_t bucket_of(uint64_t nanos);
  // A representative value of the bucket: the middle of its range.
  static uint64_t value_of(size_t bucket);

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace bench
