// PooledReplica: one replica on real threads for tests that place groups in "processes" of
// their own (an ExecutorPool each, a transport each): its node, a FaultyLogStorage, memory
// meta storage and a RecordingStateMachine. Also wait_for(), the real-time poll such tests use.
// Thread-safety: as Node; construct and destroy on the test's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

#include "raft/node.h"
#include "raft/storage/memory_meta_storage.h"
#include "support/faulty_log_storage.h"
#include "support/recording_fsm.h"

namespace raft::testing {

inline constexpr auto kPooledWait = std::chrono::seconds(20);

// Polls `done` until it holds or `limit` passes (real threads: there is nothing to step).
inline bool wait_for(const std::function<bool()>& done,
                     std::chrono::milliseconds limit = kPooledWait) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Holds on_apply calls that start after arm() until release() (or destruction): hook() is the
// before_apply for the replicas to hold. Declare it after the replicas it holds, so that it is
// destroyed first and their nodes can shut down, also when a REQUIRE fails.
class ApplyGate {
 public:
  ApplyGate() : opened_(open_.get_future().share()) {}
  ~ApplyGate() { release(); }
  ApplyGate(const ApplyGate&) = delete;
  ApplyGate& operator=(const ApplyGate&) = delete;

  std::function<void()> hook() {
    return [this, opened = opened_] {
      if (!armed_.load()) return;
      held_.fetch_add(1);
      opened.wait();
    };
  }
  void arm() { armed_ = true; }
  // How many on_apply calls entered the gate (they wait until release()).
  int held() const { return held_.load(); }
  void release() {
    if (!released_.exchange(true)) open_.set_value();
  }

 private:
  std::promise<void> open_;
  std::shared_future<void> opened_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> released_{false};
  std::atomic<int> held_{0};
};

struct PooledReplica {
  // `before_apply`, if set, runs at the start of every on_apply (set before the node starts).
  PooledReplica(const GroupId& group_id, const PeerId& self, const Configuration& conf,
                std::shared_ptr<Runtime> runtime, std::shared_ptr<RaftTransport> transport,
                int election_timeout_ms, std::function<void()> before_apply = nullptr)
      : group(group_id), peer(self) {
    if (before_apply) fsm.before_apply(std::move(before_apply));
    NodeOptions options;
    options.runtime = std::move(runtime);
    options.initial_conf = conf;
    options.fsm = &fsm;
    options.log_storage = log;
    options.meta_storage = std::make_shared<MemoryRaftMetaStorage>();
    options.transport = std::move(transport);
    options.election_timeout_ms = election_timeout_ms;
    options.max_election_delay_ms = election_timeout_ms / 2;
    node = std::make_unique<Node>(group, peer);
    REQUIRE(node->init(options).ok());
  }
  ~PooledReplica() {
    log->release_writes();  // Also on a failed REQUIRE, so that the node can stop.
    node->shutdown(nullptr);
    CHECK(wait_for([&] { return node->is_shut_down(); }));
    node->join();
  }
  PooledReplica(const PooledReplica&) = delete;
  PooledReplica& operator=(const PooledReplica&) = delete;

  // Proposes `data`; `acknowledged` counts the successful closures.
  void propose(const std::string& data, std::atomic<int>* acknowledged) {
    Task task;
    task.data = data;
    task.done = make_closure([acknowledged](const Status& s) {
      if (s.ok()) acknowledged->fetch_add(1);
    });
    node->apply(std::move(task));
  }
  // Leading, with on_leader_start run for the term it leads in.
  bool leads_with_fsm_told() const {
    NodeStatus status = node->get_status();
    std::vector<Term> terms = fsm.leader_terms();
    return status.role == Role::kLeader && !terms.empty() && terms.back() == status.term;
  }

  GroupId group;
  PeerId peer;
  std::shared_ptr<FaultyLogStorage> log = std::make_shared<FaultyLogStorage>();
  RecordingStateMachine fsm;
  std::unique_ptr<Node> node;
};

}  // namespace raft::testing
