// Blocking IO stays off the CPU lanes (issue: "a process whose two pool threads are both in
// fsync still answers RPCs and applies"). Process P (an ExecutorPool with two workers and two
// IO threads) hosts two single-replica groups whose log writes are held, so both of P's IO
// threads sit inside a write that does not return, and the leader of a three-replica group
// whose followers live in process Q. While P can write nothing to its disk, that leader still
// replicates, commits on its followers' acknowledgements, applies, acknowledges its clients and
// serves a ReadIndex read. And the other way round: a state machine slow in on_apply never
// holds one of those IO threads, so other groups' log writes go on.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "raft/executor_pool.h"
#include "raft/node.h"
#include "raft/rpc/in_process_transport.h"
#include "support/pooled_replica.h"

using namespace raft;
using namespace raft::testing;

namespace {
using Replica = PooledReplica;
}  // namespace

TEST_CASE(
    "with both IO threads of a process held in a log write, its leader still commits, "
    "applies and serves reads",
    "[node][io]") {
  auto p = std::make_shared<ExecutorPool>(/*num_threads=*/2, /*io_threads=*/2);
  auto q = std::make_shared<ExecutorPool>(/*num_threads=*/2, /*io_threads=*/2);
  REQUIRE(p->num_io_threads() == 2);
  // The wire runs on Q, so that P's threads do only P's work.
  auto network = std::make_shared<rpc::InProcessNetwork>(*q, 11);
  const PeerId held_a_peer("127.0.0.1", 7101), held_b_peer("127.0.0.1", 7102);
  const PeerId leader_peer("127.0.0.1", 7103), f1("127.0.0.1", 7104), f2("127.0.0.1", 7105);
  const Configuration live_conf({leader_peer, f1, f2});
  std::vector<std::unique_ptr<Replica>> replicas;
  auto add = [&](const GroupId& group, const PeerId& peer, const Configuration& conf,
                 const std::shared_ptr<ExecutorPool>& pool, int election_timeout_ms) {
    replicas.push_back(std::make_unique<Replica>(
        group, peer, conf, pool, network->transport_for(peer), election_timeout_ms));
    return replicas.back().get();
  };
  Replica* held_a = add("held-a", held_a_peer, Configuration({held_a_peer}), p, 300);
  Replica* held_b = add("held-b", held_b_peer, Configuration({held_b_peer}), p, 300);
  Replica* leader = add("live", leader_peer, live_conf, p, 1000);
  Replica* follower1 = add("live", f1, live_conf, q, 1000);
  Replica* follower2 = add("live", f2, live_conf, q, 1000);
  // The live group's leader must be the replica in P: hand leadership over if Q's won.
  Replica* elected = nullptr;
  REQUIRE(wait_for([&] {
    for (Replica* r : {leader, follower1, follower2}) {
      if (r->node->is_leader()) elected = r;
    }
    return elected != nullptr;
  }));
  if (elected != leader) {
    std::atomic<bool> transferred{false};
    elected->node->transfer_leadership_to(
        leader_peer, make_closure([&](const Status& s) { transferred = s.ok(); }));
    REQUIRE(wait_for([&] { return transferred.load(); }));
  }
  for (Replica* r : {held_a, held_b, leader}) {
    INFO("waiting for " << r->peer << " to lead");
    REQUIRE(wait_for([&] { return r->leads_with_fsm_told(); }));
  }
  std::atomic<int> live_acked{0};
  for (int i = 0; i < 10; ++i) leader->propose("warm" + std::to_string(i), &live_acked);
  REQUIRE(wait_for([&] { return live_acked.load() == 10; }));

  // Both of P's IO threads go into a write that does not return.
  std::atomic<int> held_acked{0};
  for (Replica* r : {held_a, held_b}) {
    r->log->hold_writes();
    r->propose("stuck", &held_acked);
  }
  REQUIRE(wait_for(
      [&] { return held_a->log->writes_waiting() == 1 && held_b->log->writes_waiting() == 1; }));
  const int leader_writes_before = leader->log->writes.load();

  // The leader replicates, commits on its followers' acknowledgements, applies and answers.
  for (int i = 0; i < 100; ++i) leader->propose("live" + std::to_string(i), &live_acked);
  REQUIRE(wait_for([&] { return live_acked.load() == 110; }));
  CHECK(leader->fsm.applied_count() == 110);
  REQUIRE(wait_for([&] {
    return follower1->fsm.applied_count() == 110 && follower2->fsm.applied_count() == 110;
  }));
  CHECK(leader->fsm.hash() == follower1->fsm.hash());

  // And serves a linearizable read (one heartbeat round, no disk).
  const LogIndex committed = leader->node->get_status().commit_index;
  std::atomic<bool> read_done{false};
  std::atomic<int64_t> read_index{-1};
  leader->node->read_index(make_read_index_closure([&](const Status& status, LogIndex index) {
    if (status.ok()) read_index = index.value();
    read_done = true;
  }));
  REQUIRE(wait_for([&] { return read_done.load(); }));
  CHECK(read_index.load() >= committed.value());

  // All of that with both IO threads held: the leader's own log writes could not run.
  CHECK(held_a->log->writes_waiting() == 1);
  CHECK(held_b->log->writes_waiting() == 1);
  CHECK(held_acked.load() == 0);
  CHECK(leader->log->writes.load() == leader_writes_before);

  for (Replica* r : {held_a, held_b}) r->log->release_writes();
  REQUIRE(wait_for([&] { return held_acked.load() == 2; }));
  // The leader's writes catch up once an IO thread is free.
  REQUIRE(wait_for([&] { return leader->log->last_log_index() >= committed; }));
  replicas.clear();
}

TEST_CASE(
    "a slow on_apply never holds a disk thread: with two groups stuck in on_apply, a third "
    "group of the process still makes its writes durable",
    "[node][io]") {
  // Three workers, so that the two stuck applies leave one for the third group's lanes; two
  // IO threads, which an on_apply run inline where a write became durable would take both of.
  auto p = std::make_shared<ExecutorPool>(/*num_threads=*/3, /*io_threads=*/2);
  auto q = std::make_shared<ExecutorPool>(/*num_threads=*/1, /*io_threads=*/1);
  auto network = std::make_shared<rpc::InProcessNetwork>(*q, 12);
  std::vector<std::unique_ptr<Replica>> replicas;
  // Declared after `replicas`, so destroyed first: the stuck applies return before the nodes
  // are shut down, also when a REQUIRE fails.
  ApplyGate gate;

  std::vector<Replica*> slow;
  for (const char* name : {"slow-a", "slow-b"}) {
    const PeerId peer("127.0.0.1", 7201 + static_cast<int>(slow.size()));
    replicas.push_back(std::make_unique<Replica>(name, peer, Configuration({peer}), p,
                                                 network->transport_for(peer), 300, gate.hook()));
    slow.push_back(replicas.back().get());
  }
  const PeerId live_peer("127.0.0.1", 7203);
  replicas.push_back(std::make_unique<Replica>("live", live_peer, Configuration({live_peer}), p,
                                               network->transport_for(live_peer), 300));
  Replica* live = replicas.back().get();
  for (const auto& r : replicas) {
    REQUIRE(wait_for([&] { return r->leads_with_fsm_told(); }));
  }

  gate.arm();
  std::atomic<int> slow_acked{0};
  for (Replica* r : slow) r->propose("slow", &slow_acked);
  REQUIRE(wait_for([&] { return gate.held() == 2; }));

  // One write at a time, so each finds the lanes idle: where it becomes durable is where an
  // inline apply would have run.
  std::atomic<int> live_acked{0};
  for (int i = 0; i < 50; ++i) {
    live->propose("live" + std::to_string(i), &live_acked);
    INFO("write " << i);
    REQUIRE(wait_for([&] { return live_acked.load() == i + 1; }));
  }
  CHECK(live->fsm.applied_count() >= 50);
  CHECK(gate.held() == 2);
  CHECK(slow_acked.load() == 0);

  gate.release();
  REQUIRE(wait_for([&] { return slow_acked.load() == 2; }));
  replicas.clear();
}
