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
void start_read(SimCluster& cluster, size_t i, std::optional<ReadResult>* out) {
  RecordingStateMachine* fsm = &cluster.fsm(i);
  cluster.node(i)->read_index(
      make_read_index_closure([fsm, out](const Status& status, LogIndex index) {
        ReadResult result{status, index, {}};
        if (status.ok()) {
          for (const auto& entry : fsm->applied()) result.applied.insert(entry.data);
        }
        *out = std::move(result);
      }));
}

std::optional<ReadResult> read_and_wait(SimCluster& cluster, size_t i, Duration limit = 10s) {
  std::optional<ReadResult> result;
  start_read(cluster, i, &result);
  cluster.wait_until([&] { return result.has_value(); }, limit);
  return result;
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
  for (uint64_t seed : {441, 442, 443, 444}) {
    INFO("seed " << seed);
    SimCluster cluster(5, seed);
    cluster.start_all();
    REQUIRE(cluster.propose_and_wait("start", 30s).ok());
    std::mt19937_64 rng(seed);
    // Reads in flight: (member, the writes acknowledged when it began, its result).
    struct Read {
      size_t member;
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
      read->acked_before = acked;
      start_read(cluster, read->member, &read->result);
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
        INFO("member " << read->member << " read at " << read->result->index);
        REQUIRE(read->result->applied.count(data) == 1);
      }
    }
    INFO("ok reads: " << ok_reads << " of " << reads.size());
    CHECK(ok_reads > reads.size() / 2);
    require_agreement(cluster, 30s);
  }
}
