// TestCluster: N replicas of one group under test, on the deterministic simulation (SimCluster)
// or on real threads and TCP (TcpCluster), behind one interface so that every protocol scenario
// runs on both.
//
// Each member keeps its storage across stop()/start(), like a process that is killed and
// restarted on the same disk; its state machine starts empty on every start().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/node.h"
#include "support/recording_fsm.h"

namespace raft::testing {

class TestCluster {
 public:
  virtual ~TestCluster() = default;

  size_t size() const { return peers_.size(); }
  const PeerId& peer(size_t i) const { return peers_.at(i); }
  Configuration conf() const { return Configuration(peers_); }
  // Makes only `members` the initial configuration; the others start as joining replicas
  // (empty NodeOptions.initial_conf) that wait for a leader to add them. Applies to starts
  // after the call.
  void set_initial_members(const std::vector<size_t>& members) {
    std::vector<PeerId> peers;
    for (size_t i : members) peers.push_back(peers_.at(i));
    initial_conf_ = Configuration(std::move(peers));
  }
  // Makes `conf` (e.g. with priorities) the initial configuration of starts after the call.
  void set_initial_conf(Configuration conf) { initial_conf_ = std::move(conf); }
  Configuration initial_conf() const { return initial_conf_ ? *initial_conf_ : conf(); }
  // Null while member i is stopped.
  Node* node(size_t i) const { return nodes_.at(i).get(); }
  // The state machine of member i's current incarnation.
  RecordingStateMachine& fsm(size_t i) const { return *fsms_.at(i); }

  virtual void start(size_t i) = 0;
  // Shuts member i down and waits for it; its storage survives.
  virtual void stop(size_t i) = 0;
  // Runs (simulation) or waits (real time) until `done()` holds or `limit` passes.
  virtual bool wait_until(const std::function<bool()>& done, Duration limit) = 0;

  virtual void isolate(size_t i) = 0;
  virtual void partition(const std::vector<std::vector<size_t>>& sides) = 0;
  virtual void heal() = 0;

  void start_all() {
    for (size_t i = 0; i < size(); ++i) start(i);
  }
  void stop_all() {
    for (size_t i = 0; i < size(); ++i) {
      if (node(i)) stop(i);
    }
  }

  // The running member that believes it leads at the highest term, if any.
  std::optional<size_t> leader() const;
  // Waits for a leader that a majority of running members agree on.
  std::optional<size_t> wait_for_leader(Duration limit);
  // Waits until every running member has applied at least `count` data entries.
  bool wait_applied(size_t count, Duration limit);

  // Proposes `data` on member i; the outcome lands in `outcomes()[data]` when the closure runs.
  void propose(size_t i, const std::string& data);
  // Proposes on whoever leads and waits for the outcome.
  Status propose_and_wait(const std::string& data, Duration limit);
  std::optional<Status> outcome(const std::string& data) const;
  // Asks member i for a snapshot (Node::snapshot) and waits for its outcome; ETIMEDOUT if it
  // does not come within `limit`.
  Status snapshot_and_wait(size_t i, Duration limit);
  std::map<std::string, Status> outcomes() const;

  // Checks Election Safety (Raft §5.2) on what every running member reports now: at most one
  // leader per term, over the whole run. Called by wait_until implementations at every step.
  void observe();
  const std::map<Term, PeerId>& leaders_by_term() const { return leaders_by_term_; }

 protected:
  // Starts member i's node of `group` with a fresh state machine on the given storage and
  // transport; `options` supplies timeouts and the runtime. Aborts if init fails.
  void start_node(size_t i, const GroupId& group, NodeOptions options,
                  std::shared_ptr<LogStorage> log, std::shared_ptr<RaftMetaStorage> meta,
                  std::shared_ptr<RaftTransport> transport);

  std::vector<PeerId> peers_;
  std::optional<Configuration> initial_conf_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<RecordingStateMachine>> fsms_;

 private:
  struct Outcomes;
  std::shared_ptr<Outcomes> outcomes_ = make_outcomes();
  static std::shared_ptr<Outcomes> make_outcomes();
  std::map<Term, PeerId> leaders_by_term_;
};

}  // namespace raft::testing
