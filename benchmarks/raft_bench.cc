// raft-bench: replicated write throughput and latency of one Raft group on this machine.
//
// Runs N replicas in one process — real threads (ExecutorPool), TCP over 127.0.0.1
// (TcpTransport), RocksDB logs with fsync — and drives the leader with closed-loop clients:
// each client keeps one proposal in flight and proposes the next as soon as the previous one
// is applied on the leader. Prints throughput and latency percentiles; stops by itself.
//
//   raft-bench [--nodes 3] [--clients 64] [--seconds 10] [--payload-bytes 32] [--data DIR]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raft/executor_pool.h"
#include "raft/logging.h"
#include "raft/node.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/rocksdb_log_store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  int nodes = 3;
  int clients = 64;
  int seconds = 10;
  int payload_bytes = 32;
  std::string data;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "raft-bench: %s\nusage: raft-bench [--nodes N] [--clients N] [--seconds N] "
               "[--payload-bytes N] [--data DIR]\n",
               why.c_str());
  std::exit(2);
}

int parse_int(const char* flag, const char* text, int min, int max) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max) {
    usage(std::string(flag) + " must be an integer in [" + std::to_string(min) + ", " +
          std::to_string(max) + "], got '" + text + "'");
  }
  return static_cast<int>(value);
}

Flags parse_flags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--nodes") {
      flags.nodes = parse_int("--nodes", value, 1, 9);
    } else if (flag == "--clients") {
      flags.clients = parse_int("--clients", value, 1, 100000);
    } else if (flag == "--seconds") {
      flags.seconds = parse_int("--seconds", value, 1, 3600);
    } else if (flag == "--payload-bytes") {
      flags.payload_bytes = parse_int("--payload-bytes", value, 0, 16 << 20);
    } else if (flag == "--data") {
      flags.data = value;
    } else {
      usage("unknown flag " + flag);
    }
  }
  return flags;
}

uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    usage("cannot bind a port on 127.0.0.1");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Counts what it applies; the leader's closures carry the latency samples.
class CountingStateMachine : public raft::StateMachine {
 public:
  void on_apply(raft::Iterator& iter) override {
    for (; iter.valid(); iter.next()) applied_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t applied() const { return applied_.load(); }

 private:
  std::atomic<uint64_t> applied_{0};
};

struct Replica {
  std::shared_ptr<raft::rpc::TcpTransport> transport;
  std::unique_ptr<CountingStateMachine> fsm;
  std::unique_ptr<raft::Node> node;
};

// Closed-loop load: every client re-proposes from its own completion.
class Load {
 public:
  Load(raft::Node* leader, std::string payload, Clock::time_point stop_at)
      : leader_(leader), payload_(std::move(payload)), stop_at_(stop_at) {}

  void start_client() { propose(Clock::now()); }
  bool finished(int clients) const { return done_clients_.load() == clients; }
  uint64_t acked() const { return acked_.load(); }
  uint64_t failed() const { return failed_.load(); }
  std::vector<double> take_latencies_ms() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(latencies_ms_);
  }

 private:
  void propose(Clock::time_point started) {
    leader_->apply(raft::Task{payload_, raft::make_closure([this, started](const raft::Status& s) {
                                on_done(started, s);
                              })});
  }
  void on_done(Clock::time_point started, const raft::Status& status) {
    const auto now = Clock::now();
    if (status.ok()) {
      acked_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mutex_);
      latencies_ms_.push_back(std::chrono::duration<double, std::milli>(now - started).count());
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
    if (now >= stop_at_ || (!status.ok() && !status.is_busy())) {
      done_clients_.fetch_add(1);
      return;
    }
    propose(now);
  }

  raft::Node* const leader_;
  const std::string payload_;
  const Clock::time_point stop_at_;
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<int> done_clients_{0};
  std::mutex mutex_;
  std::vector<double> latencies_ms_;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  return sorted[rank];
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse_flags(argc, argv);
  raft::set_log_level(raft::LogLevel::kWarn);
  bool own_dir = flags.data.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/raft-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) usage("cannot create a temporary directory");
    flags.data = tmpl;
  }

  std::vector<raft::PeerId> peers;
  for (int i = 0; i < flags.nodes; ++i) peers.emplace_back("127.0.0.1", pick_free_port());
  raft::Configuration conf(peers);
  auto pool = std::make_shared<raft::ExecutorPool>(0);

  std::vector<Replica> replicas(flags.nodes);
  for (int i = 0; i < flags.nodes; ++i) {
    std::string dir = flags.data + "/node" + std::to_string(i);
    std::filesystem::create_directories(dir);
    auto store = raft::RocksDBLogStore::open(dir + "/log");
    if (!store.ok()) usage("opening the log: " + store.status().to_string());
    auto log = (*store)->open_group("bench");
    auto meta = raft::FileRaftMetaStorage::open(dir + "/raft_meta");
    if (!log.ok() || !meta.ok()) usage("opening storage in " + dir);
    Replica& r = replicas[i];
    raft::rpc::TcpTransportOptions transport_options;
    transport_options.io_threads = 1;
    r.transport = std::make_shared<raft::rpc::TcpTransport>(peers[i].endpoint(), transport_options);
    if (raft::Status s = r.transport->start(); !s.ok()) usage(s.to_string());
    r.fsm = std::make_unique<CountingStateMachine>();
    raft::NodeOptions options;
    options.initial_conf = conf;
    options.fsm = r.fsm.get();
    options.log_storage = *log;
    options.meta_storage = std::shared_ptr<raft::RaftMetaStorage>(std::move(*meta));
    options.transport = r.transport;
    options.runtime = pool;
    options.election_timeout_ms = 500;
    options.max_election_delay_ms = 500;
    options.heartbeat_interval_ms = 50;
    r.node = std::make_unique<raft::Node>("bench", peers[i]);
    if (raft::Status s = r.node->init(options); !s.ok()) usage(s.to_string());
  }

  raft::Node* leader = nullptr;
  const auto elect_deadline = Clock::now() + std::chrono::seconds(30);
  while (leader == nullptr && Clock::now() < elect_deadline) {
    for (Replica& r : replicas) {
      if (r.node->is_leader()) leader = r.node.get();
    }
    if (leader == nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (leader == nullptr) usage("no leader elected within 30 s");

  std::printf("raft-bench: %d replicas in one process, TCP on 127.0.0.1, RocksDB with fsync\n",
              flags.nodes);
  std::printf("            %d closed-loop clients, %d-byte payloads, %d s, %u cores\n",
              flags.clients, flags.payload_bytes, flags.seconds,
              std::thread::hardware_concurrency());
  const auto started = Clock::now();
  Load load(leader, std::string(static_cast<size_t>(flags.payload_bytes), 'x'),
            started + std::chrono::seconds(flags.seconds));
  for (int c = 0; c < flags.clients; ++c) load.start_client();
  while (!load.finished(flags.clients)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<double> latencies = load.take_latencies_ms();
  std::sort(latencies.begin(), latencies.end());
  std::printf("\n  %10s %12s %10s %10s %10s %10s %8s\n", "acked", "writes/s", "p50 ms", "p99 ms",
              "p99.9 ms", "max ms", "failed");
  std::printf(
      "  %10llu %12.0f %10.2f %10.2f %10.2f %10.2f %8llu\n",
      static_cast<unsigned long long>(load.acked()), static_cast<double>(load.acked()) / elapsed_s,
      percentile(latencies, 50), percentile(latencies, 99), percentile(latencies, 99.9),
      latencies.empty() ? 0.0 : latencies.back(), static_cast<unsigned long long>(load.failed()));

  for (Replica& r : replicas) r.node->shutdown(nullptr);
  for (Replica& r : replicas) r.node->join();
  for (Replica& r : replicas) r.transport->shutdown();
  replicas.clear();
  if (own_dir) std::filesystem::remove_all(flags.data);
  return 0;
}
