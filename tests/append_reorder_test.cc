// Pipelining without a cliff: the follower's reorder window (AppendReorderBuffer and how the
// node uses it) and the leader's cumulative acknowledgements and resends (Replicator), on the
// deterministic simulation.
#include <catch2/catch.hpp>

#include <optional>

#include "append_reorder_buffer.h"
#include "raft/rpc/fault_injecting_transport.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

constexpr Duration kWait = std::chrono::seconds(30);

AppendEntriesRequest append_at(LogIndex prev_index, Term term, size_t count,
                               const PeerId& leader = PeerId("127.0.0.1", 7001)) {
  AppendEntriesRequest request;
  request.group_id = "sim";
  request.server_id = leader;
  request.peer_id = PeerId("127.0.0.1", 7000);
  request.term = term;
  request.prev_log_id = LogId{prev_index, prev_index == LogIndex(0) ? Term(0) : term};
  for (size_t i = 1; i <= count; ++i) {
    request.entries.push_back(make_entry(EntryType::kData, prev_index + static_cast<int64_t>(i),
                                         term, "e" + std::to_string(i)));
  }
  return request;
}

RpcCallback<AppendEntriesResponse> ignore_answer() {
  return [](const Status&, const AppendEntriesResponse&) {};
}

}  // namespace

TEST_CASE("reorder buffer: releases the lowest request once the gap before it has closed",
          "[reorder][unit]") {
  AppendReorderBuffer buffer(8, 1 << 20, std::chrono::milliseconds(50));
  std::optional<HeldAppend> displaced;
  TimePoint now{};
  for (int64_t prev : {6, 3}) {
    RpcCallback<AppendEntriesResponse> done = ignore_answer();
    REQUIRE(buffer.hold(append_at(LogIndex(prev), Term(1), 3), done, now, &displaced));
    CHECK_FALSE(displaced.has_value());
  }
  CHECK(buffer.size() == 2);
  CHECK(buffer.term() == Term(1));
  CHECK_FALSE(buffer.take_ready(LogIndex(2)).has_value());  // Entry 3 is still missing.
  std::optional<HeldAppend> first = buffer.take_ready(LogIndex(3));
  REQUIRE(first.has_value());
  CHECK(first->request.prev_log_id.index == LogIndex(3));
  CHECK_FALSE(buffer.take_ready(LogIndex(5)).has_value());
  std::optional<HeldAppend> second = buffer.take_ready(LogIndex(6));
  REQUIRE(second.has_value());
  CHECK(second->request.prev_log_id.index == LogIndex(6));
  CHECK(buffer.empty());
  CHECK(buffer.bytes() == 0);
}

TEST_CASE("reorder buffer: a retransmission replaces the held copy and hands it back",
          "[reorder][unit]") {
  AppendReorderBuffer buffer(8, 1 << 20, std::chrono::milliseconds(50));
  std::optional<HeldAppend> displaced;
  int first_answers = 0;
  RpcCallback<AppendEntriesResponse> first = [&](const Status&, const AppendEntriesResponse&) {
    ++first_answers;
  };
  REQUIRE(buffer.hold(append_at(LogIndex(4), Term(1), 2), first, TimePoint{}, &displaced));
  RpcCallback<AppendEntriesResponse> again = ignore_answer();
  REQUIRE(buffer.hold(append_at(LogIndex(4), Term(1), 2), again, TimePoint{}, &displaced));
  REQUIRE(displaced.has_value());
  displaced->done(Status::OK(), AppendEntriesResponse{});
  CHECK(first_answers == 1);
  CHECK(buffer.size() == 1);
}

TEST_CASE("reorder buffer: refuses past its request and byte bounds, and when disabled",
          "[reorder][unit]") {
  std::optional<HeldAppend> displaced;
  SECTION("requests") {
    AppendReorderBuffer buffer(2, 1 << 20, std::chrono::milliseconds(50));
    for (int64_t prev : {10, 20}) {
      RpcCallback<AppendEntriesResponse> done = ignore_answer();
      REQUIRE(buffer.hold(append_at(LogIndex(prev), Term(1), 1), done, TimePoint{}, &displaced));
    }
    RpcCallback<AppendEntriesResponse> done = ignore_answer();
    CHECK_FALSE(buffer.hold(append_at(LogIndex(30), Term(1), 1), done, TimePoint{}, &displaced));
    CHECK(done != nullptr);  // Not taken: the caller still answers it.
    CHECK(buffer.size() == 2);
  }
  SECTION("bytes") {
    const AppendEntriesRequest one = append_at(LogIndex(10), Term(1), 1);
    const size_t footprint = memory_footprint(*one.entries.front());
    AppendReorderBuffer buffer(64, 2 * footprint, std::chrono::milliseconds(50));
    RpcCallback<AppendEntriesResponse> done = ignore_answer();
    REQUIRE(buffer.hold(one, done, TimePoint{}, &displaced));
    done = ignore_answer();
    CHECK_FALSE(buffer.hold(append_at(LogIndex(20), Term(1), 2), done, TimePoint{}, &displaced));
    CHECK(buffer.hold(append_at(LogIndex(20), Term(1), 1), done, TimePoint{}, &displaced));
    CHECK(buffer.bytes() == 2 * footprint);
  }
  SECTION("disabled") {
    AppendReorderBuffer buffer(0, 1 << 20, std::chrono::milliseconds(50));
    RpcCallback<AppendEntriesResponse> done = ignore_answer();
    CHECK_FALSE(buffer.hold(append_at(LogIndex(1), Term(1), 1), done, TimePoint{}, &displaced));
  }
}

TEST_CASE("reorder buffer: requests expire after the hold timeout, oldest first",
          "[reorder][unit]") {
  AppendReorderBuffer buffer(8, 1 << 20, std::chrono::milliseconds(50));
  std::optional<HeldAppend> displaced;
  const TimePoint start{};
  RpcCallback<AppendEntriesResponse> done = ignore_answer();
  REQUIRE(buffer.hold(append_at(LogIndex(9), Term(1), 1), done, start, &displaced));
  done = ignore_answer();
  REQUIRE(buffer.hold(append_at(LogIndex(5), Term(1), 1), done,
                      start + std::chrono::milliseconds(20), &displaced));
  REQUIRE(buffer.next_expiry().has_value());
  CHECK(*buffer.next_expiry() == start + std::chrono::milliseconds(50));
  CHECK(buffer.take_expired(start + std::chrono::milliseconds(49)).empty());
  std::vector<HeldAppend> expired = buffer.take_expired(start + std::chrono::milliseconds(50));
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].request.prev_log_id.index == LogIndex(9));
  CHECK(*buffer.next_expiry() == start + std::chrono::milliseconds(70));
  CHECK(buffer.take_all().size() == 1);
  CHECK_FALSE(buffer.next_expiry().has_value());
}

namespace {

// One follower (peer 0) on the simulation, fed AppendEntries by hand from "leaders" 1 and 2.
struct LoneFollower {
  SimCluster cluster{3, 41};
  RecordingStateMachine fsm;
  std::unique_ptr<Node> node;
  std::shared_ptr<RaftTransport> leader = cluster.network().transport_for(cluster.peer(1));
  std::vector<std::pair<LogIndex, AppendEntriesResponse>> answers;  // By the request's prev.

  explicit LoneFollower(size_t window = 64) {
    NodeOptions options = cluster.options();
    options.initial_conf = cluster.conf();
    options.fsm = &fsm;
    options.log_storage = std::make_shared<MemoryLogStorage>();
    options.meta_storage = std::make_shared<MemoryRaftMetaStorage>();
    options.transport = cluster.network().transport_for(cluster.peer(0));
    options.append_reorder_window = window;
    // No election of its own while the test speaks for the leader.
    options.election_timeout_ms = 60000;
    options.rpc_timeout_ms = 60000;
    options.install_snapshot_timeout_ms = 60000;
    // One fixed delay: messages arrive in the order they were sent.
    cluster.network().set_delay(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
    node = std::make_unique<Node>("sim", cluster.peer(0));
    REQUIRE(node->init(options).ok());
  }

  ~LoneFollower() {
    node->shutdown(nullptr);
    CHECK(cluster.wait_until([&] { return node->is_shut_down(); }, kWait));
    node->join();
  }

  void send(const AppendEntriesRequest& request,
            const std::shared_ptr<RaftTransport>& from = nullptr) {
    const LogIndex prev = request.prev_log_id.index;
    (from ? from : leader)
        ->append_entries(request, std::chrono::seconds(60),
                         [this, prev](const Status& status, const AppendEntriesResponse& response) {
                           REQUIRE(status.ok());
                           answers.emplace_back(prev, response);
                         });
  }
  bool answered(size_t count) {
    return cluster.wait_until([&] { return answers.size() >= count; }, kWait);
  }
};

}  // namespace

TEST_CASE("follower: an AppendEntries that overtook an earlier one is held, then answered after it",
          "[reorder][sim]") {
  LoneFollower follower;
  follower.send(append_at(LogIndex(2), Term(1), 2));  // Entries 3-4, ahead of the gap.
  REQUIRE(follower.cluster.wait_until(
      [&] { return follower.node->get_status().append_reorder.holding == 1; }, kWait));
  CHECK(follower.answers.empty());
  follower.send(append_at(LogIndex(0), Term(1), 2));  // Entries 1-2 close it.
  REQUIRE(follower.answered(2));
  // Answered in log order, both successes: the leader's window never saw a gap.
  CHECK(follower.answers[0].first == LogIndex(0));
  CHECK(follower.answers[0].second.success);
  CHECK(follower.answers[1].first == LogIndex(2));
  CHECK(follower.answers[1].second.success);
  CHECK(follower.answers[1].second.last_log_index == LogIndex(4));
  const NodeStatus status = follower.node->get_status();
  CHECK(status.last_log_index == LogIndex(4));
  CHECK(status.append_reorder.held == 1);
  CHECK(status.append_reorder.released == 1);
  CHECK(status.append_reorder.rejected == 0);
  CHECK(status.append_reorder.holding == 0);
}

TEST_CASE("follower: a gap that stays open is rejected after the hold timeout, not before",
          "[reorder][sim]") {
  LoneFollower follower;
  const TimePoint sent = follower.cluster.scheduler().now();
  follower.send(append_at(LogIndex(5), Term(1), 1));
  REQUIRE(follower.answered(1));
  const Duration waited = follower.cluster.scheduler().now() - sent;
  const Duration hold = std::chrono::milliseconds(NodeOptions().append_reorder_timeout_ms);
  CHECK(waited >= hold);
  CHECK(waited < hold + std::chrono::milliseconds(10));  // Plus the network's delays.
  const AppendEntriesResponse& answer = follower.answers[0].second;
  CHECK_FALSE(answer.success);
  CHECK(answer.term == Term(1));
  CHECK(answer.conflict_index == LogIndex(1));  // The leader probes from the follower's end.
  CHECK(follower.node->get_status().append_reorder.rejected == 1);
}

TEST_CASE("follower: with the window off, a request ahead of a gap is rejected at once",
          "[reorder][sim]") {
  LoneFollower follower(/*window=*/0);
  const TimePoint sent = follower.cluster.scheduler().now();
  follower.send(append_at(LogIndex(5), Term(1), 1));
  REQUIRE(follower.answered(1));
  // Only the network's own delay (1 ms each way), no hold.
  CHECK(follower.cluster.scheduler().now() - sent < std::chrono::milliseconds(10));
  CHECK_FALSE(follower.answers[0].second.success);
  CHECK(follower.node->get_status().append_reorder.held == 0);
}

TEST_CASE("follower: held requests are rejected with the new term when a newer leader speaks",
          "[reorder][sim]") {
  LoneFollower follower;
  follower.send(append_at(LogIndex(0), Term(1), 1));
  REQUIRE(follower.answered(1));
  follower.send(append_at(LogIndex(3), Term(1), 1));
  REQUIRE(follower.cluster.wait_until(
      [&] { return follower.node->get_status().append_reorder.holding == 1; }, kWait));
  auto new_leader = follower.cluster.network().transport_for(follower.cluster.peer(2));
  AppendEntriesRequest heartbeat = append_at(LogIndex(1), Term(2), 0, follower.cluster.peer(2));
  heartbeat.prev_log_id = LogId{LogIndex(1), Term(1)};
  follower.send(heartbeat, new_leader);
  REQUIRE(follower.answered(3));
  bool held_answered = false;
  for (const auto& [prev, answer] : follower.answers) {
    if (prev != LogIndex(3)) continue;
    held_answered = true;
    CHECK_FALSE(answer.success);
    CHECK(answer.term == Term(2));  // The old leader learns that it was deposed.
  }
  CHECK(held_answered);
  CHECK(follower.node->get_status().append_reorder.holding == 0);
}

TEST_CASE("follower: shutting down answers the requests it holds", "[reorder][sim]") {
  auto follower = std::make_unique<LoneFollower>();
  follower->send(append_at(LogIndex(7), Term(1), 1));
  REQUIRE(follower->cluster.wait_until(
      [&] { return follower->node->get_status().append_reorder.holding == 1; }, kWait));
  follower->node->shutdown(nullptr);
  REQUIRE(follower->answered(1));
  CHECK_FALSE(follower->answers[0].second.success);
}

namespace {

struct PipelineRun {
  uint64_t window_resets = 0;
  uint64_t resends = 0;
  uint64_t out_of_order_acks = 0;
  uint64_t appends_sent = 0;
  uint64_t entries_sent = 0;
  uint64_t held = 0;
};

// A 3-node cluster on a network that reorders (every message waits 0.1-3 ms) and optionally
// loses messages; `entries` proposals arrive every 50 us on the leader, so the pipeline to each
// follower holds many requests at once. Returns the leader's counters once every node applied
// everything, identically.
struct PipelineFaults {
  double drop_probability = 0;
  // Every this many AppendEntries with entries fails at once (0: none).
  uint64_t fail_period = 0;
};

PipelineRun run_pipeline(uint64_t seed, size_t window, PipelineFaults faults, size_t entries) {
  INFO("seed " << seed << ", window " << window << ", drop " << faults.drop_probability
               << ", fail every " << faults.fail_period);
  SimClusterOptions cluster_options;
  if (faults.fail_period != 0) {
    cluster_options.wrap_transport = [period = faults.fail_period](
                                         size_t, std::shared_ptr<RaftTransport> inner) {
      auto faulty = std::make_shared<rpc::FaultInjectingTransport>(std::move(inner));
      faulty->set_append_failure_period(period);
      return faulty;
    };
  }
  SimCluster cluster(3, seed, cluster_options);
  cluster.options().append_reorder_window = window;
  // Every batch goes out at once, so that many requests are in flight to reorder
  // (replication_batching_test.cc covers holding them).
  cluster.options().coalesce_after_inflight_msgs = 0;
  cluster.start_all();
  std::optional<size_t> leader = cluster.wait_for_leader(kWait);
  REQUIRE(leader.has_value());
  cluster.network().set_delay(std::chrono::microseconds(100), std::chrono::milliseconds(3));
  cluster.network().set_drop_probability(faults.drop_probability);
  std::shared_ptr<Executor> client = cluster.scheduler().make_executor("client");
  for (size_t k = 0; k < entries; ++k) {
    client->post_after(std::chrono::microseconds(50 * k), [&cluster, k, at = *leader] {
      if (cluster.node(at)) cluster.propose(at, "w" + std::to_string(k));
    });
  }
  REQUIRE(cluster.wait_until([&] { return cluster.outcomes().size() == entries; }, kWait));
  // Loss may cost a leader change; what was acknowledged must still be everywhere.
  cluster.network().set_drop_probability(0);
  size_t acknowledged = 0;
  for (const auto& [data, status] : cluster.outcomes()) acknowledged += status.ok() ? 1 : 0;
  REQUIRE(cluster.wait_applied(acknowledged, kWait));
  const auto reference = cluster.fsm(0).applied();
  for (size_t i = 1; i < cluster.size(); ++i) {
    const auto applied = cluster.fsm(i).applied();
    const size_t common = std::min(applied.size(), reference.size());
    for (size_t e = 0; e < common; ++e) {
      REQUIRE(applied[e].index == reference[e].index);
      REQUIRE(applied[e].data == reference[e].data);
    }
  }
  PipelineRun run;
  std::optional<size_t> now_leading = cluster.leader();
  REQUIRE(now_leading.has_value());
  for (const PeerReplicationStatus& peer : cluster.node(*now_leading)->get_status().peers) {
    run.window_resets += peer.window_resets;
    run.resends += peer.resends;
    run.out_of_order_acks += peer.out_of_order_acks;
    run.appends_sent += peer.appends_sent;
    run.entries_sent += peer.entries_sent;
  }
  for (size_t i = 0; i < cluster.size(); ++i) {
    run.held += cluster.node(i)->get_status().append_reorder.held;
  }
  cluster.stop_all();
  return run;
}

}  // namespace

TEST_CASE("cluster: on a reordering network the pipeline never drops back to probing",
          "[reorder][sim]") {
  for (uint64_t seed : {1, 2, 3}) {
    const PipelineRun with_window = run_pipeline(seed, 64, {}, 3000);
    INFO("seed " << seed);
    CHECK(with_window.held > 0);               // The network did reorder requests...
    CHECK(with_window.out_of_order_acks > 0);  // ...and responses,
    CHECK(with_window.window_resets == 0);     // and the window stayed open throughout.
    // Every proposal went to both followers, in requests that carried one or more entries.
    CHECK(with_window.entries_sent >= 2 * 3000);
    CHECK(with_window.appends_sent > 0);
    CHECK(with_window.appends_sent <= with_window.entries_sent);
    // Without the window the same network drops the pipeline back to probing again and again.
    const PipelineRun without = run_pipeline(seed, 0, {}, 3000);
    CHECK(without.window_resets > 10);
  }
}

TEST_CASE("cluster: with 2% message loss every log converges", "[reorder][sim]") {
  for (uint64_t seed : {4, 5}) {
    // The default hold (shorter than the RPC timeout): a lost request's gap is rejected and
    // the leader probes.
    const PipelineRun lossy = run_pipeline(seed, 64, {.drop_probability = 0.02}, 2000);
    INFO("seed " << seed);
    CHECK(lossy.window_resets > 0);
  }
}

TEST_CASE("cluster: a failed AppendEntries is sent again and the window stays open",
          "[reorder][sim]") {
  for (uint64_t seed : {6, 7}) {
    const PipelineRun resent = run_pipeline(seed, 64, {.fail_period = 40}, 3000);
    INFO("seed " << seed);
    CHECK(resent.resends > 0);
    CHECK(resent.window_resets == 0);
    // Resent requests count as sent, and carry their entries again.
    CHECK(resent.entries_sent >= 2 * 3000);
    CHECK(resent.appends_sent >= resent.resends);
    // Without the follower's window the requests that overtake the resent one are rejected.
    const PipelineRun probing = run_pipeline(seed, 0, {.fail_period = 40}, 3000);
    CHECK(probing.window_resets > 10);
  }
}
