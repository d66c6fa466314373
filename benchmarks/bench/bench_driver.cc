#include "bench_driver.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "allocation_count.h"
#include "bench_report.h"
#include "closed_loop_load.h"
#include "common/bench_json.h"
#include "in_process_cluster.h"
#include "process_cluster.h"
#include "process_stats.h"

namespace bench {
namespace {

using std::chrono::steady_clock;

constexpr auto kLeaderTimeout = std::chrono::seconds(60);
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// Runs longer than this print a progress line every second.
constexpr double kProgressAfterSeconds = 5;

// Set by SIGINT/SIGTERM: end the run early but still clean up and report.
volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal) { g_stop_signal = signal; }

SteadyTime after_seconds(SteadyTime from, double seconds) {
  return from +
         std::chrono::duration_cast<steady_clock::duration>(std::chrono::duration<double>(seconds));
}

raft::Status wait_for_leaders(BenchCluster& cluster) {
  const auto deadline = steady_clock::now() + kLeaderTimeout;
  for (;;) {
    raft::Status s = cluster.refresh_leaders();
    if (s.ok() && cluster.leaders().all_known()) return raft::Status::OK();
    if (steady_clock::now() >= deadline) {
      return raft::Status::TimedOut("not every group elected a leader within 60 s" +
                                    (s.ok() ? std::string() : " (" + s.to_string() + ")"));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// One write to every group, until each succeeded: its leader then has committed an entry of
// its term, which reads need (they answer EAGAIN before), and the first measured operations
// do not pay for connection setup.
raft::Status prime_groups(BenchCluster& cluster, const std::string& payload) {
  const auto deadline = steady_clock::now() + kLeaderTimeout;
  std::vector<int> pending;
  for (int g = 0; g < cluster.leaders().groups(); ++g) pending.push_back(g);
  while (!pending.empty()) {
    std::vector<std::future<raft::Status>> outcomes;
    for (int group : pending) {
      auto outcome = std::make_shared<std::promise<raft::Status>>();
      outcomes.push_back(outcome->get_future());
      cluster.target()->write(group, payload,
                              [outcome](const raft::Status& s) { outcome->set_value(s); });
    }
    std::vector<int> failed;
    raft::Status last_error;
    for (size_t i = 0; i < pending.size(); ++i) {
      raft::Status s = outcomes[i].get();
      if (!s.ok()) {
        failed.push_back(pending[i]);
        last_error = s;
      }
    }
    if (failed.empty()) return raft::Status::OK();
    if (steady_clock::now() >= deadline) {
      return raft::Status::TimedOut(
          std::to_string(failed.size()) +
          " groups did not take a write within 60 s (last: " + last_error.to_string() + ")");
    }
    pending = std::move(failed);
    std::this_thread::sleep_for(kPollInterval);
    (void)cluster.refresh_leaders();
  }
  return raft::Status::OK();
}

raft::Result<std::unique_ptr<BenchCluster>> start_cluster(const BenchFlags& flags,
                                                          const std::string& data_dir) {
  if (flags.topology == Topology::kProcesses) {
    raft::Result<std::unique_ptr<ProcessCluster>> cluster = ProcessCluster::start(flags, data_dir);
    if (!cluster.ok()) return cluster.status();
    return std::unique_ptr<BenchCluster>(std::move(cluster).value());
  }
  raft::Result<std::unique_ptr<InProcessCluster>> cluster =
      InProcessCluster::start(flags, data_dir);
  if (!cluster.ok()) return cluster.status();
  return std::unique_ptr<BenchCluster>(std::move(cluster).value());
}

void print_header(const BenchFlags& flags) {
  const std::string preallocate =
      flags.cluster.log_preallocate == LogPreallocate::kAuto
          ? ""
          : " (preallocate " + std::string(log_preallocate_name(flags.cluster.log_preallocate)) +
                ")";
  std::printf("raft-bench: %s, %d replicas, %d group%s, %s log%s%s, election timeout %lld ms\n",
              std::string(topology_name(flags.topology)).c_str(), flags.cluster.replicas,
              flags.cluster.groups, flags.cluster.groups == 1 ? "" : "s",
              std::string(log_storage_name(flags.cluster.log_storage)).c_str(), preallocate.c_str(),
              flags.cluster.fsync ? " with fsync" : " without fsync",
              static_cast<long long>(flags.cluster.election_timeout_ms()));
  std::printf(
      "            %s workload (reads on the %s), %d clients on %d thread%s, "
      "%d-byte payloads, %.1f s after %.1f s warm-up, %u cores, %s malloc\n",
      std::string(workload_name(flags.workload)).c_str(),
      flags.read_on == ReadOn::kFollowers ? "followers" : "leader", flags.clients,
      flags.client_threads, flags.client_threads == 1 ? "" : "s", flags.payload_bytes,
      flags.seconds, flags.warmup_seconds, std::thread::hardware_concurrency(),
      malloc_name().c_str());
  if (flags.rate > 0) {
    std::printf(
        "            paced: %lld ops/s offered on a fixed schedule, latency from each "
        "operation's scheduled start\n",
        static_cast<long long>(flags.rate));
  }
  std::fflush(stdout);
}

void print_progress(steady_clock::duration elapsed, uint64_t ops_last_second,
                    const ClosedLoopLoad& load) {
  char p99[64] = "(warm-up)";
  if (load.latency().count() > 0) {
    std::snprintf(p99, sizeof(p99), "p99 so far %.2f ms",
                  static_cast<double>(load.latency().percentile_ns(99)) / 1e6);
  }
  std::printf("  %5.0f s  %8llu ops/s  %s\n", std::chrono::duration<double>(elapsed).count(),
              static_cast<unsigned long long>(ops_last_second), p99);
  std::fflush(stdout);
}

// Runs the load while the driver thread refreshes leaders, takes the usage snapshots at the
// window's edges and prints progress. Fills the load's part of `report`.
raft::Status run_load(const BenchFlags& flags, BenchCluster& cluster, BenchReport* report) {
  LoadOptions options;
  options.clients = flags.clients;
  options.client_threads = flags.client_threads;
  options.groups = flags.cluster.groups;
  options.read_fraction = flags.read_fraction();
  options.payload = std::string(static_cast<size_t>(flags.payload_bytes), 'x');
  options.rate = static_cast<double>(flags.rate);
  ClosedLoopLoad load(cluster.target(), options);

  const SteadyTime started = steady_clock::now();
  const SteadyTime measure_from = after_seconds(started, flags.warmup_seconds);
  const SteadyTime stop_at = after_seconds(measure_from, flags.seconds);
  const bool progress = flags.warmup_seconds + flags.seconds > kProgressAfterSeconds;
  load.start(measure_from, stop_at);

  std::optional<ClusterUsage> at_start;
  std::optional<uint64_t> allocations_at_start;
  SteadyTime next_tick = after_seconds(started, 1);
  uint64_t completed_at_tick = 0;
  SteadyTime ended = stop_at;
  for (;;) {
    const SteadyTime usage_due = at_start ? SteadyTime::max() : measure_from;
    std::this_thread::sleep_until(std::min({next_tick, stop_at, usage_due}));
    const SteadyTime now = steady_clock::now();
    if (!at_start && now >= measure_from) {
      raft::Result<ClusterUsage> usage = cluster.usage();
      if (!usage.ok()) return usage.status();
      at_start = *usage;
      allocations_at_start = allocation_count();
    }
    if (cluster.leaders().take_stale()) (void)cluster.refresh_leaders();
    if (g_stop_signal != 0) {
      ended = std::max(now, measure_from);
      load.request_stop();
      break;
    }
    if (now >= stop_at) break;
    if (now >= next_tick) {
      const uint64_t completed = load.completed();
      if (progress) print_progress(now - started, completed - completed_at_tick, load);
      completed_at_tick = completed;
      next_tick = after_seconds(next_tick, 1);
    }
  }
  const std::optional<uint64_t> allocations_at_end = allocation_count();
  raft::Result<ClusterUsage> at_end = cluster.usage();
  if (!at_end.ok()) return at_end.status();
  load.join();
  if (!at_start) at_start = *at_end;  // Stopped by a signal during the warm-up.

  report->seconds = std::chrono::duration<double>(std::min(ended, stop_at) - measure_from).count();
  report->writes = load.writes();
  report->reads = load.reads();
  report->failed = load.failed();
  for (ClosedLoopLoad::FailureCount& f : load.failed_by_code()) {
    report->failed_by_code.push_back({std::move(f.code), f.count, std::move(f.first_message)});
  }
  report->latency = summarize(load.latency());
  report->write_latency = summarize(load.write_latency());
  report->read_latency = summarize(load.read_latency());
  report->issue_lag = summarize(load.issue_lag());
  report->cpu_seconds = at_end->cpu_seconds - at_start->cpu_seconds;
  // Threads that exited during the window take their counts with them: clamp at zero.
  report->context_switches = at_end->context_switches > at_start->context_switches
                                 ? at_end->context_switches - at_start->context_switches
                                 : 0;
  const uint64_t synced_writes = at_end->synced_writes - at_start->synced_writes;
  const uint64_t synced_entries = at_end->synced_entries - at_start->synced_entries;
  if (flags.cluster.fsync && report->seconds > 0) {
    report->fsyncs_per_s = static_cast<double>(synced_writes) / report->seconds;
    if (synced_writes > 0) {
      report->entries_per_fsync =
          static_cast<double>(synced_entries) / static_cast<double>(synced_writes);
    }
  }
  if (flags.topology == Topology::kInProcess && allocations_at_start && allocations_at_end) {
    report->allocations = *allocations_at_end - *allocations_at_start;
  }
  report->rss_mb = cluster.peak_rss_mb();
  raft::Result<ResidentMemory> driver_memory = resident_memory(0);
  report->driver_rss_mb = driver_memory.ok() ? driver_memory->peak_rss_mb : 0;
  return raft::Status::OK();
}

}  // namespace

int run_driver(const BenchFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);

  std::string data_dir = flags.data_parent + "/raft-bench-XXXXXX";
  if (::mkdtemp(data_dir.data()) == nullptr) {
    std::fprintf(stderr, "raft-bench: --data: cannot create a directory in %s: %s\n",
                 flags.data_parent.c_str(), std::strerror(errno));
    return 2;
  }
  if (!flags.json_path.empty()) {
    // Refused now rather than after the whole run.
    if (std::FILE* json = std::fopen(flags.json_path.c_str(), "a")) {
      std::fclose(json);
    } else {
      std::fprintf(stderr, "raft-bench: --json: cannot open %s for appending: %s\n",
                   flags.json_path.c_str(), std::strerror(errno));
      std::filesystem::remove(data_dir);
      return 2;
    }
  }
  BenchReport report;
  report.flags = flags;
  report.started_at = utc_timestamp();
  print_header(flags);

  raft::Status outcome;
  {
    raft::Result<std::unique_ptr<BenchCluster>> cluster = start_cluster(flags, data_dir);
    outcome = cluster.status();
    if (outcome.ok()) outcome = wait_for_leaders(**cluster);
    const std::string payload(static_cast<size_t>(flags.payload_bytes), 'x');
    if (outcome.ok()) outcome = prime_groups(**cluster, payload);
    if (outcome.ok()) outcome = run_load(flags, **cluster, &report);
    if (cluster.ok()) (*cluster)->shutdown();
  }
  std::error_code ignored;
  std::filesystem::remove_all(data_dir, ignored);
  if (!outcome.ok()) {
    std::fprintf(stderr, "raft-bench: %s\n", outcome.to_string().c_str());
    return 1;
  }
  print_report(report, stdout);
  if (!flags.json_path.empty()) {
    if (raft::Status s = append_report_json(report, flags.json_path); !s.ok()) {
      std::fprintf(stderr, "raft-bench: %s\n", s.to_string().c_str());
      return 2;
    }
  }
  return 0;
}

}  // namespace bench
