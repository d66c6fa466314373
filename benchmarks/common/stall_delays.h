// What a machine's stalls cost requests that arrive at random moments.
//
// A probe thread that sleeps a fixed time in a loop and records how late it woke sees a stall
// that freezes every thread for L ms as one late wake-up; the percentiles of those wake-ups
// hide how many requests such a stall reaches, since every request arriving during it waits
// for the rest of it. Weighting by time recovers that: these helpers turn a probe's lateness
// samples into one delay per slice of its wall time, which is what a request arriving in that
// slice would wait for the stall alone.
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

namespace bench {

// The wall time each delay sample stands for.
inline constexpr double kStallSliceMs = 0.05;
// Later than this, a wake-up was a stall rather than ordinary scheduling.
inline constexpr double kStallFromMs = 0.5;

// One delay per kStallSliceMs of the probe's wall time: 0 during each `sleep_ms` sleep and
// each on-time (at most kStallFromMs late) wake-up; inside a stall of L ms the rest of it, from
// L down to near 0. REQUIRES: sleep_ms > 0; late_ms >= 0 each.
std::vector<double> delays_seen_by_arrivals(const std::vector<double>& late_ms, double sleep_ms);

}  // namespace bench
