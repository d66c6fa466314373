// BenchReport: the numbers of one raft-bench run, printed as a table for people and appended
// as one JSON line (docs/benchmarks.md, "The result format") for benchmarks/report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_flags.h"
#include "latency_histogram.h"
#include "raft/status.h"

namespace bench {

struct HistogramSummary {
  uint64_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};
HistogramSummary summarize(const LatencyHistogram& histogram);

struct BenchReport {
  BenchFlags flags;
  std::string started_at;  // UTC, ISO 8601
  double seconds = 0;      // The measured window.
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t failed = 0;
  // `failed` by status code, the codes that occurred only: name, count, first message.
  struct Failures {
    std::string code;
    uint64_t count = 0;
    std::string first_message;
  };
  std::vector<Failures> failed_by_code;
  HistogramSummary latency;
  HistogramSummary write_latency;
  HistogramSummary read_latency;
  // Paced runs only (count 0 otherwise): ClosedLoopLoad::issue_lag().
  HistogramSummary issue_lag;
  double cpu_seconds = 0;  // Over the measured window, every process.
  // Context switches over the measured window, every thread of every process: each time a
  // thread waits for work and is woken again counts, so per op this counts the thread hand-offs
  // (and the disk waits) that an operation costs.
  uint64_t context_switches = 0;
  // Unset without fsync (nothing is counted then).
  std::optional<double> fsyncs_per_s;
  std::optional<double> entries_per_fsync;
  // Operator-new calls during the window in the driver's process (in-process: clients and
  // every replica); unset where not counted (allocation_count.h) or in the processes
  // topology, whose replicas allocate in their own processes.
  std::optional<uint64_t> allocations;
  std::vector<double> rss_mb;  // Peak, per process hosting replicas.
  double driver_rss_mb = 0;    // Peak of this process (the clients; in-process also replicas).

  uint64_t ops() const { return writes + reads; }
  double per_second(uint64_t count) const;
  // Unset before any operation.
  std::optional<double> cpu_s_per_1000_ops() const;
  std::optional<double> allocations_per_op() const;
  std::optional<double> context_switches_per_op() const;
};

// The table at the end of a run.
void print_report(const BenchReport& report, std::FILE* out);
// One JSON object (no newline).
std::string report_json(const BenchReport& report);
// Appends report_json() and a newline to `path`. EIO naming the path.
raft::Status append_report_json(const BenchReport& report, const std::string& path);

}  // namespace bench
