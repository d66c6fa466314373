// ReadIndex (Raft thesis §6.4) on the deterministic simulation: reads on the leader, on
// followers and on learners see every write acknowledged before them; a leader cut off from
// its quorum never confirms a read; a new leader answers EAGAIN until it has committed an
// entry of its term; and under partitions and proposals on every node, each read returns a
// state holding every write acknowledged before the read began.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;
using namespace std::chrono_literals;

namespace {

struct ReadResult {
  Status status;
  LogIndex index;
  // What the state machine had applied when the closure ran (on its lane).
  std::set<std::string> applied;
};

// Starts a read on member i; `out` is filled when its closure runs.
void start_read(SimCluster& cluster, size_t i, std::optional<ReadResult>* out,
                ReadMode mode = ReadMode::kSafe) {
  RecordingStateMachine* fsm = &cluster.fsm(i);
  cluster.node(i)->read_index(
      make_read_index_closure([fsm, out](const Status& status, LogIndex index) {
        ReadResult result{status, index, {}};
        if (status.ok()) {
          for (const auto& entry : fsm->applied()) result.applied.insert(entry.data);
        }
        *out = std::move(result);
      }),
      mode);
}

std::optional<ReadResult> read_and_wait(SimCluster& cluster, size_t i, Duration limit = 10s,
                                        ReadMode mode = ReadMode::kSafe) {
  std::optional<ReadResult> result;
  start_read(cluster, i, &result, mode);
  cluster.wait_until([&] { return result.has_value(); }, limit);
  return result;
}

// Starts a read in `mode` on whoever leads, every `every` (for at most 10 s of them), until one
// succeeds; REQUIRES one did, and returns the successful ones.
std::vector<ReadResult> reads_until_one_succeeds(SimCluster& cluster, ReadMode mode,
                                                 Duration every) {
  std::vector<std::unique_ptr<std::optional<ReadResult>>> reads;
  bool served = false;
  for (Duration waited{0}; waited < Duration(10s) && !served; waited += every) {
    if (std::optional<size_t> lead = cluster.leader()) {
      reads.push_back(std::make_unique<std::optional<ReadResult>>());
      start_read(cluster, *lead, reads.back().get(), mode);
    }
    cluster.wait_until([] { return false; }, every);
    for (const auto& read : reads) served = served || (*read && (*read)->status.ok());
  }
  REQUIRE(served);
  std::vector<ReadResult> ok;
  for (const auto& read : reads) {
    if (*read && (*read)->status.ok()) ok.push_back(**read);
  }
  return ok;
}

}  // namespace

TEST_CASE("read_index on the leader, a follower and a learner sees every acknowledged write",
          "[sim][read]") {
  SimCluster cluster(4, 401);
  cluster.set_initial_members({0, 1, 2});
  Configuration conf = cluster.initial_conf();
  conf = Configuration(conf.peers(), {cluster.peer(3)});
  cluster.set_initial_conf(conf);
  cluster.start_all();
  for (int round = 0; round < 5; ++round) {
    const std::string data = "w" + std::to_string(round);
    REQUIRE(cluster.propose_and_wait(data, 30s).ok());
    for (size_t i = 0; i < 4; ++i) {
      INFO("round " << round << " member " << i);
      std::optional<ReadResult> read = read_and_wait(cluster, i);
      REQUIRE(read.has_value());
      INFO(read->status);
      REQUIRE(read->status.ok());
      CHECK(read->applied.count(data) == 1);
      CHECK(read->index >= LogIndex(round + 2));  // The configuration entry, then the writes.
    }
  }
}

TEST_CASE("a leader cut off from its quorum never confirms a read", "[sim][read]") {
  for (uint64_t seed : {411, 412, 413}) {
    INFO("seed " << seed);
    SimCluster cluster(3, seed);
    cluster.start_all();
    REQUIRE(cluster.propose_and_wait("before", 30s).ok());
    const size_t old_leader = *cluster.wait_for_leader(30s);
    cluster.isolate(old_leader);
    std::optional<ReadResult> stale;
    start_read(cluster, old_leader, &stale);
    // The majority elects a new leader and commits a write the old one never sees.
    REQUIRE(cluster.wait_until(
        [&] {
          std::optional<size_t> lead = cluster.leader();
          return lead && *lead != old_leader;
        },
        30s));
    std::optional<size_t> next;
    for (size_t i = 0; i < 3; ++i) {
      if (i != old_leader && cluster.node(i)->is_leader()) next = i;
    }
    REQUIRE(next.has_value());
    cluster.propose(*next, "after");
    REQUIRE(cluster.wait_until([&] { return cluster.outcome("after").has_value(); }, 30s));
    REQUIRE(cluster.outcome("after")->ok());
    // The old leader's read fails once it steps down; it never answers OK without "after".
    REQUIRE(cluster.wait_until([&] { return stale.has_value(); }, 30s));
    INFO(stale->status);
    CHECK(stale->status.is_not_leader());
    // A read on the isolated node now fails too: it knows no leader.
    std::optional<ReadResult> alone = read_and_wait(cluster, old_leader);
    REQUIRE(alone.has_value());
    CHECK_FALSE(alone->status.ok());
    cluster.heal();
    std::optional<ReadResult> healed;
    REQUIRE(cluster.wait_until(
        [&] {
          healed = read_and_wait(cluster, old_leader, 1s);
          return healed && healed->status.ok();
        },
        30s));
    CHECK(healed->applied.count("after") == 1);
  }
}

TEST_CASE("a new leader answers EAGAIN until it has committed an entry of its term",
          "[sim][read]") {
  SimCluster cluster(3, 421);
  // A slow network: the new leader's first entry takes a while to commit.
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  const size_t first = *cluster.wait_for_leader(30s);
  cluster.stop(first);
  // Catch the next leader in the instant it wins, before its entry can have committed.
  std::optional<size_t> next;
  REQUIRE(cluster.wait_until(
      [&] {
        next = cluster.leader();
        return next.has_value();
      },
      30s));
  const NodeStatus status = cluster.node(*next)->get_status();
  REQUIRE(status.commit_index < status.last_log_index);
  std::optional<ReadResult> early;
  start_read(cluster, *next, &early);
  REQUIRE(cluster.wait_until([&] { return early.has_value(); }, 10s));
  INFO(early->status);
  CHECK(early->status.is_again());
  std::optional<ReadResult> later;
  REQUIRE(cluster.wait_until(
      [&] {
        later = read_and_wait(cluster, *next, 1s);
        return later && later->status.ok();
      },
      30s));
  CHECK(later->applied.count("a") == 1);
}

TEST_CASE("read_index in a group of one, and on a follower that knows no leader", "[sim][read]") {
  SimCluster single(1, 431);
  single.start_all();
  REQUIRE(single.propose_and_wait("x", 30s).ok());
  std::optional<ReadResult> read = read_and_wait(single, 0);
  REQUIRE(read.has_value());
  REQUIRE(read->status.ok());
  CHECK(read->applied.count("x") == 1);

  SimCluster cluster(3, 432);
  cluster.start(0);  // Alone: it can never learn of a leader.
  std::optional<ReadResult> nobody = read_and_wait(cluster, 0);
  REQUIRE(nobody.has_value());
  CHECK(nobody->status.is_not_leader());
}

TEST_CASE("reads under partitions and proposals hold every write acknowledged before them",
          "[sim][read][chaos]") {
  for (uint64_t seed : {441, 442, 443, 444, 445, 446}) {
    INFO("seed " << seed);
    SimCluster cluster(5, seed);
    cluster.start_all();
    REQUIRE(cluster.propose_and_wait("start", 30s).ok());
    std::mt19937_64 rng(seed);
    // Reads in flight: (member, the writes acknowledged when it began, its result).
    struct Read {
      size_t member;
      ReadMode mode;
      std::set<std::string> acked_before;
      std::optional<ReadResult> result;
    };
    std::vector<std::unique_ptr<Read>> reads;
    std::set<std::string> acked;
    size_t next_write = 0;
    size_t ok_reads = 0;
    for (int step = 0; step < 400; ++step) {
      if (step % 50 == 10) {
        const size_t cut = rng() % 5;
        cluster.isolate(cut);
      } else if (step % 50 == 35) {
        cluster.heal();
      }
      for (size_t i = 0; i < 5; ++i) {
        if (rng() % 3 == 0) cluster.propose(i, "w" + std::to_string(next_write++));
      }
      for (const auto& [data, status] : cluster.outcomes()) {
        if (status.ok()) acked.insert(data);
      }
      auto read = std::make_unique<Read>();
      read->member = rng() % 5;
      read->mode = static_cast<ReadMode>(rng() % 3);
      read->acked_before = acked;
      start_read(cluster, read->member, &read->result, read->mode);
      reads.push_back(std::move(read));
      cluster.wait_until([] { return false; }, 20ms);
    }
    cluster.heal();
    REQUIRE(cluster.wait_until(
        [&] {
          for (const auto& read : reads) {
            if (!read->result) return false;
          }
          return true;
        },
        60s));
    for (const auto& read : reads) {
      if (!read->result->status.ok()) continue;
      ++ok_reads;
      for (const std::string& data : read->acked_before) {
        INFO("member " << read->member << " mode " << static_cast<int>(read->mode) << " read at "
                       << read->result->index);
        REQUIRE(read->result->applied.count(data) == 1);
      }
    }
    INFO("ok reads: " << ok_reads << " of " << reads.size());
    CHECK(ok_reads > reads.size() / 2);
    require_agreement(cluster, 30s);
  }
}

TEST_CASE("a lease read needs no round while the lease holds, and none once it has run out",
          "[sim][read][lease]") {
  SimCluster cluster(3, 451);
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("a", 30s).ok());
  const size_t lead = *cluster.wait_for_leader(30s);
  // Heartbeats run every 30 ms: the lease (300 * 0.9 - 100 = 170 ms) is fresh now.
  std::optional<ReadResult> warm = read_and_wait(cluster, lead, 1s, ReadMode::kLease);
  REQUIRE(warm.has_value());
  REQUIRE(warm->status.ok());
  for (size_t i = 0; i < 3; ++i) {
    if (i != lead) cluster.isolate(i);
  }
  // Cut off from every follower: a lease read still answers, a safe read cannot.
  std::optional<ReadResult> leased, safe;
  start_read(cluster, lead, &leased, ReadMode::kLease);
  start_read(cluster, lead, &safe, ReadMode::kSafe);
  REQUIRE(cluster.wait_until([&] { return leased.has_value(); }, 50ms));
  CHECK(leased->status.ok());
  CHECK(leased->applied.count("a") == 1);
  CHECK_FALSE(safe.has_value());
  // Past the lease, a lease read waits for a round like a safe one, and both fail when the
  // leader steps down (check-quorum, one election timeout without a quorum).
  cluster.wait_until([] { return false; }, 200ms);
  std::optional<ReadResult> expired;
  start_read(cluster, lead, &expired, ReadMode::kLease);
  cluster.wait_until([&] { return expired.has_value(); }, 10ms);
  CHECK_FALSE(expired.has_value());
  REQUIRE(cluster.wait_until([&] { return expired.has_value() && safe.has_value(); }, 5s));
  CHECK(expired->status.is_not_leader());
  CHECK(safe->status.is_not_leader());
  cluster.heal();
}

TEST_CASE("a wait-free read on a new leader waits until the first entry of its term is applied",
          "[sim][read][lease]") {
  for (uint64_t seed : {461, 462, 463}) {
    INFO("seed " << seed);
    SimCluster cluster(3, seed);
    cluster.start_all();
    REQUIRE(cluster.propose_and_wait("a", 30s).ok());
    const size_t old_leader = *cluster.wait_for_leader(30s);
    REQUIRE(cluster.propose_and_wait("acked", 30s).ok());
    // Applying becomes slow everywhere: a new leader's lease can hold long before it has
    // applied the entries it inherited.
    for (size_t i = 0; i < 3; ++i) {
      cluster.fsm(i).before_apply(
          [&cluster] { cluster.scheduler().delay_current_task(std::chrono::milliseconds(400)); });
    }
    cluster.stop(old_leader);
    for (const ReadResult& read : reads_until_one_succeeds(cluster, ReadMode::kWaitFree, 5ms)) {
      // Served at once before "acked" was applied would miss it.
      CHECK(read.applied.count("acked") == 1);
    }
  }
}

TEST_CASE("a lease read on a new leader waits until the first entry of its term is committed",
          "[sim][read][lease]") {
  for (uint64_t seed : {491, 492, 493}) {
    INFO("seed " << seed);
    // Slow fsyncs: a new leader hears heartbeat answers (its lease) long before its first
    // entry is durable on a quorum, and may not know yet that what it inherited is committed.
    SimClusterOptions slow_disks;
    slow_disks.sim_disk = true;
    slow_disks.disk.with_latency(SimFileSystem::OpClass::kSync, std::chrono::milliseconds(40));
    SimCluster cluster(3, seed, slow_disks);
    cluster.start_all();
    REQUIRE(cluster.propose_and_wait("a", 30s).ok());
    const size_t old_leader = *cluster.wait_for_leader(30s);
    REQUIRE(cluster.propose_and_wait("acked", 30s).ok());
    // Stopped at once: the followers may hold "acked" without knowing it is committed.
    cluster.stop(old_leader);
    for (const ReadResult& read : reads_until_one_succeeds(cluster, ReadMode::kLease, 1ms)) {
      // Served at the commit index the new leader knew before its first entry committed would
      // miss it.
      CHECK(read.applied.count("acked") == 1);
    }
  }
}

namespace {

struct LeaseReads {
  int served = 0;  // Lease reads the cut-off leader answered OK.
  int stale = 0;   // Of those, begun after "fresh" was acknowledged, yet missing it.
};

// Makes member 0 (whose clock runs at `rate`) the leader, cuts it off, and keeps reading with
// leases on it while the others elect a new leader and commit "fresh".
LeaseReads lease_reads_with_leader_clock_rate(uint64_t seed, double rate) {
  SimCluster cluster(3, seed);
  cluster.set_clock_rate(0, rate);
  cluster.start_all();
  REQUIRE(cluster.propose_and_wait("before", 30s).ok());
  for (int attempt = 0; attempt < 10 && !cluster.node(0)->is_leader(); ++attempt) {
    const std::optional<size_t> lead = cluster.wait_for_leader(30s);
    REQUIRE(lead.has_value());
    std::optional<Status> moved;
    cluster.node(*lead)->transfer_leadership_to(cluster.peer(0),
                                                make_closure([&](const Status& s) { moved = s; }));
    cluster.wait_until([&] { return moved.has_value() && cluster.node(0)->is_leader(); }, 10s);
  }
  REQUIRE(cluster.node(0)->is_leader());
  REQUIRE(cluster.propose_and_wait("old-term", 30s).ok());
  cluster.isolate(0);
  struct Read {
    bool fresh_acked_before = false;
    std::optional<ReadResult> result;
  };
  std::vector<std::unique_ptr<Read>> reads;
  bool fresh_proposed = false;
  for (int step = 0; step < 600; ++step) {
    const std::optional<Status> fresh = cluster.outcome("fresh");
    if (!fresh_proposed) {
      for (size_t i = 1; i < 3; ++i) {
        if (cluster.node(i)->is_leader()) {
          cluster.propose(i, "fresh");
          fresh_proposed = true;
        }
      }
    }
    if (cluster.node(0)->is_leader()) {
      auto read = std::make_unique<Read>();
      read->fresh_acked_before = fresh && fresh->ok();
      start_read(cluster, 0, &read->result, ReadMode::kLease);
      reads.push_back(std::move(read));
    }
    cluster.wait_until([] { return false; }, 10ms);
  }
  REQUIRE(cluster.outcome("fresh").has_value());
  REQUIRE(cluster.outcome("fresh")->ok());
  cluster.heal();
  LeaseReads out;
  for (const auto& read : reads) {
    cluster.wait_until([&] { return read->result.has_value(); }, 10s);
    if (!read->result || !read->result->status.ok()) continue;
    ++out.served;
    if (read->fresh_acked_before && read->result->applied.count("fresh") == 0) ++out.stale;
  }
  return out;
}

}  // namespace

TEST_CASE("lease reads stay linearizable while clock drift is within max_clock_drift_ms",
          "[sim][read][lease][drift]") {
  // The lease is 300 * 0.9 - 100 = 170 ms on the leader's clock. The others refuse candidates
  // for 300 ms after hearing from it, so the lease is safe while 170 / rate <= 300: a leader
  // clock at 0.6 of real speed (drift within the bound) or a fast one never reads stale.
  for (uint64_t seed : {471, 472}) {
    for (double rate : {0.6, 1.0, 2.0}) {
      INFO("seed " << seed << " rate " << rate);
      const LeaseReads reads = lease_reads_with_leader_clock_rate(seed, rate);
      CHECK(reads.served > 0);  // The cut-off leader did answer from its lease.
      CHECK(reads.stale == 0);
    }
  }
}

TEST_CASE("lease reads go stale when a leader's clock drifts beyond the bound (the test sees it)",
          "[sim][read][lease][drift]") {
  // At 0.1 of real speed the leader believes its 170 ms lease for 1.7 s of real time: the
  // others elect a new leader and commit meanwhile, and its lease reads miss that write. This
  // is what max_clock_drift_ms is for; the check above must notice when the bound is broken.
  for (uint64_t seed : {481, 482}) {
    INFO("seed " << seed);
    CHECK(lease_reads_with_leader_clock_rate(seed, 0.1).stale > 0);
  }
}
