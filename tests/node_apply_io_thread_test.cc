// The state machine's applying stays off the RPC IO threads (NodeOptions::apply_on_io_threads
// off, the default): process P, whose transport has one IO thread, hosts a follower of group
// A whose on_apply does not return and the only follower of group B. A commits through its
// third replica, so P's follower of A is told of the commit and gets stuck applying; B's
// leader, in process Q, still needs P's follower for every commit. B keeps committing: P's IO
// thread still reads and answers B's AppendEntries. With applying allowed on the IO thread,
// the stuck on_apply takes that thread and B stops.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "raft/executor_pool.h"
#include "raft/node.h"
#include "raft/rpc/tcp_transport.h"
#include "support/pooled_replica.h"

using namespace raft;
using namespace raft::testing;

namespace {

// One "process": an ExecutorPool and a TcpTransport with one IO thread, on a free port.
struct Process {
  explicit Process(size_t workers) : pool(std::make_shared<ExecutorPool>(workers, 1)) {
    rpc::TcpTransportOptions options;
    options.io_threads = 1;
    tcp = std::make_shared<rpc::TcpTransport>("127.0.0.1:0", options);
    REQUIRE(tcp->start().ok());
    peer = PeerId::parse(tcp->listen_address()).value();
  }
  ~Process() { tcp->shutdown(); }
  std::shared_ptr<ExecutorPool> pool;
  std::shared_ptr<rpc::TcpTransport> tcp;
  PeerId peer;
};

// A replica of `group` in `process`.
std::unique_ptr<PooledReplica> replica_in(const GroupId& group, Process& process,
                                          const Configuration& conf, int election_timeout_ms,
                                          std::function<void()> before_apply = nullptr) {
  return std::make_unique<PooledReplica>(group, process.peer, conf, process.pool, process.tcp,
                                         election_timeout_ms, std::move(before_apply));
}

}  // namespace

TEST_CASE(
    "a follower stuck in on_apply does not hold its process's RPC thread: another group's "
    "follower there keeps acknowledging",
    "[node][io][tcp]") {
  // P: two workers (one stays free while the other is stuck in A's on_apply), one IO thread.
  Process p(2), q(2), r(1);
  // Declared after the processes, so destroyed before them; `gate` after the replicas, so
  // the stuck apply returns before the nodes are shut down, also when a REQUIRE fails.
  std::vector<std::unique_ptr<PooledReplica>> replicas;
  ApplyGate gate;

  // Q's replicas time out first and usually lead; P's and R's wait longer.
  const Configuration conf_a({q.peer, p.peer, r.peer});
  const Configuration conf_b({q.peer, p.peer});
  replicas.push_back(replica_in("a", q, conf_a, 300));
  PooledReplica* a_leader = replicas.back().get();
  replicas.push_back(replica_in("a", p, conf_a, 1000, gate.hook()));
  PooledReplica* a_stuck = replicas.back().get();
  replicas.push_back(replica_in("a", r, conf_a, 1000));
  replicas.push_back(replica_in("b", q, conf_b, 300));
  PooledReplica* b_leader = replicas.back().get();
  replicas.push_back(replica_in("b", p, conf_b, 1000));
  // Each group's leader must be its replica in Q: hand leadership over if another won.
  for (PooledReplica* leader : {a_leader, b_leader}) {
    PooledReplica* elected = nullptr;
    REQUIRE(wait_for([&] {
      for (const auto& replica : replicas) {
        if (replica->group == leader->group && replica->node->is_leader()) elected = replica.get();
      }
      return elected != nullptr;
    }));
    if (elected != leader) {
      std::atomic<bool> transferred{false};
      elected->node->transfer_leadership_to(
          leader->peer, make_closure([&](const Status& s) { transferred = s.ok(); }));
      REQUIRE(wait_for([&] { return transferred.load(); }));
    }
    REQUIRE(wait_for([&] { return leader->leads_with_fsm_told(); }));
  }
  std::atomic<int> b_acked{0};
  for (int i = 0; i < 10; ++i) b_leader->propose("warm" + std::to_string(i), &b_acked);
  REQUIRE(wait_for([&] { return b_acked.load() == 10; }));

  gate.arm();
  std::atomic<int> a_acked{0};
  a_leader->propose("stuck", &a_acked);
  REQUIRE(wait_for([&] { return gate.held() == 1; }));
  CHECK(wait_for([&] { return a_acked.load() == 1; }));  // Committed on A's leader, through R.

  // One write at a time, each needing P's follower of B.
  for (int i = 0; i < 30; ++i) {
    b_leader->propose("b" + std::to_string(i), &b_acked);
    INFO("write " << i);
    REQUIRE(wait_for([&] { return b_acked.load() == 11 + i; }));
  }
  CHECK(gate.held() == 1);
  CHECK(a_stuck->fsm.applied_count() == 0);

  gate.release();
  REQUIRE(wait_for([&] { return a_stuck->fsm.applied_count() == 1; }));
  replicas.clear();
}
