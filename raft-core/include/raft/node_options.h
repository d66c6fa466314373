// NodeOptions: everything a Node needs, with every limit and timeout named with its unit.
//
// validate() checks every field and names the first bad one in an EINVAL status; Node::init
// calls it and refuses bad options. Defaults follow SOFAJRaft/braft where users know them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "raft/configuration.h"
#include "raft/executor.h"
#include "raft/log_storage.h"
#include "raft/snapshot.h"
#include "raft/snapshot_throttle.h"
#include "raft/state_machine.h"
#include "raft/status.h"
#include "raft/transport.h"

namespace raft {

struct NodeOptions {
  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_timeout_ms, election_timeout_ms + max_election_delay_ms) starts a pre-vote.
  // A leader that hears from no quorum for election_timeout_ms steps down.
  int64_t election_timeout_ms = 1000;
  int64_t max_election_delay_ms = 1000;
  // How often the leader sends heartbeats. Must be less than election_timeout_ms.
  int64_t heartbeat_interval_ms = 100;
  // Deadline of one RequestVote or AppendEntries RPC.
  int64_t rpc_timeout_ms = 1000;

  // The members of the group when it starts with an empty log; must then contain this node
  // (as a voter or a learner). Empty: this replica joins an existing group and waits until a
  // leader adds it (add_peer, add_learners). Ignored once the log or a snapshot holds a
  // configuration.
  Configuration initial_conf;

  // Not owned; must outlive the Node (until join() returns).
  StateMachine* fsm = nullptr;
  std::shared_ptr<LogStorage> log_storage;
  std::shared_ptr<RaftMetaStorage> meta_storage;
  std::shared_ptr<RaftTransport> transport;
  // Where the node's lanes run and what time it is. Null means the process-wide ExecutorPool.
  std::shared_ptr<Runtime> runtime;
  // Seeds the election-timeout randomization. 0 means seed from std::random_device.
  uint64_t random_seed = 0;

  // Lease reads (ReadMode::kLease, kWaitFree; docs/reads.md): a leader's lease lasts
  // election_timeout_ms * leader_lease_ratio - max_clock_drift_ms from the moment it sent the
  // heartbeats a quorum last answered. Voters refuse other candidates for an election timeout
  // after hearing from the leader (and after they start), which is what the lease relies on;
  // max_clock_drift_ms is how much the clocks of two replicas may drift apart within one
  // election timeout. Must leave a positive lease.
  double leader_lease_ratio = 0.9;
  int64_t max_clock_drift_ms = 100;

  // Ring capacities are powers of two; "max" batch sizes bound one drain of the ring.
  size_t apply_queue_capacity = 16384;
  size_t apply_batch_max = 32;
  size_t disk_queue_capacity = 16384;
  // Disk operations (appends, truncations) written with one write batch and one fsync. A
  // leader's appends may carry one entry each under load, and its disk lane must keep up with
  // what its followers commit: at 256, 10,000 clients filled the disk ring
  // (docs/benchmark-history.md).
  size_t disk_batch_max_ops = 1024;
  size_t fsm_queue_capacity = 16384;
  // Node::read_index requests waiting for the node lane; one drain confirms up to
  // read_batch_max of them with one heartbeat round.
  size_t read_queue_capacity = 16384;
  size_t read_batch_max = 1024;
  size_t fsm_batch_max_entries = 512;
  // Whether the state machine may apply on the RPC IO thread that delivered a commit, when its
  // lane is idle, instead of waking a worker for it. On saves a wake-up per commit (about 4 %
  // of one client's writes/s over TCP, docs/architecture.md), but a slow on_apply then holds
  // that IO thread, and with it every group's RPCs on it (heartbeats too). Off by default;
  // applying never runs on the disk threads either way.
  bool apply_on_io_threads = false;

  // One AppendEntries carries at most this many entries and about this many payload bytes
  // (one larger entry still goes out alone).
  size_t max_entries_per_append = 1024;
  size_t max_bytes_per_append = 512 * 1024;
  // AppendEntries in flight per follower (pipelining window).
  size_t max_inflight_msgs = 256;
  // Batching under load: once this many AppendEntries are in flight to a follower, new
  // entries that do not yet fill a request (max_entries_per_append or max_bytes_per_append)
  // wait for a response before they go out, so that writes arriving meanwhile travel in one
  // larger request instead of many small ones (fewer system calls and wake-ups on both ends;
  // docs/architecture.md, "Batching under load"). Full requests, a catching-up follower's for
  // example, are still pipelined up to max_inflight_msgs. 0: never wait, each batch of the
  // apply queue goes out at once. At most max_inflight_msgs. The default holds only under
  // heavy concurrency (32 requests in flight needs at least 32 writes outstanding), where
  // fewer, larger requests buy throughput; below it nothing waits.
  size_t coalesce_after_inflight_msgs = 32;
  // Follower reorder window (docs/architecture.md, "Pipelining without a cliff"): an
  // AppendEntries that overtook an earlier one is held until the entries before it arrive,
  // instead of being rejected at once (which drops the leader's window back to probing). At most
  // this many requests (0: never hold), this many bytes of entries (memory_footprint), each for at
  // most append_reorder_timeout_ms; then it is rejected as before. A gap still open after that
  // is most likely a lost request, which probing recovers sooner than the leader's RPC timeout.
  size_t append_reorder_window = 64;
  size_t append_reorder_max_bytes = 16 * 1024 * 1024;
  int64_t append_reorder_timeout_ms = 20;
  // Memory the in-memory log may hold in already-durable entries kept for followers that lag,
  // counted as memory_footprint() (log_entry.h): payload plus per-entry overhead.
  size_t log_cache_max_bytes = 64 * 1024 * 1024;
  // Entries appended but not yet committed; beyond it apply() answers EBUSY.
  size_t max_uncommitted_entries = 65536;
  // Memory (memory_footprint(), payload plus per-entry overhead) of entries appended but not
  // yet committed; beyond it apply() answers EBUSY.
  size_t max_uncommitted_bytes = 256 * 1024 * 1024;

  // Priority election (docs/membership.md): a voter whose priority is below the highest of the
  // configuration skips its election timeouts while no leader is heard, lowering the priority
  // it waits for by max(this, a fifth of it) each time, so that with the best candidates down
  // the next ones campaign after a few timeouts.
  int32_t decay_priority_gap = 10;

  // Membership changes (docs/membership.md): a new voter must come within this many entries
  // of the leader's last one before the configuration changes, within this long; otherwise the
  // change fails with ECATCHUP.
  int64_t catchup_margin_entries = 1000;
  int64_t catchup_timeout_ms = 20000;

  // Snapshots (docs/snapshots.md). Null storage: no snapshots, the log is kept whole.
  std::shared_ptr<SnapshotStorage> snapshot_storage;
  // Take a snapshot every this many seconds (the first one at a random point of the first
  // interval, so that the groups of a process do not all snapshot at once). 0: no timer.
  int64_t snapshot_interval_s = 3600;
  // Take a snapshot once this many entries have been applied since the last one. 0: never
  // for this reason.
  int64_t snapshot_log_index_margin = 0;
  // Entries kept in the log below a new snapshot, so that a follower only a little behind
  // catches up from the log instead of receiving the whole snapshot.
  int64_t snapshot_log_tail_entries = 1000;

  // Installing a snapshot on a follower: files travel in chunks of at most this many bytes,
  // within the budget of `snapshot_throttle` (null: unthrottled; share one instance between
  // all groups of a process). The leader waits this long for a follower to finish an install.
  size_t snapshot_chunk_bytes = 128 * 1024;
  std::shared_ptr<SnapshotThrottle> snapshot_throttle;
  int64_t install_snapshot_timeout_ms = 300000;

  // OK, or EINVAL naming the first bad option and why.
  Status validate() const;
};

}  // namespace raft
