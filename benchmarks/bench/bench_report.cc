#include "bench_report.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/bench_json.h"

namespace bench {
namespace {

double ms(uint64_t nanos) { return static_cast<double>(nanos) / 1e6; }

// A JSON number with a few significant decimals, or null for a non-finite value.
std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[64];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string optional_number(const std::optional<double>& value) {
  return value ? number(*value) : "null";
}

JsonObject latency_json(const HistogramSummary& l) {
  return JsonObject()
      .add("p50", l.p50_ms)
      .add("p90", l.p90_ms)
      .add("p99", l.p99_ms)
      .add("p999", l.p999_ms)
      .add("max", l.max_ms);
}

// null when nothing was measured (the reads of a write workload).
void add_optional_latency(JsonObject& json, std::string_view key, const HistogramSummary& l) {
  if (l.count == 0) {
    json.add_null(key);
  } else {
    json.add(key, latency_json(l));
  }
}

// {"EBUSY": {"count": 12, "first_message": "..."}, ...}: empty when nothing failed.
JsonObject failed_by_code_json(const std::vector<BenchReport::Failures>& failures) {
  JsonObject json;
  for (const BenchReport::Failures& f : failures) {
    json.add(f.code, JsonObject().add("count", f.count).add("first_message", f.first_message));
  }
  return json;
}

JsonObject report_object(const BenchReport& r) {
  const BenchFlags& f = r.flags;
  double max_rss = 0;
  for (double mb : r.rss_mb) max_rss = std::max(max_rss, mb);
  JsonObject json;
  json.add("tool", "raft-bench")
      .add("target", "pontoon")
      .add("topology", topology_name(f.topology))
      .add("replicas", f.cluster.replicas)
      .add("groups", f.cluster.groups)
      .add("clients", f.clients);
  // null for a closed loop.
  if (f.rate > 0) {
    json.add("rate_ops_per_s", f.rate);
  } else {
    json.add_null("rate_ops_per_s");
  }
  json.add("client_threads", f.client_threads)
      .add("client_fibers", client_fibers_name(f.client_fibers))
      .add("workload", workload_name(f.workload))
      .add("read_on", read_on_name(f.read_on))
      .add("read_fraction", f.read_fraction())
      .add("payload_bytes", f.payload_bytes)
      .add("fsync", f.cluster.fsync)
      .add("log_storage", log_storage_name(f.cluster.log_storage))
      .add("log_preallocate", log_preallocate_name(f.cluster.log_preallocate))
      .add("election_timeout_ms", f.cluster.election_timeout_ms())
      .add("seconds", r.seconds)
      .add("ops", r.ops())
      .add("writes", r.writes)
      .add("reads", r.reads)
      .add("failed", r.failed)
      .add("failed_by_code", failed_by_code_json(r.failed_by_code))
      .add("ops_per_s", r.per_second(r.ops()))
      .add("writes_per_s", r.per_second(r.writes))
      .add("reads_per_s", r.per_second(r.reads))
      .add("latency_ms", latency_json(r.latency));
  add_optional_latency(json, "write_latency_ms", r.write_latency);
  add_optional_latency(json, "read_latency_ms", r.read_latency);
  add_optional_latency(json, "issue_lag_ms", r.issue_lag);
  json.add("cpu_s_per_1000_ops", r.cpu_s_per_1000_ops())
      .add("fsyncs_per_s", r.fsyncs_per_s)
      .add("entries_per_fsync", r.entries_per_fsync)
      .add("allocations_per_op", r.allocations_per_op())
      .add("context_switches_per_op", r.context_switches_per_op())
      .add("rss_mb", JsonObject().add("max", max_rss).add("per_process", r.rss_mb))
      .add("driver_rss_mb", r.driver_rss_mb)
      .add("malloc", malloc_name())
      .add("machine", machine_json())
      .add("started_at", r.started_at);
  return json;
}

}  // namespace

HistogramSummary summarize(const LatencyHistogram& histogram) {
  return {histogram.count(),
          ms(histogram.percentile_ns(50)),
          ms(histogram.percentile_ns(90)),
          ms(histogram.percentile_ns(99)),
          ms(histogram.percentile_ns(99.9)),
          ms(histogram.max_ns())};
}

double BenchReport::per_second(uint64_t count) const {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

std::optional<double> BenchReport::allocations_per_op() const {
  if (ops() == 0 || !allocations) return std::nullopt;
  return static_cast<double>(*allocations) / static_cast<double>(ops());
}

std::optional<double> BenchReport::context_switches_per_op() const {
  if (ops() == 0) return std::nullopt;
  return static_cast<double>(context_switches) / static_cast<double>(ops());
}

std::optional<double> BenchReport::cpu_s_per_1000_ops() const {
  if (ops() == 0) return std::nullopt;
  return cpu_seconds / (static_cast<double>(ops()) / 1000.0);
}

void print_report(const BenchReport& r, std::FILE* out) {
  std::fprintf(out, "\n  %10s %10s %10s %8s %8s %8s %8s %8s %8s\n", "ops/s", "writes/s", "reads/s",
               "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "failed");
  std::fprintf(out, "  %10.0f %10.0f %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8llu\n",
               r.per_second(r.ops()), r.per_second(r.writes), r.per_second(r.reads),
               r.latency.p50_ms, r.latency.p90_ms, r.latency.p99_ms, r.latency.p999_ms,
               r.latency.max_ms, static_cast<unsigned long long>(r.failed));
  if (!r.failed_by_code.empty()) {
    for (const BenchReport::Failures& f : r.failed_by_code) {
      std::fprintf(out, "  failed: %llu with %s, the first: %s\n",
                   static_cast<unsigned long long>(f.count), f.code.c_str(),
                   f.first_message.c_str());
    }
  }
  if (r.writes > 0 && r.reads > 0) {
    std::fprintf(out, "  writes: p50 %.2f ms, p99 %.2f ms; reads: p50 %.2f ms, p99 %.2f ms\n",
                 r.write_latency.p50_ms, r.write_latency.p99_ms, r.read_latency.p50_ms,
                 r.read_latency.p99_ms);
  }
  if (r.issue_lag.count > 0) {
    std::fprintf(out,
                 "  paced at %lld ops/s: issued late against the schedule by p50 %.2f ms, p99 %.2f "
                 "ms, max %.2f ms (part of the latency above)\n",
                 static_cast<long long>(r.flags.rate), r.issue_lag.p50_ms, r.issue_lag.p99_ms,
                 r.issue_lag.max_ms);
  }
  const std::optional<double> cpu = r.cpu_s_per_1000_ops();
  std::fprintf(out, "  %llu ops in %.2f s; CPU %.2f s (%s s per 1000 ops)",
               static_cast<unsigned long long>(r.ops()), r.seconds, r.cpu_seconds,
               cpu ? number(*cpu).c_str() : "-");
  if (r.fsyncs_per_s) {
    std::fprintf(out, "; %.0f fsyncs/s, %s entries per fsync", *r.fsyncs_per_s,
                 optional_number(r.entries_per_fsync).c_str());
  } else {
    std::fprintf(out, "; fsync off");
  }
  if (const std::optional<double> switches = r.context_switches_per_op()) {
    std::fprintf(out, "; %s context switches per op", number(*switches).c_str());
  }
  if (const std::optional<double> allocations = r.allocations_per_op()) {
    std::fprintf(out, "; %s allocations per op", number(*allocations).c_str());
  }
  std::string rss;
  for (double mb : r.rss_mb) rss += (rss.empty() ? "" : " ") + number(mb);
  std::fprintf(out, "; peak RSS MB: %s\n", rss.c_str());
}

std::string report_json(const BenchReport& r) { return report_object(r).str(); }

raft::Status append_report_json(const BenchReport& report, const std::string& path) {
  return append_json_line(path, report_object(report));
}

}  // namespace bench
