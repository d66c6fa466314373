#include "support/cluster.h"

#include <mutex>

#include "raft/check.h"

namespace raft::testing {

struct TestCluster::Outcomes {
  std::mutex mutex;
  std::map<std::string, Status> by_data;
};

std::shared_ptr<TestCluster::Outcomes> TestCluster::make_outcomes() {
  return std::make_shared<Outcomes>();
}

void TestCluster::start_node(size_t i, const GroupId& group, NodeOptions options,
                             std::shared_ptr<LogStorage> log, std::shared_ptr<RaftMetaStorage> meta,
                             std::shared_ptr<RaftTransport> transport) {
  PONTOON_CHECK(!nodes_[i]);
  fsms_[i] = std::make_unique<RecordingStateMachine>();
  const Configuration initial = initial_conf();
  options.initial_conf = initial.contains(peers_[i]) ? initial : Configuration();
  options.fsm = fsms_[i].get();
  options.log_storage = std::move(log);
  options.meta_storage = std::move(meta);
  options.transport = std::move(transport);
  auto node = std::make_unique<Node>(group, peers_[i]);
  Status started = node->init(options);
  PONTOON_CHECK_MSG(started.ok(), started.to_string().c_str());
  nodes_[i] = std::move(node);
}

std::optional<size_t> TestCluster::leader() const {
  std::optional<size_t> best;
  Term best_term;
  for (size_t i = 0; i < size(); ++i) {
    if (!node(i)) continue;
    NodeStatus status = node(i)->get_status();
    if (status.role == Role::kLeader && (!best || status.term > best_term)) {
      best = i;
      best_term = status.term;
    }
  }
  return best;
}

std::optional<size_t> TestCluster::wait_for_leader(Duration limit) {
  std::optional<size_t> found;
  bool ok = wait_until(
      [&] {
        found = leader();
        if (!found) return false;
        // A majority of the group (counting the leader) must follow it at its term.
        NodeStatus lead = node(*found)->get_status();
        size_t agree = 0;
        for (size_t i = 0; i < size(); ++i) {
          if (!node(i)) continue;
          NodeStatus status = node(i)->get_status();
          if (status.term == lead.term && status.leader_id == peer(*found)) ++agree;
        }
        return agree >= size() / 2 + 1;
      },
      limit);
  return ok ? found : std::nullopt;
}

bool TestCluster::wait_applied(size_t count, Duration limit) {
  return wait_until(
      [&] {
        for (size_t i = 0; i < size(); ++i) {
          if (node(i) && fsm(i).applied_count() < count) return false;
        }
        return true;
      },
      limit);
}

void TestCluster::propose(size_t i, const std::string& data) {
  std::shared_ptr<Outcomes> outcomes = outcomes_;
  Task task;
  task.data = data;
  task.done = make_closure([outcomes, data](const Status& status) {
    std::lock_guard<std::mutex> lock(outcomes->mutex);
    auto [it, inserted] = outcomes->by_data.emplace(data, status);
    PONTOON_CHECK_MSG(inserted, "a closure ran twice");
  });
  node(i)->apply(std::move(task));
}

Status TestCluster::propose_and_wait(const std::string& data, Duration limit) {
  std::optional<size_t> lead = wait_for_leader(limit);
  if (!lead) return Status::TimedOut("no leader");
  propose(*lead, data);
  if (!wait_until([&] { return outcome(data).has_value(); }, limit)) {
    return Status::TimedOut("no outcome for " + data);
  }
  return *outcome(data);
}

Status TestCluster::snapshot_and_wait(size_t i, Duration limit) {
  // Shared, not on this stack: on real threads the closure may still run after a timeout.
  struct Result {
    std::mutex mutex;
    std::optional<Status> status;
  };
  auto result = std::make_shared<Result>();
  node(i)->snapshot(make_closure([result](const Status& s) {
    std::lock_guard<std::mutex> lock(result->mutex);
    result->status = s;
  }));
  std::optional<Status> seen;
  wait_until(
      [&] {
        std::lock_guard<std::mutex> lock(result->mutex);
        seen = result->status;
        return seen.has_value();
      },
      limit);
  return seen ? *seen : Status::TimedOut("the snapshot did not finish");
}

std::optional<Status> TestCluster::outcome(const std::string& data) const {
  std::lock_guard<std::mutex> lock(outcomes_->mutex);
  auto it = outcomes_->by_data.find(data);
  if (it == outcomes_->by_data.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, Status> TestCluster::outcomes() const {
  std::lock_guard<std::mutex> lock(outcomes_->mutex);
  return outcomes_->by_data;
}

void TestCluster::observe() {
  for (size_t i = 0; i < size(); ++i) {
    if (!node(i)) continue;
    NodeStatus status = node(i)->get_status();
    if (status.role != Role::kLeader) continue;
    auto [it, inserted] = leaders_by_term_.emplace(status.term, peer(i));
    PONTOON_CHECK_MSG(inserted || it->second == peer(i), "two leaders in one term");
  }
}

}  // namespace raft::testing
