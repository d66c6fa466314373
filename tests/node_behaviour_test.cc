// Node behaviour on the deterministic simulation: options validation, closure outcomes, vote
// durability, corruption and state-machine errors.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <set>

#include "raft/storage/fault_injecting_log_storage.h"
#include "support/faulty_log_storage.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

constexpr Duration kWait = std::chrono::seconds(30);

NodeOptions valid_options(SimCluster& cluster, RecordingStateMachine* fsm) {
  NodeOptions options = cluster.options();
  options.initial_conf = cluster.conf();
  options.fsm = fsm;
  options.log_storage = std::make_shared<MemoryLogStorage>();
  options.meta_storage = std::make_shared<MemoryRaftMetaStorage>();
  options.transport = cluster.network().transport_for(cluster.peer(0));
  return options;
}

// A group of one node on `log`, elected: proposals and their outcomes, shut down at the end.
struct SingleLeader {
  SimCluster cluster;
  RecordingStateMachine fsm;
  std::unique_ptr<Node> node;
  std::vector<std::optional<Status>> outcomes;

  SingleLeader(uint64_t seed, std::shared_ptr<LogStorage> log,
               std::optional<size_t> log_cache_max_bytes = std::nullopt)
      : cluster(1, seed) {
    NodeOptions options = valid_options(cluster, &fsm);
    options.initial_conf = Configuration({cluster.peer(0)});
    options.log_storage = std::move(log);
    if (log_cache_max_bytes) options.log_cache_max_bytes = *log_cache_max_bytes;
    node = std::make_unique<Node>("g", cluster.peer(0));
    REQUIRE(node->init(options).ok());
    REQUIRE(cluster.wait_until([&] { return node->is_leader() && fsm.leader_terms().size() == 1; },
                               kWait));
  }

  ~SingleLeader() {
    node->shutdown(nullptr);
    // CHECK, not REQUIRE: a destructor must not throw.
    CHECK(cluster.wait_until([&] { return node->is_shut_down(); }, kWait));
    node->join();
  }

  // Proposes one entry and returns its closure's status.
  Status propose_and_wait() {
    const size_t k = outcomes.size();
    outcomes.emplace_back();
    node->apply(Task{"w" + std::to_string(k),
                     make_closure([this, k](const Status& s) { outcomes[k] = s; })});
    REQUIRE(cluster.wait_until([&] { return outcomes[k].has_value(); }, kWait));
    return *outcomes[k];
  }
};

}  // namespace

TEST_CASE("init rejects bad options with EINVAL naming the option", "[node][options]") {
  SimCluster cluster(3, 1);
  RecordingStateMachine fsm;
  struct Case {
    const char* option;
    std::function<void(NodeOptions&)> spoil;
  };
  std::vector<Case> cases = {
      {"election_timeout_ms", [](NodeOptions& o) { o.election_timeout_ms = 0; }},
      {"max_election_delay_ms", [](NodeOptions& o) { o.max_election_delay_ms = -1; }},
      {"heartbeat_interval_ms", [](NodeOptions& o) { o.heartbeat_interval_ms = 300; }},
      {"rpc_timeout_ms", [](NodeOptions& o) { o.rpc_timeout_ms = 0; }},
      {"fsm", [](NodeOptions& o) { o.fsm = nullptr; }},
      {"log_storage", [](NodeOptions& o) { o.log_storage = nullptr; }},
      {"meta_storage", [](NodeOptions& o) { o.meta_storage = nullptr; }},
      {"transport", [](NodeOptions& o) { o.transport = nullptr; }},
      {"apply_queue_capacity", [](NodeOptions& o) { o.apply_queue_capacity = 1000; }},
      {"disk_queue_capacity", [](NodeOptions& o) { o.disk_queue_capacity = 0; }},
      {"fsm_queue_capacity", [](NodeOptions& o) { o.fsm_queue_capacity = 3; }},
      {"disk_batch_max_ops", [](NodeOptions& o) { o.disk_batch_max_ops = 0; }},
      {"apply_batch_max", [](NodeOptions& o) { o.apply_batch_max = 0; }},
      {"max_inflight_msgs", [](NodeOptions& o) { o.max_inflight_msgs = 0; }},
      {"max_entries_per_append", [](NodeOptions& o) { o.max_entries_per_append = 0; }},
      {"coalesce_after_inflight_msgs",
       [](NodeOptions& o) { o.coalesce_after_inflight_msgs = o.max_inflight_msgs + 1; }},
      {"max_uncommitted_entries", [](NodeOptions& o) { o.max_uncommitted_entries = 0; }},
      {"snapshot_interval_s", [](NodeOptions& o) { o.snapshot_interval_s = -1; }},
      {"snapshot_interval_s", [](NodeOptions& o) { o.snapshot_interval_s = 315360001; }},
      {"snapshot_log_index_margin", [](NodeOptions& o) { o.snapshot_log_index_margin = -1; }},
      {"snapshot_log_tail_entries", [](NodeOptions& o) { o.snapshot_log_tail_entries = -1; }},
      {"snapshot_chunk_bytes", [](NodeOptions& o) { o.snapshot_chunk_bytes = 0; }},
      {"snapshot_chunk_bytes",
       [](NodeOptions& o) { o.snapshot_chunk_bytes = (size_t(64) << 20) + 1; }},
      {"install_snapshot_timeout_ms",
       [](NodeOptions& o) { o.install_snapshot_timeout_ms = o.rpc_timeout_ms - 1; }},
      {"install_snapshot_timeout_ms",
       [](NodeOptions& o) { o.install_snapshot_timeout_ms = 86400001; }},
  };
  for (const Case& c : cases) {
    INFO(c.option);
    NodeOptions options = valid_options(cluster, &fsm);
    c.spoil(options);
    Node node("g", cluster.peer(0));
    Status status = node.init(options);
    CHECK(status.is_invalid_argument());
    CHECK(std::string(status.message()).find(c.option) != std::string::npos);
  }
  // A configuration that leaves this node out is refused too.
  NodeOptions options = valid_options(cluster, &fsm);
  options.initial_conf = Configuration({cluster.peer(1), cluster.peer(2)});
  Node node("g", cluster.peer(0));
  Status status = node.init(options);
  CHECK(status.is_invalid_argument());
  CHECK(std::string(status.message()).find("initial_conf") != std::string::npos);
}

TEST_CASE("the snapshot options accept the ends of their ranges", "[node][options]") {
  SimCluster cluster(3, 1);
  RecordingStateMachine fsm;
  // The same options one step outside fail above: each bound is exactly where it is documented.
  NodeOptions low = valid_options(cluster, &fsm);
  low.snapshot_interval_s = 0;  // no timer
  low.snapshot_log_index_margin = 0;
  low.snapshot_log_tail_entries = 0;
  low.snapshot_chunk_bytes = 1;
  low.install_snapshot_timeout_ms = low.rpc_timeout_ms;
  CHECK(low.validate().ok());
  NodeOptions high = valid_options(cluster, &fsm);
  high.snapshot_interval_s = 315360000;
  high.snapshot_log_index_margin = INT64_MAX;
  high.snapshot_log_tail_entries = INT64_MAX;
  high.snapshot_chunk_bytes = size_t(64) << 20;
  high.install_snapshot_timeout_ms = 86400000;
  CHECK(high.validate().ok());
}

TEST_CASE("a single-node group elects itself and applies", "[node][election]") {
  SimCluster cluster(1, 7);
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(kWait).has_value());
  CHECK(cluster.propose_and_wait("x", kWait).ok());
  CHECK(cluster.fsm(0).applied_count() == 1);
  CHECK(cluster.fsm(0).leader_terms() == std::vector<Term>{Term(1)});
}

TEST_CASE(
    "apply answers EPERM on a follower, ESTALE on a term mismatch, ESHUTDOWN after "
    "shutdown",
    "[node][apply]") {
  SimCluster cluster(3, 5);
  cluster.start_all();
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  const size_t follower = (*lead + 1) % 3;
  cluster.propose(follower, "on-follower");
  REQUIRE(cluster.wait_until([&] { return cluster.outcome("on-follower").has_value(); }, kWait));
  CHECK(cluster.outcome("on-follower")->is_not_leader());

  const Term term = cluster.node(*lead)->get_status().term;
  std::optional<Status> stale;
  Task task;
  task.data = "stale";
  task.expected_term = term + 1;
  task.done = make_closure([&](const Status& s) { stale = s; });
  cluster.node(*lead)->apply(std::move(task));
  std::optional<Status> matching;
  Task good;
  good.data = "matching";
  good.expected_term = term;
  good.done = make_closure([&](const Status& s) { matching = s; });
  cluster.node(*lead)->apply(std::move(good));
  REQUIRE(cluster.wait_until([&] { return stale && matching; }, kWait));
  CHECK(stale->is_stale());
  CHECK(matching->ok());

  Node* node = cluster.node(*lead);
  cluster.stop(*lead);
  (void)node;
  // A stopped node's handle is gone; a fresh, never-started one answers ESHUTDOWN.
  Node never_started("g", cluster.peer(0));
  std::optional<Status> after;
  never_started.apply(Task{"x", make_closure([&](const Status& s) { after = s; })});
  REQUIRE(after.has_value());
  CHECK(after->is_shutdown());
}

TEST_CASE("a full apply ring answers EBUSY at once and loses nothing", "[node][apply]") {
  SimCluster cluster(1, 9);
  cluster.options().apply_queue_capacity = 16;
  cluster.options().apply_batch_max = 16;
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(kWait).has_value());
  // The simulation does not run while we publish, so the ring fills after 16 tasks.
  for (int n = 0; n < 40; ++n) cluster.propose(0, "t" + std::to_string(n));
  size_t busy = 0;
  for (int n = 0; n < 40; ++n) {
    std::optional<Status> outcome = cluster.outcome("t" + std::to_string(n));
    if (outcome) {
      CHECK(outcome->is_busy());
      ++busy;
    }
  }
  CHECK(busy == 24);
  REQUIRE(cluster.wait_until([&] { return cluster.outcomes().size() == 40; }, kWait));
  size_t ok = 0;
  for (const auto& [data, status] : cluster.outcomes()) ok += status.ok();
  CHECK(ok == 16);
  CHECK(cluster.fsm(0).applied_count() == 16);
}

// Member 1 of `cluster` (not running) asks member 0 for a (pre-)vote in `term`.
RequestVoteResponse ask_member_0_for_vote(SimCluster& cluster, Term term, bool pre_vote) {
  auto candidate = cluster.network().transport_for(cluster.peer(1));
  RequestVoteRequest request{"sim", cluster.peer(1), cluster.peer(0), term, LogId{}, pre_vote};
  std::optional<RequestVoteResponse> answer;
  candidate->request_vote(request, std::chrono::seconds(1),
                          [&](const Status& status, const RequestVoteResponse& response) {
                            REQUIRE(status.ok());
                            answer = response;
                          });
  REQUIRE(cluster.wait_until([&] { return answer.has_value(); }, kWait));
  return *answer;
}

TEST_CASE("a vote is granted only once it is durable (persist before you speak)",
          "[node][election][durability]") {
  SimCluster cluster(3, 3);
  // Only member 0 runs; the test speaks for member 1 as a candidate. A voter refuses other
  // candidates for an election timeout after it starts (a lease it heard of before a restart
  // may still run), so the test waits that long first.
  cluster.start(0);
  cluster.wait_until([] { return false; },
                     std::chrono::milliseconds(cluster.options().election_timeout_ms));
  auto ask = [&](Term term) { return ask_member_0_for_vote(cluster, term, /*pre_vote=*/false); };

  SECTION("granted and durable") {
    RequestVoteResponse answer = ask(Term(5));
    CHECK(answer.granted);
    CHECK(answer.term == Term(5));
    CHECK(cluster.meta_storage(0).term() == Term(5));
    CHECK(cluster.meta_storage(0).voted_for() == cluster.peer(1));
  }
  SECTION("a failed write refuses the vote and stops the node") {
    cluster.meta_storage(0).fail_next_write_for_testing();
    RequestVoteResponse answer = ask(Term(5));
    CHECK_FALSE(answer.granted);
    CHECK(cluster.meta_storage(0).voted_for() != cluster.peer(1));
    REQUIRE(cluster.wait_until([&] { return !cluster.fsm(0).errors().empty(); }, kWait));
    CHECK(cluster.fsm(0).errors()[0].is_io_error());
    CHECK(cluster.node(0)->get_status().role == Role::kError);
  }
}

TEST_CASE("a voter that just started refuses candidates for one election timeout",
          "[node][election][lease]") {
  SimCluster cluster(3, 4);
  cluster.start(0);
  auto ask = [&](Term term, bool pre_vote) {
    return ask_member_0_for_vote(cluster, term, pre_vote);
  };
  // Before its restart it may have followed a leader whose lease is still running.
  CHECK_FALSE(ask(Term(5), /*pre_vote=*/true).granted);
  CHECK_FALSE(ask(Term(5), /*pre_vote=*/false).granted);
  CHECK(cluster.meta_storage(0).voted_for().empty());
  cluster.wait_until([] { return false; },
                     std::chrono::milliseconds(cluster.options().election_timeout_ms));
  CHECK(ask(Term(6), /*pre_vote=*/true).granted);
  CHECK(ask(Term(6), /*pre_vote=*/false).granted);
}

TEST_CASE("a corrupted log record stops the node before it is applied", "[node][corruption]") {
  SimCluster cluster(3, 21);
  cluster.start_all();
  for (int n = 0; n < 20; ++n) {
    REQUIRE(cluster.propose_and_wait("v" + std::to_string(n), kWait).ok());
  }
  REQUIRE(cluster.wait_applied(20, kWait));
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  const size_t victim = (*lead + 1) % 3;
  cluster.stop(victim);
  const LogIndex bad(6);
  cluster.log_storage(victim).corrupt_record_for_testing(bad);
  cluster.start(victim);
  REQUIRE(cluster.wait_until([&] { return !cluster.fsm(victim).errors().empty(); }, kWait));
  CHECK(cluster.fsm(victim).errors()[0].is_corruption());
  CHECK(cluster.node(victim)->get_status().role == Role::kError);
  for (const AppliedEntry& entry : cluster.fsm(victim).applied()) CHECK(entry.index < bad);
  // The other two still form a majority and keep committing.
  CHECK(cluster.propose_and_wait("after", kWait).ok());
}

TEST_CASE("a state machine that rolls back stops the node and fails the closures",
          "[node][apply]") {
  SimCluster cluster(1, 4);
  cluster.start_all();
  REQUIRE(cluster.wait_for_leader(kWait).has_value());
  cluster.fsm(0).fail_on("poison");
  cluster.propose(0, "fine");
  cluster.propose(0, "poison");
  cluster.propose(0, "after");
  REQUIRE(cluster.wait_until([&] { return cluster.outcomes().size() == 3; }, kWait));
  CHECK(cluster.outcome("fine")->ok());
  CHECK(cluster.outcome("poison")->is_invalid_argument());
  CHECK_FALSE(cluster.outcome("after")->ok());
  REQUIRE(cluster.wait_until([&] { return !cluster.fsm(0).errors().empty(); }, kWait));
  CHECK(cluster.node(0)->get_status().role == Role::kError);
  CHECK(cluster.fsm(0).applied_count() == 1);
}

TEST_CASE("status reports term, role, indexes and per-peer replication", "[node][status]") {
  SimCluster cluster(3, 8);
  cluster.start_all();
  for (int n = 0; n < 10; ++n)
    REQUIRE(cluster.propose_and_wait("s" + std::to_string(n), kWait).ok());
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  REQUIRE(cluster.wait_until(
      [&] {
        NodeStatus s = cluster.node(*lead)->get_status();
        for (const auto& peer : s.peers) {
          if (peer.match_index != s.last_log_index) return false;
        }
        return s.applied_index == s.last_log_index;
      },
      kWait));
  NodeStatus status = cluster.node(*lead)->get_status();
  CHECK(status.role == Role::kLeader);
  CHECK(status.leader_id == cluster.peer(*lead));
  CHECK(status.last_log_index == LogIndex(11));  // configuration entry + 10 tasks
  CHECK(status.commit_index == LogIndex(11));
  CHECK(status.peers.size() == 2);
  for (const auto& peer : status.peers) CHECK(peer.next_index == LogIndex(12));
  for (size_t i = 0; i < 3; ++i) CHECK(cluster.node(i)->list_peers() == cluster.conf().peers());
  CHECK(cluster.node((*lead + 1) % 3)->get_status().peers.empty());  // followers track no peers
}

namespace {

// Stands in for a replica: records the vote requests it gets and refuses them.
class RecordingVoter : public RaftService {
 public:
  explicit RecordingVoter(SimScheduler& scheduler, bool grant_pre_votes = false)
      : scheduler_(scheduler), grant_pre_votes_(grant_pre_votes) {}
  void handle_request_vote(const RequestVoteRequest& request,
                           RpcCallback<RequestVoteResponse> done) override {
    arrivals.emplace_back(scheduler_.now(), request);
    RequestVoteResponse response;
    response.term = request.pre_vote ? request.term - 1 : request.term;
    response.granted = request.pre_vote && grant_pre_votes_;
    done(Status::OK(), response);
  }
  void handle_append_entries(const AppendEntriesRequest&,
                             RpcCallback<AppendEntriesResponse> done) override {
    done(Status::Unavailable("not a replica"), {});
  }
  void handle_install_snapshot(const InstallSnapshotRequest&,
                               RpcCallback<InstallSnapshotResponse> done) override {
    done(Status::Unavailable("not a replica"), {});
  }
  void handle_get_file(const GetFileRequest&, RpcCallback<GetFileResponse> done) override {
    done(Status::Unavailable("not a replica"), {});
  }
  void handle_timeout_now(const TimeoutNowRequest&, RpcCallback<TimeoutNowResponse> done) override {
    done(Status::Unavailable("not a replica"), {});
  }
  void handle_read_index(const ReadIndexRequest&, RpcCallback<ReadIndexResponse> done) override {
    done(Status::Unavailable("not a replica"), {});
  }
  std::vector<std::pair<TimePoint, RequestVoteRequest>> arrivals;

 private:
  SimScheduler& scheduler_;
  const bool grant_pre_votes_;
};

}  // namespace

TEST_CASE(
    "a follower without a leader pre-votes after a randomized election timeout "
    "(Raft 5.2, pre-vote)",
    "[node][election]") {
  SimCluster cluster(3, 13);
  cluster.network().set_delay(std::chrono::microseconds(0), std::chrono::microseconds(0));
  RecordingVoter voter(cluster.scheduler());
  auto voter_transport = cluster.network().transport_for(cluster.peer(1));
  REQUIRE(voter_transport->register_service("sim", cluster.peer(1), &voter).ok());
  cluster.start(0);  // peer 2 stays down; peer 1 is the recording voter

  REQUIRE(cluster.wait_until([&] { return voter.arrivals.size() >= 20; }, std::chrono::hours(1)));
  const auto timeout = std::chrono::milliseconds(cluster.options().election_timeout_ms);
  const auto delay = std::chrono::milliseconds(cluster.options().max_election_delay_ms);
  std::set<int64_t> distinct_gaps_ms;
  for (size_t k = 0; k < voter.arrivals.size(); ++k) {
    const RequestVoteRequest& request = voter.arrivals[k].second;
    // Refused pre-votes never start a real election, so the term never moves.
    CHECK(request.pre_vote);
    CHECK(request.term == Term(1));
    if (k == 0) continue;
    Duration gap = voter.arrivals[k].first - voter.arrivals[k - 1].first;
    INFO("gap " << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms");
    CHECK(gap >= timeout);
    CHECK(gap < timeout + delay);
    distinct_gaps_ms.insert(std::chrono::duration_cast<std::chrono::milliseconds>(gap).count());
  }
  CHECK(distinct_gaps_ms.size() > 5);  // randomized, not a fixed period
  CHECK(cluster.node(0)->get_status().term == Term(0));
  CHECK(cluster.meta_storage(0).term() == Term(0));
  cluster.stop(0);
  voter_transport->unregister_service("sim", cluster.peer(1));
}

TEST_CASE("a candidate asks for no vote until its new term and vote are durable",
          "[node][election][durability]") {
  SimCluster cluster(3, 17);
  RecordingVoter voter(cluster.scheduler(), /*grant_pre_votes=*/true);
  auto voter_transport = cluster.network().transport_for(cluster.peer(1));
  REQUIRE(voter_transport->register_service("sim", cluster.peer(1), &voter).ok());
  cluster.start(0);

  SECTION("the write succeeds: RequestVote carries the durable term") {
    REQUIRE(cluster.wait_until(
        [&] { return !voter.arrivals.empty() && !voter.arrivals.back().second.pre_vote; },
        std::chrono::minutes(1)));
    CHECK(voter.arrivals.back().second.term == Term(1));
    CHECK(cluster.meta_storage(0).term() == Term(1));
    CHECK(cluster.meta_storage(0).voted_for() == cluster.peer(0));
  }
  SECTION("the write fails: no RequestVote leaves and the node stops") {
    cluster.meta_storage(0).fail_next_write_for_testing();
    REQUIRE(cluster.wait_until([&] { return !cluster.fsm(0).errors().empty(); },
                               std::chrono::minutes(1)));
    cluster.wait_until([] { return false; }, std::chrono::seconds(5));
    for (const auto& [at, request] : voter.arrivals) CHECK(request.pre_vote);
    CHECK(cluster.node(0)->get_status().role == Role::kError);
    CHECK(cluster.meta_storage(0).term() == Term(0));
  }
  cluster.stop(0);
  voter_transport->unregister_service("sim", cluster.peer(1));
}

TEST_CASE("a server that hears from a live leader ignores vote and pre-vote requests (Raft 6)",
          "[node][election]") {
  SimCluster cluster(3, 23);
  // Members 0 and 1 form a majority; the test speaks for member 2 as a disruptive candidate
  // with a newer term and a longer log.
  cluster.start(0);
  cluster.start(1);
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  const size_t follower = 1 - *lead;
  REQUIRE(cluster.wait_until(
      [&] { return cluster.node(follower)->leader_id() == cluster.peer(*lead); }, kWait));
  const Term term = cluster.node(follower)->get_status().term;

  auto disruptor = cluster.network().transport_for(cluster.peer(2));
  auto ask = [&](size_t target, bool pre_vote) {
    RequestVoteRequest request{
        "sim",   cluster.peer(2), cluster.peer(target), term + 5, LogId{LogIndex(1000), term},
        pre_vote};
    std::optional<RequestVoteResponse> answer;
    disruptor->request_vote(request, std::chrono::seconds(1),
                            [&](const Status& status, const RequestVoteResponse& response) {
                              REQUIRE(status.ok());
                              answer = response;
                            });
    REQUIRE(cluster.wait_until([&] { return answer.has_value(); }, kWait));
    return *answer;
  };
  for (size_t target : {follower, *lead}) {
    INFO("asking " << (target == *lead ? "the leader" : "the follower"));
    CHECK_FALSE(ask(target, /*pre_vote=*/true).granted);
    CHECK_FALSE(ask(target, /*pre_vote=*/false).granted);
    CHECK(cluster.node(target)->get_status().term == term);
  }
  CHECK(cluster.node(*lead)->is_leader());
  CHECK(cluster.meta_storage(follower).term() == term);
}

TEST_CASE("a committed entry that cannot be read back stops the node before it is applied",
          "[node][durability]") {
  auto fault = std::make_shared<InjectedDiskFault>("test");
  // No cache: every durable entry is evicted at once, so the state machine reads storage.
  SingleLeader one(
      37, std::make_shared<FaultInjectingLogStorage>(std::make_shared<MemoryLogStorage>(), fault),
      /*log_cache_max_bytes=*/0);
  REQUIRE(one.propose_and_wait().ok());
  const size_t applied_before = one.fsm.applied_count();

  fault->arm(InjectedDiskFault::kReads);  // Writes still succeed: the entry commits.
  CHECK_FALSE(one.propose_and_wait().ok());
  REQUIRE(one.cluster.wait_until([&] { return !one.fsm.errors().empty(); }, kWait));
  CHECK(one.fsm.errors()[0].is_io_error());
  CHECK(one.fsm.errors()[0].to_string().find("injected disk fault") != std::string::npos);
  REQUIRE(
      one.cluster.wait_until([&] { return one.node->get_status().role == Role::kError; }, kWait));
  CHECK(one.fsm.applied_count() == applied_before);  // What could not be read was never applied.
}

TEST_CASE("a failed log write stops the node: no more writes, closures fail, on_error reports",
          "[node][durability]") {
  auto log = std::make_shared<FaultyLogStorage>();
  SingleLeader one(31, log);
  CHECK(one.propose_and_wait().ok());

  log->fail_all = true;
  CHECK_FALSE(one.propose_and_wait().ok());
  REQUIRE(one.cluster.wait_until([&] { return !one.fsm.errors().empty(); }, kWait));
  CHECK(one.fsm.errors()[0].is_io_error());
  CHECK(one.node->get_status().role == Role::kError);
  CHECK(one.fsm.applied_count() == 1);  // the failed entry was never applied

  CHECK(one.propose_and_wait().is_io_error());  // a stopped node accepts nothing
}

TEST_CASE(
    "a durable append answered after the term moved on carries the new term, not a success "
    "for the old one",
    "[node][append]") {
  // The follower answers a durable append from its disk lane only while it still follows in
  // the request's term; here the term changes while the fsync is held, so the answer must come
  // from the node lane with the new term.
  SimCluster cluster(3, 29);
  RecordingStateMachine fsm;
  NodeOptions options = valid_options(cluster, &fsm);
  auto log = std::make_shared<FaultyLogStorage>();
  log->defer_syncs = true;
  options.log_storage = log;
  Node node("sim", cluster.peer(0));
  REQUIRE(node.init(options).ok());
  auto old_leader = cluster.network().transport_for(cluster.peer(1));
  auto new_leader = cluster.network().transport_for(cluster.peer(2));

  AppendEntriesRequest append;
  append.group_id = "sim";
  append.server_id = cluster.peer(1);
  append.peer_id = cluster.peer(0);
  append.term = Term(1);
  append.entries = {make_entry(EntryType::kData, LogIndex(1), Term(1), "x")};
  std::optional<AppendEntriesResponse> first;
  old_leader->append_entries(append, std::chrono::seconds(60),
                             [&](const Status& status, const AppendEntriesResponse& response) {
                               REQUIRE(status.ok());
                               first = response;
                             });
  REQUIRE(cluster.wait_until([&] { return log->held_syncs() > 0; }, kWait));
  CHECK_FALSE(first.has_value());  // Not durable yet: no answer.

  AppendEntriesRequest heartbeat;
  heartbeat.group_id = "sim";
  heartbeat.server_id = cluster.peer(2);
  heartbeat.peer_id = cluster.peer(0);
  heartbeat.term = Term(2);
  heartbeat.prev_log_id = LogId{LogIndex(1), Term(1)};
  std::optional<AppendEntriesResponse> second;
  new_leader->append_entries(heartbeat, std::chrono::seconds(60),
                             [&](const Status& status, const AppendEntriesResponse& response) {
                               REQUIRE(status.ok());
                               second = response;
                             });
  REQUIRE(cluster.wait_until([&] { return node.get_status().term == Term(2); }, kWait));

  log->release_syncs();
  REQUIRE(cluster.wait_until([&] { return first.has_value() && second.has_value(); }, kWait));
  CHECK(first->term == Term(2));
  CHECK_FALSE(first->success);
  CHECK(second->term == Term(2));
  CHECK(second->success);
  CHECK(second->last_log_index == LogIndex(1));

  node.shutdown(nullptr);
  log->release_syncs();
  CHECK(cluster.wait_until([&] { return node.is_shut_down(); }, kWait));
  node.join();
}

namespace {

// Starts every member with heartbeats (which carry the commit index too) kept out of the
// measured window, and commits "first". Returns the leader.
size_t start_with_slow_heartbeats(SimCluster& cluster) {
  cluster.options().election_timeout_ms = 20000;
  cluster.options().heartbeat_interval_ms = 5000;
  cluster.start_all();
  std::optional<size_t> lead = cluster.wait_for_leader(kWait);
  REQUIRE(lead.has_value());
  REQUIRE(cluster.propose_and_wait("first", kWait).ok());
  return *lead;
}

SimClusterOptions sim_disks_syncing_in(Duration sync_latency) {
  SimClusterOptions disks;
  disks.sim_disk = true;
  disks.disk.with_latency(SimFileSystem::OpClass::kSync, sync_latency);
  return disks;
}

}  // namespace

TEST_CASE(
    "a follower applies what the leader committed when the next entries arrive, without waiting "
    "for their fsync",
    "[node][apply]") {
  constexpr Duration kSyncLatency = std::chrono::milliseconds(50);
  SimCluster cluster(3, 11, sim_disks_syncing_in(kSyncLatency));
  const size_t lead = start_with_slow_heartbeats(cluster);
  const size_t follower = (lead + 1) % 3;
  auto applied_first = [&] {
    for (const AppliedEntry& e : cluster.fsm(follower).applied()) {
      if (e.data == "first") return true;
    }
    return false;
  };
  // The leader has committed "first"; the follower learns it from the next request.
  REQUIRE_FALSE(applied_first());
  const TimePoint proposed = cluster.scheduler().now();
  cluster.propose(lead, "second");
  REQUIRE(cluster.wait_until(applied_first, kWait));
  // Before this follower's fsync of "second" could have returned.
  CHECK(cluster.scheduler().now() - proposed < kSyncLatency);
  REQUIRE(cluster.wait_until([&] { return cluster.outcome("second").has_value(); }, kWait));
  CHECK(cluster.outcome("second")->ok());
}

TEST_CASE(
    "with one follower down the leader commits once its own fsync and the follower's are both "
    "done, whichever finishes first",
    "[node][replication][durability]") {
  // The leader's own vote reaches the ballot box either from its disk lane (when its fsync
  // finishes after the follower's report) or with the follower's report (when its fsync
  // finished first, the disk lane posts nothing). With the third member stopped, each write
  // needs both votes, so a path that drops the leader's vote stalls the write, and a path that
  // counts it before its fsync commits too early.
  constexpr Duration kFast = std::chrono::milliseconds(1);
  constexpr Duration kSlow = std::chrono::milliseconds(30);
  SimCluster cluster(3, 41, sim_disks_syncing_in(kFast));
  const size_t lead = start_with_slow_heartbeats(cluster);
  const size_t follower = (lead + 1) % 3;
  cluster.stop((lead + 2) % 3);

  auto commit_time = [&](const std::string& data) {
    const TimePoint proposed = cluster.scheduler().now();
    cluster.propose(lead, data);
    REQUIRE(cluster.wait_until([&] { return cluster.outcome(data).has_value(); }, kWait));
    CHECK(cluster.outcome(data)->ok());
    return cluster.scheduler().now() - proposed;
  };
  SECTION("the leader's fsync finishes last") {
    cluster.disk(lead).set_latency(SimFileSystem::OpClass::kSync, kSlow);
    for (int i = 0; i < 3; ++i) CHECK(commit_time("slow-leader-" + std::to_string(i)) >= kSlow);
  }
  SECTION("the follower's fsync finishes last") {
    cluster.disk(follower).set_latency(SimFileSystem::OpClass::kSync, kSlow);
    for (int i = 0; i < 3; ++i) CHECK(commit_time("slow-follower-" + std::to_string(i)) >= kSlow);
  }
  cluster.stop_all();
}
