// The driver of one raft-bench run: starts the cluster in the chosen topology, waits until
// every group has a leader that has committed an entry of its term, runs the closed-loop load
// (warm-up, then the measured window, with a progress line every second on long runs),
// collects the numbers, stops the cluster, removes its data directory and reports.
#pragma once

#include "bench_flags.h"

namespace bench {

// Returns the process exit code: 0 after a run (even one whose operations failed: the report
// says so), 1 if the cluster could not be started, 2 if --data or --json is unusable.
int run_driver(const BenchFlags& flags);

}  // namespace bench
