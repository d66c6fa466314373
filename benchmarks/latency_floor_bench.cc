// latency-floor-bench: what this machine itself costs one replicated write, before any Raft code
// runs: the lower bound a single client's write latency is judged against.
//
// A write of one closed-loop client to a cluster of R replica processes on one machine takes,
// at the least, four messages (client to leader, leader to follower, follower to leader, leader
// to client: two loopback round trips) and the fsyncs a majority needs. Those fsyncs share one
// disk: with R replicas writing at once, the write is durable on a majority when the
// majority-th of R concurrent fdatasyncs returns, and on a disk that serves flushes one at a
// time that is later than one fdatasync alone. The probes:
//
//   fsync-alone    one thread: pwrite `--record-bytes` into a zero-filled, synced file, then
//                  fdatasync (what a preallocated log segment costs a replica writing alone).
//   fsync-quorum   R threads, each with its own such file, start a pwrite+fdatasync together
//                  each round; the round's majority latency is from the first thread's start
//                  to the majority-th completion, its all latency to the last.
//   rtt            a 64-byte ping-pong over loopback TCP (TCP_NODELAY) between this process and
//                  a forked child: one round trip, with the wake-up of a sleeping receiver on
//                  each side, as between two replica processes.
//   oversleep-*    a thread that sleeps 0.5 ms in a loop and records how much later than that
//                  it woke: on an idle machine (-idle); while one thread per core spins
//                  (-cpu-busy); and while they spin and R writers pwrite+fdatasync their files
//                  back to back (-cpu-busy+fsync). No Raft code, no locks, no IO on the
//                  sleeping thread: a late wake-up there is the machine stalling every thread,
//                  and a loaded cluster's p99 cannot be below the stalls it suffers.
//   stall-seen-by-arrival  the -cpu-busy+fsync probe weighted by time: what a request
//                  arriving at a random moment waits for the stalls
//                  (common/stall_delays.h).
//
// It prints each probe's percentiles and two floors for one client's write:
//   issue bound   fsync-alone + fsync-alone + rtt (p50s): "one fsync plus one round trip above
//                 the bare fsync latency"
//   topology      fsync-quorum majority + 2 x rtt (p50s): the four messages and the majority's
//                 fsyncs on the shared disk, with nothing else on the path.
//
//   latency-floor-bench [--dir DIR] [--seconds-per-probe 2] [--replicas 3] [--record-bytes 64]
//                       [--json PATH]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_json.h"
#include "common/stall_delays.h"
#include "raft/cli/flag_parser.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string dir;
  double seconds_per_probe = 2;
  int replicas = 3;
  int record_bytes = 64;
  std::string json;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "latency-floor-bench: %s\n", why.c_str());
  std::exit(2);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "latency-floor-bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

Flags parse_flags(int argc, char** argv) {
  raft::cli::FlagParser parser(
      {"--dir", "--seconds-per-probe", "--replicas", "--record-bytes", "--json"});
  raft::Status parsed = parser.parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) usage(parsed.to_string());
  if (!parser.positional().empty()) usage("unexpected argument '" + parser.positional()[0] + "'");
  Flags flags;
  flags.dir = parser.get("--dir").value_or("");
  flags.json = parser.get("--json").value_or("");
  auto seconds = parser.integer("--seconds-per-probe", 2, 1, 600);
  if (!seconds.ok()) usage(seconds.status().to_string());
  flags.seconds_per_probe = static_cast<double>(seconds.value());
  auto replicas = parser.integer("--replicas", 3, 1, 9);
  if (!replicas.ok()) usage(replicas.status().to_string());
  flags.replicas = static_cast<int>(replicas.value());
  auto record = parser.integer("--record-bytes", 64, 1, 1 << 20);
  if (!record.ok()) usage(record.status().to_string());
  flags.record_bytes = static_cast<int>(record.value());
  return flags;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Clock::time_point deadline_after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// A file written with zeros up to its size and synced, so that a later fdatasync of a write
// into it flushes data only, as in a preallocated log segment.
class ZeroFilledFile {
 public:
  static constexpr off_t kBytes = 64 << 20;

  explicit ZeroFilledFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) fail("open " + path);
    const std::string zeros(1 << 20, '\0');
    for (off_t at = 0; at < kBytes; at += static_cast<off_t>(zeros.size())) {
      if (::pwrite(fd_, zeros.data(), zeros.size(), at) != static_cast<ssize_t>(zeros.size())) {
        fail("zero-fill " + path);
      }
    }
    if (::fsync(fd_) != 0) fail("fsync " + path);
  }
  ~ZeroFilledFile() { ::close(fd_); }
  ZeroFilledFile(const ZeroFilledFile&) = delete;
  ZeroFilledFile& operator=(const ZeroFilledFile&) = delete;

  // Writes the next record and fdatasyncs it; false once the file is full.
  bool append_synced(const std::string& record) {
    if (offset_ + static_cast<off_t>(record.size()) > kBytes) return false;
    if (::pwrite(fd_, record.data(), record.size(), offset_) !=
            static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd_) != 0) {
      fail("pwrite/fdatasync");
    }
    offset_ += static_cast<off_t>(record.size());
    return true;
  }

 private:
  int fd_ = -1;
  off_t offset_ = 0;
};

std::vector<double> probe_fsync_alone(const std::string& dir, const Flags& flags) {
  ZeroFilledFile file(dir + "/alone");
  const std::string record(static_cast<size_t>(flags.record_bytes), 'x');
  std::vector<double> latency_ms;
  const Clock::time_point end = deadline_after(flags.seconds_per_probe);
  while (Clock::now() < end) {
    const Clock::time_point before = Clock::now();
    if (!file.append_synced(record)) break;
    latency_ms.push_back(ms_between(before, Clock::now()));
  }
  return latency_ms;
}

struct QuorumSamples {
  std::vector<double> majority_ms;
  std::vector<double> all_ms;
};

QuorumSamples probe_fsync_quorum(const std::string& dir, const Flags& flags) {
  const int writers = flags.replicas;
  const size_t majority = static_cast<size_t>(writers / 2 + 1);
  const std::string record(static_cast<size_t>(flags.record_bytes), 'x');
  std::vector<std::unique_ptr<ZeroFilledFile>> files;
  for (int w = 0; w < writers; ++w) {
    files.push_back(std::make_unique<ZeroFilledFile>(dir + "/replica-" + std::to_string(w)));
  }
  struct Round {
    Clock::time_point start, end;
    bool wrote = false;
  };
  std::vector<Round> rounds(static_cast<size_t>(writers));
  QuorumSamples samples;
  bool stop = false;  // Written by the barrier's completion step only.
  const Clock::time_point end = deadline_after(flags.seconds_per_probe);
  // The completion step runs once per round, after every writer finished it and before any
  // starts the next: it turns the round into samples and decides whether to go on.
  auto finish_round = [&]() noexcept {
    std::vector<Clock::time_point> ends;
    Clock::time_point first_start = Clock::time_point::max();
    for (const Round& r : rounds) {
      if (!r.wrote) {
        stop = true;
        return;
      }
      first_start = std::min(first_start, r.start);
      ends.push_back(r.end);
    }
    std::sort(ends.begin(), ends.end());
    samples.majority_ms.push_back(ms_between(first_start, ends[majority - 1]));
    samples.all_ms.push_back(ms_between(first_start, ends.back()));
    stop = Clock::now() >= end;
  };
  std::barrier round_done(writers, finish_round);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      Round& mine = rounds[static_cast<size_t>(w)];
      while (!stop) {
        mine.start = Clock::now();
        mine.wrote = files[static_cast<size_t>(w)]->append_synced(record);
        mine.end = Clock::now();
        round_done.arrive_and_wait();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return samples;
}

constexpr double kOversleepProbeSleepMs = 0.5;

// The oversleep probe's load: none, one spinning thread per core, or those and R fsync writers.
enum class StallLoad { kIdle, kCpuBusy, kCpuBusyAndFsync };

std::vector<double> probe_oversleep(const std::string& dir, const Flags& flags, StallLoad load) {
  constexpr auto kSleep = std::chrono::microseconds(500);
  static_assert(kSleep.count() == kOversleepProbeSleepMs * 1000);
  std::atomic<bool> stop{false};
  std::vector<std::thread> loaders;
  if (load != StallLoad::kIdle) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned c = 0; c < cores; ++c) {
      loaders.emplace_back([&stop] {
        volatile uint64_t spins = 0;
        while (!stop.load(std::memory_order_relaxed)) spins = spins + 1;
      });
    }
  }
  const std::string record(static_cast<size_t>(flags.record_bytes), 'x');
  std::vector<std::unique_ptr<ZeroFilledFile>> files;
  if (load == StallLoad::kCpuBusyAndFsync) {
    // Zero-filled (and their zeros flushed) before the clock starts, as a log's segments are.
    for (int w = 0; w < flags.replicas; ++w) {
      files.push_back(std::make_unique<ZeroFilledFile>(dir + "/stall-" + std::to_string(w)));
    }
    for (auto& file : files) {
      loaders.emplace_back([&stop, &record, f = file.get()] {
        while (!stop.load(std::memory_order_relaxed) && f->append_synced(record)) {
        }
      });
    }
  }
  std::vector<double> late_ms;
  const Clock::time_point end = deadline_after(flags.seconds_per_probe);
  while (Clock::now() < end) {
    const Clock::time_point before = Clock::now();
    std::this_thread::sleep_for(kSleep);
    late_ms.push_back(std::max(0.0, ms_between(before + kSleep, Clock::now())));
  }
  stop = true;
  for (std::thread& t : loaders) t.join();
  return late_ms;
}

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) fail("TCP_NODELAY");
}

bool read_exactly(int fd, char* data, size_t size) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, data + got, size - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

// The child echoes every 64-byte message until the parent closes the connection.
std::vector<double> probe_rtt(const Flags& flags) {
  constexpr size_t kMessageBytes = 64;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // The kernel picks a free port; the socket is kept until the end.
  socklen_t length = sizeof(address);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("bind/listen on 127.0.0.1");
  }
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) fail("fork");
  if (child == 0) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) ::_exit(1);
    set_nodelay(fd);
    char message[kMessageBytes];
    while (read_exactly(fd, message, sizeof(message))) {
      if (::write(fd, message, sizeof(message)) != static_cast<ssize_t>(sizeof(message))) break;
    }
    ::_exit(0);
  }
  ::close(listener);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    fail("connect to the echo child");
  }
  set_nodelay(fd);
  char message[kMessageBytes] = {};
  std::vector<double> latency_ms;
  const Clock::time_point end = deadline_after(flags.seconds_per_probe);
  while (Clock::now() < end) {
    const Clock::time_point before = Clock::now();
    if (::write(fd, message, sizeof(message)) != static_cast<ssize_t>(sizeof(message)) ||
        !read_exactly(fd, message, sizeof(message))) {
      fail("ping-pong with the echo child");
    }
    latency_ms.push_back(ms_between(before, Clock::now()));
  }
  ::close(fd);
  int status = 0;
  ::waitpid(child, &status, 0);
  return latency_ms;
}

bench::LatencySummary report(const std::string& probe, std::vector<double> samples,
                             const Flags& flags) {
  const bench::LatencySummary s = bench::LatencySummary::of(samples);
  std::printf("%-22s %9zu %9.3f %9.3f %9.3f %9.3f\n", probe.c_str(), samples.size(), s.p50, s.p90,
              s.p99, s.max);
  std::fflush(stdout);
  if (!flags.json.empty()) {
    bench::JsonObject line;
    line.add("tool", "latency-floor-bench")
        .add("probe", probe)
        .add("replicas", flags.replicas)
        .add("record_bytes", flags.record_bytes)
        .add("samples", static_cast<uint64_t>(samples.size()))
        .add("latency_ms", s.json());
    bench::write_result_line("latency-floor-bench", flags.json, std::move(line));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  std::string base = flags.dir;
  if (base.empty()) {
    base = bench::make_scratch_directory("latency-floor");
    if (base.empty())
      usage(std::string("cannot create a scratch directory: ") + std::strerror(errno));
  } else {
    std::error_code error;
    std::filesystem::create_directories(base, error);
    if (error) usage("--dir " + base + ": " + error.message());
  }
  const std::string dir = base + "/latency-floor-probe";
  std::filesystem::create_directories(dir);
  std::printf("directory %s, %d replicas, %d-byte records, %.0f s per probe\n\n", base.c_str(),
              flags.replicas, flags.record_bytes, flags.seconds_per_probe);
  std::printf("%-22s %9s %9s %9s %9s %9s\n", "probe", "samples", "p50 ms", "p90 ms", "p99 ms",
              "max ms");
  const bench::LatencySummary alone = report("fsync-alone", probe_fsync_alone(dir, flags), flags);
  QuorumSamples quorum = probe_fsync_quorum(dir, flags);
  const bench::LatencySummary majority =
      report("fsync-quorum-majority", std::move(quorum.majority_ms), flags);
  report("fsync-quorum-all", std::move(quorum.all_ms), flags);
  const bench::LatencySummary rtt = report("rtt", probe_rtt(flags), flags);
  report("oversleep-idle", probe_oversleep(dir, flags, StallLoad::kIdle), flags);
  report("oversleep-cpu-busy", probe_oversleep(dir, flags, StallLoad::kCpuBusy), flags);
  const std::vector<double> busy_fsync_late =
      probe_oversleep(dir, flags, StallLoad::kCpuBusyAndFsync);
  report("oversleep-cpu-busy+fsync", busy_fsync_late, flags);
  const bench::LatencySummary stalls =
      report("stall-seen-by-arrival",
             bench::delays_seen_by_arrivals(busy_fsync_late, kOversleepProbeSleepMs), flags);
  std::filesystem::remove_all(dir);
  if (flags.dir.empty()) std::filesystem::remove_all(base);

  const double issue_bound = 2 * alone.p50 + rtt.p50;
  const double topology_floor = majority.p50 + 2 * rtt.p50;
  std::printf("\nfloor for one client's write (p50s):\n");
  std::printf("  issue bound     fsync-alone + fsync-alone + rtt      = %.3f ms\n", issue_bound);
  std::printf("  topology floor  fsync-quorum-majority + 2 x rtt      = %.3f ms\n", topology_floor);
  std::printf(
      "what the machine's stalls alone cost a request arriving at a random moment while\n"
      "the CPUs are busy and the disk syncs (stall-seen-by-arrival):\n");
  std::printf("  p90 %.3f ms, p99 %.3f ms: a loaded cluster's p90 and p99 are not below these\n",
              stalls.p90, stalls.p99);
  if (!flags.json.empty()) {
    bench::JsonObject line;
    line.add("tool", "latency-floor-bench")
        .add("probe", "floor")
        .add("replicas", flags.replicas)
        .add("issue_bound_ms", issue_bound)
        .add("topology_floor_ms", topology_floor)
        .add("stall_p90_ms", stalls.p90)
        .add("stall_p99_ms", stalls.p99);
    bench::write_result_line("latency-floor-bench", flags.json, std::move(line));
  }
  return 0;
}
