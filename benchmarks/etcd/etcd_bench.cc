// etcd-bench: the same closed-loop workloads as raft-bench, against a local 3-member etcd.
//
// Starts an EtcdCluster (etcd_cluster.h) on 127.0.0.1, waits until every member reports
// healthy, then for each workload and client count runs closed-loop clients over etcd's v3
// JSON gateway (HTTP/1.1 keep-alive, POST /v3/kv/put and /v3/kv/range with base64 keys and
// values; etcd 3.4 serves it under /v3/). Each client keeps one request in flight:
//   write                   puts of --payload-bytes values to random keys of --keys;
//   etcd-linearizable-read  nine linearizable ranges (etcd's default) to every put.
// A warm-up precedes every measured window. Reports throughput, latency percentiles, the etcd
// processes' CPU per 1000 ops (/proc/PID/stat) and their peak RSS, as a table and as JSON lines
// (docs/benchmarks.md, "The result format"); stops the cluster and removes its directory at the
// end, on an error, and on SIGINT/SIGTERM.
//
// The clients are coroutines on --client-threads Asio threads. The benchmark measures its own
// CPU too and warns when it kept its threads busy most of the window: then the client, not etcd,
// may be what limits the numbers.
//
//   etcd-bench [--clients 1,16,64,256,1024] [--workloads write,etcd-linearizable-read]
//              [--seconds 10] [--warmup-seconds 1] [--payload-bytes 256] [--keys 10000]
//              [--endpoints leader|all] [--client-threads 1] [--base-port 17300]
//              [--quota-backend-bytes 4294967296] [--etcd etcd] [--json PATH]
//
// Exit codes: 0 done, 1 etcd failed (did not start, became unhealthy), 2 usage (including
// etcd not installed: Debian's etcd-server package, see scripts/install-deps.sh).
#include <utility>  // Boost 1.74's awaitable.hpp needs it first.

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_json.h"
#include "etcd/etcd_cluster.h"
#include "etcd/http_connection.h"
#include "raft/cli/flag_parser.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using bench::etcd::HttpConnection;
using bench::etcd::HttpResponse;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "etcd-bench";

struct Flags {
  std::vector<int> clients = {1, 16, 64, 256, 1024};
  std::vector<std::string> workloads = {"write", "etcd-linearizable-read"};
  int seconds = 10;
  int warmup_seconds = 1;
  int payload_bytes = 256;
  int keys = 10000;
  bool leader_only = true;
  int client_threads = 1;
  bench::etcd::EtcdClusterOptions cluster;
  std::string json;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", kProgram, why.c_str());
  std::exit(2);
}

std::vector<std::string> split(const std::string& text, char separator = ',') {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

int64_t integer_flag(const raft::cli::FlagParser& parser, const std::string& flag, int64_t fallback,
                     int64_t min, int64_t max) {
  auto value = parser.integer(flag, fallback, min, max);
  if (!value.ok()) usage(value.status().to_string());
  return value.value();
}

// True if `binary` names an executable file, directly or through $PATH.
bool executable_exists(const std::string& binary) {
  if (binary.find('/') != std::string::npos) return access(binary.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  for (const std::string& dir : split(path ? path : "", ':')) {
    if (!dir.empty() && access((dir + "/" + binary).c_str(), X_OK) == 0) return true;
  }
  return false;
}

Flags parse_flags(int argc, char** argv) {
  raft::cli::FlagParser parser({"--clients", "--workloads", "--seconds", "--warmup-seconds",
                                "--payload-bytes", "--keys", "--endpoints", "--client-threads",
                                "--base-port", "--quota-backend-bytes", "--etcd", "--json"});
  raft::Status parsed = parser.parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) usage(parsed.to_string());
  if (!parser.positional().empty()) usage("unexpected argument '" + parser.positional()[0] + "'");
  Flags flags;
  if (auto clients = parser.get("--clients")) {
    flags.clients.clear();
    for (const std::string& part : split(*clients)) {
      auto n = raft::cli::parse_int64(part);
      if (!n || *n < 1 || *n > 10000) {
        usage("--clients must be a comma-separated list of integers in [1, 10000], got '" +
              *clients + "'");
      }
      flags.clients.push_back(static_cast<int>(*n));
    }
  }
  if (auto workloads = parser.get("--workloads")) {
    flags.workloads = split(*workloads);
    for (const std::string& w : flags.workloads) {
      if (w != "write" && w != "etcd-linearizable-read") {
        usage("--workloads must list write and/or etcd-linearizable-read, got '" + w + "'");
      }
    }
    if (flags.workloads.empty()) usage("--workloads must not be empty");
  }
  flags.seconds = static_cast<int>(integer_flag(parser, "--seconds", 10, 1, 3600));
  flags.warmup_seconds = static_cast<int>(integer_flag(parser, "--warmup-seconds", 1, 0, 600));
  flags.payload_bytes = static_cast<int>(integer_flag(parser, "--payload-bytes", 256, 0, 1 << 20));
  flags.keys = static_cast<int>(integer_flag(parser, "--keys", 10000, 1, 10'000'000));
  flags.client_threads = static_cast<int>(integer_flag(parser, "--client-threads", 1, 1, 64));
  flags.cluster.base_port =
      static_cast<int>(integer_flag(parser, "--base-port", 17300, 1024, 32762));
  flags.cluster.quota_backend_bytes =
      integer_flag(parser, "--quota-backend-bytes", int64_t{4} << 30, 16 << 20, int64_t{8} << 30);
  const std::string endpoints = parser.get("--endpoints").value_or("leader");
  if (endpoints != "leader" && endpoints != "all") {
    usage("--endpoints must be leader or all, got '" + endpoints + "'");
  }
  flags.leader_only = endpoints == "leader";
  flags.cluster.etcd_binary = parser.get("--etcd").value_or("etcd");
  if (!executable_exists(flags.cluster.etcd_binary)) {
    usage("--etcd: '" + flags.cluster.etcd_binary +
          "' not found; install Debian's etcd-server package (scripts/install-deps.sh)");
  }
  const char* tmp = std::getenv("TMPDIR");
  flags.cluster.temp_parent = tmp && *tmp ? tmp : "/tmp";
  flags.json = parser.get("--json").value_or("");
  return flags;
}

// Set by SIGINT/SIGTERM; every wait checks it.
std::atomic<bool> g_interrupted{false};

double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

tcp::endpoint local_endpoint(int port) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
}

asio::awaitable<void> pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(asio::use_awaitable);
}

// The text of JSON string field `name` in `body` ("" if absent): enough for etcd's ids.
std::string json_string_field(const std::string& body, const std::string& name) {
  const std::string marker = "\"" + name + "\":\"";
  const size_t start = body.find(marker);
  if (start == std::string::npos) return "";
  const size_t end = body.find('"', start + marker.size());
  return body.substr(start + marker.size(), end - start - marker.size());
}

// Everything one run's clients share. Held by shared_ptr so that a client still finishing its
// last request after the run gave up waiting for it touches nothing freed.
struct RunState {
  struct ClientStats {
    uint64_t writes = 0, reads = 0, failed = 0;
    std::vector<double> latency_ms;
    std::string first_error;
  };
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<int> finished{0};
  std::vector<ClientStats> clients;
  // Read-only while the run lasts.
  std::vector<std::string> range_bodies;  // One per key.
  std::vector<std::string> put_bodies;    // One per key.
  double read_fraction = 0;
};

asio::awaitable<void> client_loop(std::shared_ptr<RunState> state, int index,
                                  tcp::endpoint server) {
  HttpConnection connection(co_await asio::this_coro::executor, server);
  RunState::ClientStats& stats = state->clients[index];
  std::mt19937_64 random(0x5eed + static_cast<uint64_t>(index));
  // Exactly nine reads to a write in every ten operations, with the write's place varying.
  const bool mixed = state->read_fraction > 0;
  uint64_t op = random() % 10;
  while (!state->stop.load(std::memory_order_relaxed)) {
    const size_t key = random() % state->put_bodies.size();
    const bool is_read = mixed && ++op % 10 != 0;
    const Clock::time_point start = Clock::now();
    // One co_await on one call: GCC 12 destroys the result twice when a conditional
    // expression has a co_await in each branch.
    const std::string_view path = is_read ? "/v3/kv/range" : "/v3/kv/put";
    const std::string& body = is_read ? state->range_bodies[key] : state->put_bodies[key];
    HttpResponse response = co_await connection.request("POST", path, body);
    const double latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (state->measuring.load(std::memory_order_relaxed)) {
      if (response.ok()) {
        ++(is_read ? stats.reads : stats.writes);
        stats.latency_ms.push_back(latency_ms);
      } else {
        ++stats.failed;
      }
    }
    if (!response.ok() && stats.first_error.empty()) {
      stats.first_error = response.error ? response.error_detail
                                         : "HTTP " + std::to_string(response.status) + ": " +
                                               response.body.substr(0, 200);
    }
    // A refused connection would otherwise spin.
    if (response.error) co_await pause(std::chrono::milliseconds(10));
  }
  state->finished.fetch_add(1);
}

// Polls every member's /health until all say true. EIO naming the member otherwise.
asio::awaitable<raft::Status> wait_healthy(bench::etcd::EtcdCluster& cluster) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  auto executor = co_await asio::this_coro::executor;
  for (int i = 0; i < cluster.members(); ++i) {
    HttpConnection connection(executor, local_endpoint(cluster.client_port(i)));
    for (;;) {
      if (g_interrupted) co_return raft::Status::Shutdown("interrupted");
      if (cluster.exited(i)) {
        co_return raft::Status::IoError("etcd member " + std::to_string(i) +
                                        " exited; its log ends:\n" + cluster.log_tail(i));
      }
      HttpResponse health = co_await connection.request("GET", "/health", "");
      if (health.ok() && health.body.find("\"true\"") != std::string::npos) break;
      if (Clock::now() > deadline) {
        co_return raft::Status::IoError("etcd member " + std::to_string(i) +
                                        " not healthy after 30 s; its log ends:\n" +
                                        cluster.log_tail(i));
      }
      co_await pause(std::chrono::milliseconds(100));
    }
  }
  co_return raft::Status::OK();
}

// The index of the member that is the leader, or -1.
asio::awaitable<int> find_leader(bench::etcd::EtcdCluster& cluster) {
  auto executor = co_await asio::this_coro::executor;
  for (int i = 0; i < cluster.members(); ++i) {
    HttpConnection connection(executor, local_endpoint(cluster.client_port(i)));
    HttpResponse status = co_await connection.request("POST", "/v3/maintenance/status", "{}");
    if (!status.ok()) continue;
    const std::string leader = json_string_field(status.body, "leader");
    if (!leader.empty() && leader == json_string_field(status.body, "member_id")) co_return i;
  }
  co_return -1;
}

// The WAL fsyncs all members have done so far, from etcd's own metrics (the _count of the
// etcd_disk_wal_fsync_duration_seconds histogram on /metrics); nothing if a member does not
// answer or does not report it.
asio::awaitable<std::optional<double>> wal_fsyncs(const bench::etcd::EtcdCluster& cluster) {
  static const std::string kCounter = "\netcd_disk_wal_fsync_duration_seconds_count ";
  auto executor = co_await asio::this_coro::executor;
  double total = 0;
  for (int i = 0; i < cluster.members(); ++i) {
    HttpConnection connection(executor, local_endpoint(cluster.client_port(i)));
    HttpResponse metrics = co_await connection.request("GET", "/metrics", "");
    const size_t at = metrics.ok() ? metrics.body.find(kCounter) : std::string::npos;
    if (at == std::string::npos) co_return std::nullopt;
    total += std::atof(metrics.body.c_str() + at + kCounter.size());
  }
  co_return total;
}

struct RunResult {
  std::string workload;
  int clients = 0;
  double read_fraction = 0;
  double seconds = 0;
  uint64_t writes = 0, reads = 0, failed = 0;
  bench::LatencySummary latency;
  double etcd_cpu_s = 0;
  double client_cpu_s = 0;
  std::optional<double> wal_fsyncs;  // All members together, over the window.
  std::vector<double> rss_max_mb;
  std::string first_error;
  bool interrupted = false;
};

// Waits `seconds` in short steps (so SIGINT is noticed), taking the RSS maximum as it goes.
asio::awaitable<void> wait_sampling(const bench::etcd::EtcdCluster& cluster, int seconds,
                                    std::vector<double>* rss_max_mb) {
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end && !g_interrupted) {
    co_await pause(std::chrono::milliseconds(100));
    if (rss_max_mb == nullptr) continue;
    const auto samples = cluster.sample();
    for (size_t i = 0; i < samples.size(); ++i) {
      (*rss_max_mb)[i] = std::max((*rss_max_mb)[i], samples[i].rss_mb);
    }
  }
}

double total_cpu_s(const std::vector<bench::etcd::ProcessSample>& samples) {
  double total = 0;
  for (const auto& s : samples) total += s.cpu_s;
  return total;
}

asio::awaitable<RunResult> run_workload(const Flags& flags, bench::etcd::EtcdCluster& cluster,
                                        int leader, const std::string& workload, int clients) {
  auto state = std::make_shared<RunState>();
  state->read_fraction = workload == "write" ? 0.0 : 0.9;
  state->clients.resize(static_cast<size_t>(clients));
  const std::string value = bench::etcd::base64_encode(std::string(flags.payload_bytes, 'v'));
  for (int k = 0; k < flags.keys; ++k) {
    const std::string key = bench::etcd::base64_encode("etcd-bench/" + std::to_string(k));
    state->range_bodies.push_back("{\"key\":\"" + key + "\"}");
    state->put_bodies.push_back("{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}");
  }
  auto executor = co_await asio::this_coro::executor;
  for (int c = 0; c < clients; ++c) {
    const int member = flags.leader_only ? leader : c % cluster.members();
    asio::co_spawn(executor, client_loop(state, c, local_endpoint(cluster.client_port(member))),
                   asio::detached);
  }
  RunResult result;
  result.workload = workload;
  result.clients = clients;
  result.read_fraction = state->read_fraction;
  result.rss_max_mb.assign(static_cast<size_t>(cluster.members()), 0.0);
  co_await wait_sampling(cluster, flags.warmup_seconds, nullptr);
  const std::optional<double> fsyncs_before = co_await wal_fsyncs(cluster);
  const double etcd_cpu_before = total_cpu_s(cluster.sample());
  const double client_cpu_before = process_cpu_s();
  const Clock::time_point start = Clock::now();
  state->measuring = true;
  co_await wait_sampling(cluster, flags.seconds, &result.rss_max_mb);
  state->measuring = false;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.etcd_cpu_s = total_cpu_s(cluster.sample()) - etcd_cpu_before;
  result.client_cpu_s = process_cpu_s() - client_cpu_before;
  const std::optional<double> fsyncs_after = co_await wal_fsyncs(cluster);
  if (fsyncs_before && fsyncs_after) result.wal_fsyncs = *fsyncs_after - *fsyncs_before;
  result.interrupted = g_interrupted;
  state->stop = true;
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(10);
  while (state->finished.load() < clients && Clock::now() < give_up) {
    co_await pause(std::chrono::milliseconds(10));
  }
  std::vector<double> latencies;
  for (RunState::ClientStats& c : state->clients) {
    result.writes += c.writes;
    result.reads += c.reads;
    result.failed += c.failed;
    latencies.insert(latencies.end(), c.latency_ms.begin(), c.latency_ms.end());
    if (result.first_error.empty()) result.first_error = c.first_error;
  }
  result.latency = bench::LatencySummary::of(latencies);
  co_return result;
}

void print_header() {
  std::printf("%-24s %7s %10s %10s %8s %8s %8s %8s %8s %12s %9s %8s %9s %9s\n", "workload",
              "clients", "ops/s", "writes/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "failed",
              "cpu s/1k ops", "client %", "rss MB", "fsyncs/s", "wr/fsync");
}

void report(const Flags& flags, const RunResult& r) {
  const uint64_t ops = r.writes + r.reads;
  const double ops_per_s = static_cast<double>(ops) / r.seconds;
  const double cpu_per_1000 = ops ? r.etcd_cpu_s * 1000.0 / static_cast<double>(ops) : 0.0;
  // How busy the client threads were: near 100% means the client may be the bottleneck.
  const double client_utilization = r.client_cpu_s / r.seconds / flags.client_threads;
  const double rss_max = *std::max_element(r.rss_max_mb.begin(), r.rss_max_mb.end());
  // Per member: each member fsyncs its own WAL, so this is comparable with one replica's.
  std::optional<double> fsyncs_per_s, writes_per_fsync;
  if (r.wal_fsyncs) {
    const double per_member = *r.wal_fsyncs / flags.cluster.members;
    fsyncs_per_s = per_member / r.seconds;
    if (per_member > 0) writes_per_fsync = static_cast<double>(r.writes) / per_member;
  }
  std::printf(
      "%-24s %7d %10.0f %10.0f %8.2f %8.2f %8.2f %8.2f %8llu %12.3f %8.0f%% %8.1f %9.0f %9.2f\n",
      r.workload.c_str(), r.clients, ops_per_s, static_cast<double>(r.writes) / r.seconds,
      r.latency.p50, r.latency.p90, r.latency.p99, r.latency.p999,
      static_cast<unsigned long long>(r.failed), cpu_per_1000, client_utilization * 100, rss_max,
      fsyncs_per_s.value_or(0), writes_per_fsync.value_or(0));
  if (r.failed > 0) std::printf("  first failure: %s\n", r.first_error.c_str());
  if (client_utilization > 0.9) {
    std::printf("  warning: the client threads were %.0f%% busy; add --client-threads\n",
                client_utilization * 100);
  }
  std::fflush(stdout);
  if (flags.json.empty()) return;
  bench::JsonObject rss;
  rss.add("max", rss_max).add("per_process", r.rss_max_mb);
  bench::JsonObject line;
  line.add("tool", "etcd-bench")
      .add("target", "etcd")
      .add("topology", "processes")
      .add("replicas", flags.cluster.members)
      .add("groups", 1)
      .add("clients", r.clients)
      .add("workload", r.workload)
      .add("read_fraction", r.read_fraction)
      .add("payload_bytes", flags.payload_bytes)
      .add("fsync", true)
      .add("log_storage", "etcd")
      .add("seconds", r.seconds)
      .add("ops", ops)
      .add("writes", r.writes)
      .add("reads", r.reads)
      .add("failed", r.failed)
      .add("ops_per_s", ops_per_s)
      .add("writes_per_s", static_cast<double>(r.writes) / r.seconds)
      .add("reads_per_s", static_cast<double>(r.reads) / r.seconds)
      .add("latency_ms", r.latency.json())
      .add("cpu_s_per_1000_ops", cpu_per_1000)
      .add_null("fsyncs_per_s")
      .add_null("entries_per_fsync")
      .add("rss_mb", rss)
      // etcd's own WAL fsync count, per member; fsyncs_per_s stays null because its meaning
      // for raft-bench (which fsyncs are counted) is raft-bench's to define.
      .add("etcd_wal_fsyncs_per_s_per_member", fsyncs_per_s)
      .add("etcd_writes_per_wal_fsync", writes_per_fsync)
      .add("endpoints", flags.leader_only ? "leader" : "all")
      .add("client_threads", flags.client_threads)
      .add("client_cpu_utilization", client_utilization)
      .add("interrupted", r.interrupted);
  bench::write_result_line(kProgram, flags.json, std::move(line));
}

asio::awaitable<int> run_all(const Flags& flags, bench::etcd::EtcdCluster& cluster) {
  if (raft::Status started = cluster.start(); !started.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, started.to_string().c_str());
    co_return started.code() == raft::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (raft::Status healthy = co_await wait_healthy(cluster); !healthy.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, healthy.to_string().c_str());
    co_return 1;
  }
  const int leader = co_await find_leader(cluster);
  if (leader < 0) {
    std::fprintf(stderr, "%s: no etcd member reports itself as the leader\n", kProgram);
    co_return 1;
  }
  std::printf(
      "etcd cluster of %d in %s (leader: member %d), clients to %s, %d client thread(s), "
      "%d s per run after %d s warm-up, %d-byte values\n\n",
      cluster.members(), cluster.work_dir().c_str(), leader,
      flags.leader_only ? "the leader" : "all members", flags.client_threads, flags.seconds,
      flags.warmup_seconds, flags.payload_bytes);
  print_header();
  for (const std::string& workload : flags.workloads) {
    for (int clients : flags.clients) {
      if (g_interrupted) co_return 130;
      RunResult result = co_await run_workload(flags, cluster, leader, workload, clients);
      if (result.interrupted) co_return 130;
      report(flags, result);
      for (int i = 0; i < cluster.members(); ++i) {
        if (cluster.exited(i)) {
          std::fprintf(stderr, "%s: etcd member %d exited; its log ends:\n%s", kProgram, i,
                       cluster.log_tail(i).c_str());
          co_return 1;
        }
      }
    }
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  bench::etcd::EtcdCluster cluster(flags.cluster);
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code& ec, int) {
    if (!ec) g_interrupted = true;
  });
  int exit_code = 1;
  asio::co_spawn(io, run_all(flags, cluster), [&](std::exception_ptr error, int code) {
    exit_code = code;
    if (error) {
      // Asio reports only resource exhaustion this way (e.g. no file descriptors left).
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
      }
      exit_code = 1;
    }
    io.stop();
  });
  std::vector<std::thread> threads;
  for (int t = 1; t < flags.client_threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : threads) t.join();
  cluster.stop();
  if (exit_code == 130)
    std::fprintf(stderr, "%s: interrupted; etcd stopped and removed\n", kProgram);
  return exit_code;
}
