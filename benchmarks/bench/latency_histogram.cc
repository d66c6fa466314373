#include "latency_histogram.h"

#include <algorithm>
#include <bit>

#include "raft/check.h"

namespace bench {

size_t LatencyHistogram::bucket_of(uint64_t nanos) {
  if (nanos < kLinearLimit) return static_cast<size_t>(nanos);
  const int top_bit = 63 - std::countl_zero(nanos);  // >= 7
  const int shift = top_bit - kSubBucketBits;        // >= 1
  // The 6 bits below the top one choose the sub-bucket.
  const uint64_t sub = (nanos >> shift) - (uint64_t{1} << kSubBucketBits);
  return static_cast<size_t>(kLinearLimit + static_cast<uint64_t>(shift - 1) * 64 + sub);
}

uint64_t LatencyHistogram::value_of(size_t bucket) {
  if (bucket < kLinearLimit) return bucket;
  const uint64_t above = bucket - kLinearLimit;
  const int shift = static_cast<int>(above / 64) + 1;
  const uint64_t low = ((above % 64) + 64) << shift;
  return low + (uint64_t{1} << (shift - 1));
}

void LatencyHistogram::record(uint64_t nanos) {
  counts_[bucket_of(nanos)].fetch_add(1, std::memory_order_relaxed);
  uint64_t max = max_ns_.load(std::memory_order_relaxed);
  while (nanos > max && !max_ns_.compare_exchange_weak(max, nanos, std::memory_order_relaxed)) {
  }
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
  return total;
}

uint64_t LatencyHistogram::percentile_ns(double percent) const {
  PONTOON_CHECK(percent >= 0);
  PONTOON_CHECK(percent <= 100);
  const uint64_t total = count();
  if (total == 0) return 0;
  // The rank of the value wanted, 1-based: at least the first value.
  uint64_t rank = static_cast<uint64_t>(percent / 100.0 * static_cast<double>(total) + 0.5);
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b].load(std::memory_order_relaxed);
    // Never above the exact maximum, which the bucket's midpoint may exceed.
    if (seen >= rank) return std::min(value_of(b), max_ns());
  }
  return max_ns();
}

void LatencyHistogram::merge_from(const LatencyHistogram& other) {
  for (size_t b = 0; b < kBuckets; ++b) {
    const uint64_t n = other.counts_[b].load(std::memory_order_relaxed);
    if (n != 0) counts_[b].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t other_max = other.max_ns();
  uint64_t max = max_ns_.load(std::memory_order_relaxed);
  while (other_max > max &&
         !max_ns_.compare_exchange_weak(max, other_max, std::memory_order_relaxed)) {
  }
}

}  // namespace bench
