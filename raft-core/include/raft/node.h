// Node: one replica of one Raft group.
//
//   raft::Node node("counter", self);
//   raft::Status s = node.init(options);      // starts as follower; elects when it must
//   node.apply(raft::Task{data, raft::make_closure(...)});
//   ...
//   node.shutdown(nullptr); node.join();
//
// Thread-safety: every method may be called from any thread. apply() is non-blocking: it
// publishes to the apply ring and returns; a full ring runs the task's closure with EBUSY.
// A Node is neither copyable nor movable; destroying one shuts it down and joins. Under a
// SimScheduler runtime nothing runs unless the test drives the scheduler: call shutdown(),
// run the scheduler until is_shut_down(), then destroy the node (see tests/support).
//
// Outcomes (raft/task.h): EPERM from a closure means "not the leader, not appended";
// ESTEPDOWN means "appended, then leadership was lost": the entry may still commit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "raft/closure.h"
#include "raft/configuration.h"
#include "raft/node_options.h"
#include "raft/peer_id.h"
#include "raft/read_index.h"
#include "raft/task.h"
#include "raft/types.h"

namespace raft {

enum class Role { kFollower, kCandidate, kLeader, kError, kShutdown };
std::string_view role_name(Role role);

struct PeerReplicationStatus {
  PeerId peer;
  LogIndex next_index;
  LogIndex match_index;
  // Since this node became leader: how often the pipeline to this follower dropped back to
  // probing, how many AppendEntries were sent again after a failed RPC, and how many successes
  // were counted ahead of an older request still in flight (docs/architecture.md).
  uint64_t window_resets = 0;
  uint64_t resends = 0;
  uint64_t out_of_order_acks = 0;
  // AppendEntries sent to this follower with entries (resends included; probes and heartbeats
  // not), and the entries they carried: entries_sent / appends_sent is the batch size.
  uint64_t appends_sent = 0;
  uint64_t entries_sent = 0;
  // How often new entries waited for a response before going out to this follower
  // (NodeOptions::coalesce_after_inflight_msgs).
  uint64_t appends_held = 0;
  // Reads of entries below the leader's log cache, made off the node lane for this follower,
  // and the entries they brought (a follower catching up from far behind).
  uint64_t storage_reads = 0;
  uint64_t entries_read_from_storage = 0;
};

// A follower's reorder window (NodeOptions::append_reorder_window), counted since it started.
struct AppendReorderStats {
  uint64_t held = 0;      // AppendEntries that arrived ahead of a gap and were held.
  uint64_t released = 0;  // Held ones handled once the gap closed.
  uint64_t rejected = 0;  // Held ones (or ones that did not fit) answered with a gap rejection.
  size_t holding = 0;     // Held right now.
};

struct NodeStatus {
  GroupId group_id;
  PeerId peer_id;
  Role role = Role::kFollower;
  Term term;
  PeerId leader_id;
  LogIndex first_log_index;
  LogIndex last_log_index;
  LogIndex commit_index;
  LogIndex applied_index;
  // The last entry the latest snapshot covers ({0, 0} without one).
  LogId last_snapshot;
  // Why the last attempt to install a snapshot from the leader failed (OK if it did not).
  Status snapshot_install_error;
  // The configuration this node uses now (the newest in its log): voters and learners, and
  // during a joint change (Raft §6) the old voters in old_conf (empty otherwise).
  Configuration conf;
  Configuration old_conf;
  // Only on the leader: one entry per follower.
  std::vector<PeerReplicationStatus> peers;
  AppendReorderStats append_reorder;
};

class NodeImpl;

class Node {
 public:
  Node(GroupId group_id, PeerId peer_id);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Validates options (EINVAL naming the bad option), recovers term, vote and log from
  // storage, registers with the transport and starts as a follower. Call once.
  Status init(const NodeOptions& options);

  // Starts stopping: pending tasks fail with ESHUTDOWN, the state machine gets on_shutdown.
  // `done` (may be null) runs when everything has stopped. Idempotent.
  void shutdown(std::unique_ptr<Closure> done);
  // Blocks until shutdown has finished. REQUIRES: shutdown() was called; not called from a
  // callback of this node.
  void join();
  // True once shutdown has finished (join() would not block).
  bool is_shut_down() const;

  // Proposes task.data; see Task for what task.done receives. Never blocks.
  void apply(Task task);

  // Linearizable read without the log (ReadIndex, Raft thesis §6.4; docs/reads.md). `done`
  // runs with OK once this node's state machine has applied at least done->read_index(), an
  // index no smaller than the commit index of the leader at some moment after the call (for
  // kLease and kWaitFree on the leader: at least every write acknowledged before the call); it
  // then runs on the state-machine lane, after on_apply of that index, so it may read the
  // state machine directly (except a wait-free read, see ReadMode::kWaitFree). On the leader, one
  // heartbeat round confirms leadership for every read queued meanwhile; a follower or learner asks
  // the leader for the index. Errors (any lane): EPERM no leader is known or it is unreachable
  // (retry, or ask the leader); EAGAIN the leader has not committed an entry of its own term yet
  // (retry shortly); EBUSY the read queue is full; ESHUTDOWN; EIO the state machine stopped on an
  // error. Never blocks. `mode` chooses how (ReadMode); kLease and kWaitFree depend on bounded
  // clock drift.
  void read_index(std::unique_ptr<ReadIndexClosure> done, ReadMode mode = ReadMode::kSafe);

  // Saves a snapshot of what the state machine has applied and compacts the log behind it
  // (docs/snapshots.md). `done` (may be null) runs with OK once the snapshot is published
  // (also if nothing was applied since the last one), EBUSY while another save runs, EINVAL
  // without NodeOptions.snapshot_storage, ESHUTDOWN when stopping, or the storage's error.
  void snapshot(std::unique_ptr<Closure> done);

  // Membership (Raft §6, docs/membership.md). Each runs on the leader (EPERM elsewhere), one
  // change at a time (EBUSY while another runs, or a configuration entry is not committed
  // yet). New voters first catch up as non-voters (NodeOptions.catchup_*; ECATCHUP if they
  // cannot), then the group moves through the joint configuration C_old,new to C_new. `done`
  // runs on the node lane: OK once C_new is committed; EINVAL for a bad target; ESTEPDOWN if
  // leadership was lost after the change was put in the log (it may still complete).
  // A leader removed by the change steps down once C_new is committed.
  void change_peers(const Configuration& new_peers, std::unique_ptr<Closure> done);
  void add_peer(const PeerId& peer, std::unique_ptr<Closure> done);
  void remove_peer(const PeerId& peer, std::unique_ptr<Closure> done);
  // Learners receive and apply the log but never vote and never count toward a quorum; they
  // change in one step (no joint configuration is needed).
  void add_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  void remove_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  void reset_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  // UNSAFE, for when a majority is lost for good: this node uses `new_peers` from now on, at
  // once, without consensus, and steps down if it leads so that an election under the new
  // configuration follows. Reset every surviving member the same way. The reset lives in
  // memory until a leader records it (each leader's first entry is its configuration): a
  // restart before that forgets it. Runs on any role; `done` gets EINVAL for an empty set.
  void reset_peers(const Configuration& new_peers, std::unique_ptr<Closure> done);
  // Leadership transfer (Raft thesis §3.10). On the leader (EPERM elsewhere): waits until
  // `peer` has every entry the leader has, then tells it to campaign at once (TimeoutNow).
  // An empty `peer` picks the voter with the highest match index. While transferring, apply()
  // and membership changes answer EBUSY. `done` runs on the node lane: OK once this node has
  // stepped down because a newer term began (the target, normally, won it); ETIMEDOUT if no
  // one took over within an election timeout (this node then leads on); EINVAL if `peer` is
  // not a voter of the configuration or has priority 0; EBUSY if a transfer or
  // a membership change is running. Transferring to this node itself is OK at once.
  void transfer_leadership_to(const PeerId& peer, std::unique_ptr<Closure> done);
  // The learners of the configuration this node uses, sorted.
  std::vector<PeerId> list_learners() const;

  // TEST HOOK, simulation only: the process died. REQUIRES: the runtime has already stopped
  // every lane of this node (a crashing simulated process). Leaves the transport, as a dead
  // process's sockets close, and marks the node shut down without running anything more, so
  // destroying it does not wait. Nothing is flushed: what survives is what storage made
  // durable.
  void crash_for_testing();

  bool is_leader() const;
  // The leader this node knows of, or an empty PeerId.
  PeerId leader_id() const;
  // The voters of the configuration this node uses, sorted.
  std::vector<PeerId> list_peers() const;
  NodeStatus get_status() const;

  const GroupId& group_id() const { return group_id_; }
  const PeerId& peer_id() const { return peer_id_; }

 private:
  const GroupId group_id_;
  const PeerId peer_id_;
  std::shared_ptr<NodeImpl> impl_;
};

}  // namespace raft
