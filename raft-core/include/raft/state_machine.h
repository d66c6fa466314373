// StateMachine: what a service built on Pontoon implements.
//
// Every callback runs on the node's state-machine lane, one at a time, never concurrently,
// in the order the events happened. None may block for long: the next committed batch waits.
// They (and the closures they run) run inside a SendBatchScope (raft/send_batch.h): RPC frames
// they send over raft-rpc leave together when the batch ends, so a callback that must wait for
// an answer waits with raft::rpc::wait_for_callback (which sends first), never otherwise.
// Callbacks other than on_apply have empty defaults.
#pragma once

#include <memory>

#include "raft/closure.h"
#include "raft/configuration.h"
#include "raft/iterator.h"
#include "raft/peer_id.h"
#include "raft/snapshot.h"
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
  // once per process lifetime. After a restart the state machine starts empty, gets the
  // latest snapshot through on_snapshot_load (if there is one) and then the log after it.
  virtual void on_apply(Iterator& iter) = 0;

  // Saves the state as of the last entry applied into `writer`, then runs `done` (OK, or why
  // not). No entry is applied until this returns, so the state machine captures its state here
  // (a copy, a storage snapshot, a copy-on-write handle) and may write it out from a thread of
  // its own, running `done` there; applying continues meanwhile. `writer` stays valid until
  // `done` runs. The default fails with EINVAL: a state machine without snapshots must not
  // have NodeOptions.snapshot_storage set.
  virtual void on_snapshot_save(SnapshotWriter& writer, std::unique_ptr<Closure> done);
  // Replaces the whole state with the snapshot's (reader.meta().last_included is the last entry
  // it covers); entries after it follow through on_apply. Every file was verified against its
  // checksum before this call. A non-OK status stops the node (on_error follows). The default
  // fails with EINVAL.
  virtual Status on_snapshot_load(SnapshotReader& reader);

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
