#include "bench_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

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

// `text` as a JSON string. The values are flags' names and uname fields: escaping quotes,
// backslashes and control characters is all that is needed.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", c);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string latency_json(const LatencySummary& l) {
  return "{\"p50\": " + number(l.p50_ms) + ", \"p90\": " + number(l.p90_ms) +
         ", \"p99\": " + number(l.p99_ms) + ", \"p999\": " + number(l.p999_ms) +
         ", \"max\": " + number(l.max_ms) + "}";
}

// null when nothing was measured (the reads of a write workload).
std::string optional_latency_json(const LatencySummary& l) {
  return l.count == 0 ? "null" : latency_json(l);
}

std::string machine_json() {
  utsname names{};
  ::uname(&names);
  return "{\"cores\": " + std::to_string(std::thread::hardware_concurrency()) +
         ", \"kernel\": " + quoted(names.release) + ", \"hostname\": " + quoted(names.nodename) +
         "}";
}

}  // namespace

LatencySummary summarize(const LatencyHistogram& histogram) {
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

std::optional<double> BenchReport::cpu_s_per_1000_ops() const {
  if (ops() == 0) return std::nullopt;
  return cpu_seconds / (static_cast<double>(ops()) / 1000.0);
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void print_report(const BenchReport& r, std::FILE* out) {
  std::fprintf(out, "\n  %10s %10s %10s %8s %8s %8s %8s %8s %8s\n", "ops/s", "writes/s", "reads/s",
               "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "failed");
  std::fprintf(out, "  %10.0f %10.0f %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8llu\n",
               r.per_second(r.ops()), r.per_second(r.writes), r.per_second(r.reads),
               r.latency.p50_ms, r.latency.p90_ms, r.latency.p99_ms, r.latency.p999_ms,
               r.latency.max_ms, static_cast<unsigned long long>(r.failed));
  if (r.writes > 0 && r.reads > 0) {
    std::fprintf(out, "  writes: p50 %.2f ms, p99 %.2f ms; reads: p50 %.2f ms, p99 %.2f ms\n",
                 r.write_latency.p50_ms, r.write_latency.p99_ms, r.read_latency.p50_ms,
                 r.read_latency.p99_ms);
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
  std::string rss;
  for (double mb : r.rss_mb) rss += (rss.empty() ? "" : " ") + number(mb);
  std::fprintf(out, "; peak RSS MB: %s\n", rss.c_str());
}

std::string report_json(const BenchReport& r) {
  const BenchFlags& f = r.flags;
  double max_rss = 0;
  std::string per_process;
  for (double mb : r.rss_mb) {
    max_rss = std::max(max_rss, mb);
    per_process += (per_process.empty() ? "" : ", ") + number(mb);
  }
  std::ostringstream json;
  json << "{\"tool\": \"raft-bench\", \"target\": \"pontoon\""
       << ", \"topology\": " << quoted(std::string(topology_name(f.topology)))
       << ", \"replicas\": " << f.cluster.replicas << ", \"groups\": " << f.cluster.groups
       << ", \"clients\": " << f.clients << ", \"client_threads\": " << f.client_threads
       << ", \"workload\": " << quoted(std::string(workload_name(f.workload)))
       << ", \"read_on\": " << quoted(std::string(read_on_name(f.read_on)))
       << ", \"read_fraction\": " << number(f.read_fraction())
       << ", \"payload_bytes\": " << f.payload_bytes
       << ", \"fsync\": " << (f.cluster.fsync ? "true" : "false")
       << ", \"log_storage\": " << quoted(std::string(log_storage_name(f.cluster.log_storage)))
       << ", \"election_timeout_ms\": " << f.cluster.election_timeout_ms()
       << ", \"seconds\": " << number(r.seconds) << ", \"ops\": " << r.ops()
       << ", \"writes\": " << r.writes << ", \"reads\": " << r.reads << ", \"failed\": " << r.failed
       << ", \"ops_per_s\": " << number(r.per_second(r.ops()))
       << ", \"writes_per_s\": " << number(r.per_second(r.writes))
       << ", \"reads_per_s\": " << number(r.per_second(r.reads))
       << ", \"latency_ms\": " << latency_json(r.latency)
       << ", \"write_latency_ms\": " << optional_latency_json(r.write_latency)
       << ", \"read_latency_ms\": " << optional_latency_json(r.read_latency)
       << ", \"cpu_s_per_1000_ops\": " << optional_number(r.cpu_s_per_1000_ops())
       << ", \"fsyncs_per_s\": " << optional_number(r.fsyncs_per_s)
       << ", \"entries_per_fsync\": " << optional_number(r.entries_per_fsync)
       << ", \"rss_mb\": {\"max\": " << number(max_rss) << ", \"per_process\": [" << per_process
       << "]}, \"driver_rss_mb\": " << number(r.driver_rss_mb)
       << ", \"machine\": " << machine_json() << ", \"started_at\": " << quoted(r.started_at)
       << "}";
  return json.str();
}

raft::Status append_report_json(const BenchReport& report, const std::string& path) {
  std::ofstream out(path, std::ios::app);
  if (!out) {
    return raft::Status::IoError("--json: cannot open " + path + ": " + std::strerror(errno));
  }
  out << report_json(report) << '\n';
  out.flush();
  if (!out) return raft::Status::IoError("--json: cannot write " + path);
  return raft::Status::OK();
}

}  // namespace bench
