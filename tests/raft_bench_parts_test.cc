// The parts of raft-bench (benchmarks/bench/) that its numbers rest on: the latency
// histogram's percentiles, the fsync counting decorator, the bench service's messages, the
// fiber clients' closed loop, and the flags.
#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bench/bench_flags.h"
#include "bench/bench_protocol.h"
#include "bench/closed_loop_load.h"
#include "bench/counting_log_storage.h"
#include "bench/latency_histogram.h"
#include "bench/replica_host.h"
#include "common/bench_json.h"
#include "common/stall_delays.h"
#include "raft/storage/memory_log_storage.h"

using namespace bench;

TEST_CASE("the latency histogram reports percentiles within 1/64 and the exact maximum",
          "[bench][histogram]") {
  LatencyHistogram histogram;
  CHECK(histogram.percentile_ns(99) == 0);
  // 1 us .. 100 ms in 1 us steps: the p-th percentile is p% of 100 ms.
  for (uint64_t us = 1; us <= 100000; ++us) histogram.record(us * 1000);
  CHECK(histogram.count() == 100000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double expected = p / 100.0 * 100e6;
    const double got = static_cast<double>(histogram.percentile_ns(p));
    CHECK(std::abs(got - expected) <= expected / 64);
  }
  CHECK(histogram.max_ns() == 100000000);
  CHECK(histogram.percentile_ns(100) <= histogram.max_ns());

  LatencyHistogram other;
  other.record(5);
  other.record(500000000);
  histogram.merge_from(other);
  CHECK(histogram.count() == 100002);
  CHECK(histogram.max_ns() == 500000000);
  CHECK(histogram.percentile_ns(0) == 5);
}

namespace {

// Records the sync flag of every write it passes on; fails writes once told to.
class RecordingLog final : public raft::LogStorage {
 public:
  raft::LogIndex first_log_index() const override { return inner_.first_log_index(); }
  raft::LogIndex last_log_index() const override { return inner_.last_log_index(); }
  raft::Result<raft::LogEntryPtr> get_entry(raft::LogIndex index) const override {
    return inner_.get_entry(index);
  }
  raft::Result<raft::Term> get_term(raft::LogIndex index) const override {
    return inner_.get_term(index);
  }
  raft::Status write(const raft::LogWrite& write) override {
    syncs.push_back(write.sync);
    if (fail) return raft::Status::IoError("disk on fire");
    return inner_.write(write);
  }
  raft::Status truncate_prefix(raft::LogIndex first_index_kept) override {
    return inner_.truncate_prefix(first_index_kept);
  }

  std::vector<bool> syncs;
  bool fail = false;

 private:
  raft::MemoryLogStorage inner_;
};

raft::LogWrite entries(raft::LogIndex first, int count, bool sync) {
  raft::LogWrite write;
  for (int i = 0; i < count; ++i) {
    write.entries.push_back(
        raft::make_entry(raft::EntryType::kData, first + i, raft::Term(1), "x"));
  }
  write.sync = sync;
  return write;
}

}  // namespace

TEST_CASE("stall delays weight each stall by the time it froze", "[bench][stalls]") {
  using bench::delays_seen_by_arrivals;
  // On time only (0.5 ms sleeps, wake-ups 0.1 ms late): nothing to wait for, 12 slices each.
  std::vector<double> quiet = delays_seen_by_arrivals(std::vector<double>(100, 0.1), 0.5);
  CHECK(quiet.size() == 1200);
  CHECK(std::all_of(quiet.begin(), quiet.end(), [](double d) { return d == 0; }));

  // 99 on-time wake-ups and one 10 ms stall: 60 ms of wall time, a sixth of it frozen. As
  // wake-ups, the stall is 1 % of the samples; weighted by time, p90 already waits in it, and
  // p99 waits nearly all of it.
  std::vector<double> late(99, 0.0);
  late.push_back(10.0);
  std::vector<double> delays = delays_seen_by_arrivals(late, 0.5);
  CHECK(delays.size() == 1200);
  const bench::LatencySummary summary = bench::LatencySummary::of(delays);
  CHECK(summary.p50 == 0);
  CHECK(summary.p90 > 3.0);
  CHECK(summary.p99 > 9.0);
  CHECK(summary.max == 10.0);
}

TEST_CASE("the counting log counts synced writes and their entries, and only successful ones",
          "[bench][fsync]") {
  auto inner = std::make_shared<RecordingLog>();
  auto counters = std::make_shared<SyncCounters>();
  CountingLogStorage log(inner, counters, /*fsync=*/true);
  REQUIRE(log.write(entries(raft::LogIndex(1), 3, true)).ok());
  REQUIRE(log.write(entries(raft::LogIndex(4), 2, true)).ok());
  REQUIRE(log.write(entries(raft::LogIndex(6), 4, false)).ok());  // Not synced: not counted.
  CHECK(counters->synced_writes == 2);
  CHECK(counters->synced_entries == 5);
  CHECK(log.last_log_index() == raft::LogIndex(9));
  inner->fail = true;
  CHECK_FALSE(log.write(entries(raft::LogIndex(10), 1, true)).ok());
  CHECK(counters->synced_writes == 2);
  CHECK(inner->syncs == std::vector<bool>{true, true, false, true});
}

TEST_CASE("with fsync off the counting log passes every write on unsynced and counts none",
          "[bench][fsync]") {
  auto inner = std::make_shared<RecordingLog>();
  auto counters = std::make_shared<SyncCounters>();
  CountingLogStorage log(inner, counters, /*fsync=*/false);
  REQUIRE(log.write(entries(raft::LogIndex(1), 3, true)).ok());
  CHECK(inner->syncs == std::vector<bool>{false});
  CHECK(counters->synced_writes == 0);
  CHECK(log.last_log_index() == raft::LogIndex(3));
}

TEST_CASE("bench service messages round-trip and malformed ones are refused", "[bench][protocol]") {
  uint32_t group = 0;
  std::string_view payload;
  const std::string write = encode_write_request(7, "payload");
  REQUIRE(decode_write_request(write, &group, &payload).ok());
  CHECK(group == 7);
  CHECK(payload == "payload");
  CHECK(decode_write_request("abc", &group, &payload).is_invalid_argument());

  raft::ReadMode mode = raft::ReadMode::kSafe;
  REQUIRE(
      decode_read_request(encode_read_request(999, raft::ReadMode::kWaitFree), &group, &mode).ok());
  CHECK(group == 999);
  CHECK(mode == raft::ReadMode::kWaitFree);
  std::string bad_mode = encode_read_request(1, raft::ReadMode::kLease);
  bad_mode.back() = 9;
  CHECK(decode_read_request(bad_mode, &group, &mode).is_invalid_argument());
  CHECK(decode_read_request(bad_mode + "x", &group, &mode).is_invalid_argument());

  ReplicaStatus status;
  status.synced_writes = uint64_t{1} << 40;
  status.synced_entries = 12345;
  status.leads = {true, false, true};
  raft::Result<ReplicaStatus> decoded = decode_status_response(encode_status_response(status));
  REQUIRE(decoded.ok());
  CHECK(decoded->synced_writes == status.synced_writes);
  CHECK(decoded->synced_entries == 12345);
  CHECK(decoded->leads == status.leads);
  const std::string body = encode_status_response(status);
  CHECK_FALSE(decode_status_response(body.substr(0, body.size() - 1)).ok());
}

namespace {

// Completes every operation on its own thread, as a raft lane or an RPC thread would, and
// records which thread issued each client's operations. With a service time, the thread takes
// that long over each operation, one at a time (a server slower than the offered load).
class AsyncTarget final : public BenchTarget {
 public:
  explicit AsyncTarget(std::chrono::milliseconds service_time = std::chrono::milliseconds(0))
      : service_time_(service_time), worker_([this] { run(); }) {}
  ~AsyncTarget() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    worker_.join();
  }

  void write(int group, const std::string& payload, Done done) override {
    {
      // Catch2 assertions are not thread-safe: checked by the test after the load.
      std::lock_guard<std::mutex> lock(mu_);
      payload_sizes_.insert(payload.size());
    }
    issue(group, true, std::move(done));
  }
  void read(int group, uint64_t, Done done) override { issue(group, false, std::move(done)); }

  std::mutex mu_;
  uint64_t writes_ = 0;  // Guarded by mu_.
  uint64_t reads_ = 0;   // Guarded by mu_.
  // Per group, the threads that issued its operations. Guarded by mu_.
  std::map<int, std::set<std::thread::id>> issuers_;
  std::set<size_t> payload_sizes_;  // Guarded by mu_.
  // What each operation completes with (OK when unset); set before the load starts, called on
  // the worker thread.
  std::function<raft::Status()> outcome_;

 private:
  void issue(int group, bool is_write, Done done) {
    std::lock_guard<std::mutex> lock(mu_);
    (is_write ? writes_ : reads_)++;
    issuers_[group].insert(std::this_thread::get_id());
    pending_.push_back(std::move(done));
    cv_.notify_one();
  }
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      Done done = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      if (service_time_.count() > 0) std::this_thread::sleep_for(service_time_);
      done(outcome_ ? outcome_() : raft::Status::OK());
      lock.lock();
    }
  }

  std::condition_variable cv_;
  std::deque<Done> pending_;  // Guarded by mu_.
  bool stopping_ = false;     // Guarded by mu_.
  const std::chrono::milliseconds service_time_;
  std::thread worker_;
};

}  // namespace

TEST_CASE("fiber clients run a closed loop: 9 reads to 1 write, each client on its own thread",
          "[bench][load]") {
  AsyncTarget target;
  LoadOptions options;
  options.clients = 1000;
  options.client_threads = 2;
  options.groups = 1000;  // One client per group: the group tells the client.
  options.read_fraction = 0.9;
  options.payload = std::string(32, 'x');
  ClosedLoopLoad load(&target, options);
  const auto now = std::chrono::steady_clock::now();
  load.start(now, now + std::chrono::milliseconds(300));
  load.join();

  std::lock_guard<std::mutex> lock(target.mu_);
  CHECK(load.failed() == 0);
  // Every operation issued completed (nothing is left in flight after join).
  CHECK(load.completed() == target.writes_ + target.reads_);
  CHECK(load.writes() + load.reads() <= load.completed());
  CHECK(load.writes() > 0);
  // Each client does 1 write in 10 operations, starting at a different point of the cycle.
  const double write_share =
      static_cast<double>(target.writes_) / static_cast<double>(target.writes_ + target.reads_);
  CHECK(write_share > 0.08);
  CHECK(write_share < 0.12);
  // Every client was resumed on the thread it started on, and both threads ran clients.
  REQUIRE(target.issuers_.size() == 1000);
  std::set<std::thread::id> threads;
  for (const auto& [group, issuers] : target.issuers_) {
    CHECK(issuers.size() == 1);
    threads.insert(issuers.begin(), issuers.end());
  }
  CHECK(threads.size() == 2);
  CHECK(load.latency().count() == load.writes() + load.reads());
  CHECK(target.payload_sizes_ == std::set<size_t>{32});
}

TEST_CASE("failed operations are counted by status code, with the first message of each",
          "[bench][load]") {
  AsyncTarget target;
  uint64_t completions = 0;  // Only the worker thread touches it.
  target.outcome_ = [&completions] {
    const uint64_t n = completions++;
    if (n % 3 == 0) return raft::Status::OK();
    if (n % 3 == 1) return raft::Status::Busy("disk queue is full #" + std::to_string(n));
    return raft::Status::NotLeader("not the leader #" + std::to_string(n));
  };
  LoadOptions options;
  options.clients = 4;
  options.payload = "x";
  ClosedLoopLoad load(&target, options);
  const auto now = std::chrono::steady_clock::now();
  load.start(now, now + std::chrono::milliseconds(200));
  load.join();

  const auto by_code = load.failed_by_code();
  REQUIRE(by_code.size() == 2);
  CHECK(by_code[0].code == "EPERM");  // In StatusCode order.
  CHECK(by_code[1].code == "EBUSY");
  CHECK(by_code[0].first_message.rfind("not the leader #", 0) == 0);
  CHECK(by_code[1].first_message.rfind("disk queue is full #", 0) == 0);
  CHECK(by_code[0].count > 0);
  CHECK(by_code[1].count > 0);
  CHECK(by_code[0].count + by_code[1].count == load.failed());
  CHECK(load.writes() > 0);
}

TEST_CASE("paced clients offer the rate and no more", "[bench][load]") {
  AsyncTarget target;
  LoadOptions options;
  options.clients = 20;
  options.client_threads = 2;
  options.rate = 2000;
  ClosedLoopLoad load(&target, options);
  const auto now = std::chrono::steady_clock::now();
  load.start(now, now + std::chrono::milliseconds(500));
  load.join();
  // Client c's k-th operation is due at (c + 20 k) / 2000 s: 1000 are due in the 500 ms, and
  // none is issued before it is due. A closed loop against this target does ~100x as many.
  CHECK(load.failed() == 0);
  CHECK(load.completed() <= 1000);
  CHECK(load.completed() >= 500);  // Behind only if this machine stalls for 250 ms.
  CHECK(load.writes() == load.latency().count());
  // Issued on time give or take the 200 µs pacing tick and this machine's scheduling.
  CHECK(load.issue_lag().count() == load.writes());
}

TEST_CASE("a paced client that falls behind counts each latency from the schedule",
          "[bench][load]") {
  // One operation at a time takes 5 ms, and the client is due every 1 ms: it falls behind by
  // at least 4 ms per operation, and the late ones' latencies include that wait.
  AsyncTarget target(std::chrono::milliseconds(5));
  LoadOptions options;
  options.rate = 1000;
  ClosedLoopLoad load(&target, options);
  const auto now = std::chrono::steady_clock::now();
  load.start(now, now + std::chrono::milliseconds(500));
  load.join();
  CHECK(load.completed() <= 101);
  REQUIRE(load.writes() >= 20);
  // The last operation measured was due ~4/5 of the run before it was issued: hundreds of ms
  // behind, where each took ~5 ms of service (a closed loop would report ~5 ms).
  CHECK(load.latency().max_ns() >= 200'000'000);
  CHECK(load.latency().percentile_ns(50) >= 50'000'000);
  // Nearly all of it was spent waiting to be issued, behind the slow operations before.
  CHECK(load.issue_lag().percentile_ns(50) >= 40'000'000);
}

TEST_CASE("raft-bench flags: defaults, derived settings and refusals name the flag",
          "[bench][flags]") {
  auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "raft-bench");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    bool help = false;
    return parse_bench_flags(static_cast<int>(argv.size()), argv.data(), &help);
  };
  raft::Result<BenchFlags> defaults = parse({});
  REQUIRE(defaults.ok());
  CHECK(defaults->payload_bytes == 256);
  CHECK(defaults->rate == 0);
  CHECK(parse({"--rate", "50000"})->rate == 50000);
  CHECK(defaults->cluster.fsync);
  CHECK(defaults->read_fraction() == 0.0);
  CHECK(defaults->cluster.election_timeout_ms() == 500);
  CHECK(defaults->cluster.queue_capacity() == 16384);
  // The faster store for the number of groups, unless one is named.
  CHECK(defaults->cluster.log_storage == LogStorageKind::kSegments);
  CHECK(parse({"--groups", "8"})->cluster.log_storage == LogStorageKind::kSegments);
  CHECK(parse({"--groups", "9"})->cluster.log_storage == LogStorageKind::kRocksDB);
  CHECK(parse({"--log-storage", "rocksdb"})->cluster.log_storage == LogStorageKind::kRocksDB);
  CHECK(parse({"--groups", "100", "--log-storage", "segments"})->cluster.log_storage ==
        LogStorageKind::kSegments);

  raft::Result<BenchFlags> many = parse({"--groups", "1000", "--workload", "lease", "--no-fsync"});
  REQUIRE(many.ok());
  CHECK(many->cluster.election_timeout_ms() == 5000);
  CHECK(many->cluster.queue_capacity() == 1024);
  CHECK(many->read_fraction() == 0.9);
  CHECK(read_mode_of(many->workload) == raft::ReadMode::kLease);
  CHECK_FALSE(many->cluster.fsync);

  // --log-preallocate: what each choice opens the segment store with, and replicas get it.
  CHECK(defaults->cluster.log_preallocate == LogPreallocate::kAuto);
  const raft::FileLogStorage::Options auto_few = segment_options(defaults->cluster);
  CHECK(auto_few.preallocate_segments);
  CHECK(auto_few.preallocate_below_bytes_per_second ==
        raft::FileLogStorage::Options().preallocate_below_bytes_per_second);
  CHECK_FALSE(segment_options(parse({"--groups", "17", "--log-storage", "segments"})->cluster)
                  .preallocate_segments);
  raft::Result<BenchFlags> always = parse({"--log-preallocate", "always"});
  REQUIRE(always.ok());
  CHECK(segment_options(always->cluster).preallocate_segments);
  CHECK(segment_options(always->cluster).preallocate_below_bytes_per_second == 0);
  raft::Result<BenchFlags> off = parse({"--log-preallocate", "off"});
  REQUIRE(off.ok());
  CHECK_FALSE(segment_options(off->cluster).preallocate_segments);
  // What a replica process parses from the flags its driver passes it.
  auto as_replica = [](const ClusterFlags& cluster) {
    std::vector<std::string> args = cluster_flags_for_replica(cluster);
    for (const char* extra : {"--index", "0", "--data", "/tmp/x"}) args.push_back(extra);
    args.insert(args.begin(), "replica");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return parse_replica_flags(static_cast<int>(argv.size()), argv.data(), 1);
  };
  {
    raft::Result<ReplicaFlags> replica = as_replica(always->cluster);
    REQUIRE(replica.ok());
    CHECK(replica->cluster.log_preallocate == LogPreallocate::kAlways);
  }
  // --coalesce-after-inflight: NodeOptions' default, and what the replicas are started with.
  CHECK(defaults->cluster.coalesce_after_inflight ==
        raft::NodeOptions().coalesce_after_inflight_msgs);
  {
    raft::Result<BenchFlags> held = parse({"--coalesce-after-inflight", "0"});
    REQUIRE(held.ok());
    raft::Result<ReplicaFlags> replica = as_replica(held->cluster);
    REQUIRE(replica.ok());
    CHECK(replica->cluster.coalesce_after_inflight == 0);
  }

  for (const auto& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--log-preallocate", "sometimes"}, "--log-preallocate"},
           {{"--log-storage", "rocksdb", "--log-preallocate", "off"}, "--log-preallocate"},
           {{"--payload-bytes", "4097"}, "--payload-bytes"},
           {{"--clients", "10001"}, "--clients"},
           {{"--rate", "0"}, "--rate"},
           {{"--coalesce-after-inflight", "257"}, "--coalesce-after-inflight"},
           {{"--rate", "2.5"}, "--rate"},
           {{"--rate", "10000001"}, "--rate"},
           {{"--groups", "0"}, "--groups"},
           {{"--topology", "x"}, "--topology"},
           {{"--seconds"}, "--seconds"}}) {
    raft::Result<BenchFlags> refused = parse(args);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().is_invalid_argument());
    CHECK(std::string(refused.status().message()).find(flag) != std::string::npos);
  }
}
