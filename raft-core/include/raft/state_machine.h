// StateMachine: what a service built on Pontoon implements.
//
// Every callback runs on the node's state-machine lane, one at a time, never concurrently,
// in the order the events happened. None may block for long: the next committed batch waits.
// Callbacks other than on_apply have empty defaults.
#pragma once

#include "raft/configuration.h"
#include "raft/iterator.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

// Why a node started or stopped following a leader.
struct LeaderChangeContext {
  PeerId leader_id;
  Term term;
  Status status;  // OK when following starts; the reason when it stops.
};

class StateMachine {
 public:
  virtual ~StateMachine() = default;

  // Committed entries, in log order, in batches. Every committed data entry is passed exactly
  // once per process lifetime; after a restart the log is replayed from the start (until
  // snapshots exist), so the state machine starts empty.
  virtual void on_apply(Iterator& iter) = 0;

  // The node has shut down; no callback follows.
  virtual void on_shutdown() {}
  // This node's first entry as leader of `term` has been applied: the state machine has seen
  // everything committed before the node became leader.
  virtual void on_leader_start(Term term) { (void)term; }
  virtual void on_leader_stop(const Status& status) { (void)status; }
  // The node has stopped (disk failure, corruption, an apply error): it accepts no writes.
  virtual void on_error(const Status& error) { (void)error; }
  virtual void on_configuration_committed(const Configuration& conf) { (void)conf; }
  virtual void on_start_following(const LeaderChangeContext& ctx) { (void)ctx; }
  virtual void on_stop_following(const LeaderChangeContext& ctx) { (void)ctx; }
};

}  // namespace raft
