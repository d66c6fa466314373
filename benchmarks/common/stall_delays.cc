#include "common/stall_delays.h"

#include <cmath>

namespace bench {

std::vector<double> delays_seen_by_arrivals(const std::vector<double>& late_ms, double sleep_ms) {
  std::vector<double> delays;
  auto slices = [](double ms) { return static_cast<long>(std::ceil(ms / kStallSliceMs)); };
  for (double late : late_ms) {
    const bool stall = late > kStallFromMs;
    const long quiet = slices(sleep_ms) + (stall ? 0 : slices(late));
    delays.insert(delays.end(), static_cast<size_t>(quiet), 0.0);
    if (!stall) continue;
    for (long slice = 0, n = slices(late); slice < n; ++slice) {
      delays.push_back(late - static_cast<double>(slice) * kStallSliceMs);
    }
  }
  return delays;
}

}  // namespace bench
