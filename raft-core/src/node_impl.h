// NodeImpl: the Raft state machine of one replica (Raft §5, Figure 2), behind raft::Node.
//
// Lanes (see docs/architecture.md):
//   node lane — all Raft state below: role, term, vote, timers, replicators, ballot box, and
//               the apply ring's consumer. No lock guards this state; only this lane touches it.
//   disk lane — LogManager's disk ring (group commit).
//   fsm lane  — FSMCaller: every StateMachine callback.
// Other threads reach the node lane only by posting to it (RPCs, RPC responses, disk
// completions) or through the apply ring. What other threads may read (role, leader, status)
// is published under status_mutex_.
//
// The member functions live in one file per concern: node.cc (lifecycle, status, role
// changes), node_election.cc, node_append.cc (follower side of AppendEntries),
// node_leader.cc (proposals and commitment), node_configuration.cc (membership),
// node_transfer.cc (leadership transfer) and node_snapshot.cc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "append_reorder_buffer.h"
#include "ballot_box.h"
#include "closure_queue.h"
#include "configuration_manager.h"
#include "fsm_caller.h"
#include "log_manager.h"
#include "membership_change.h"
#include "raft/node.h"
#include "raft/ring_queue.h"
#include "replicator_group.h"
#include "snapshot_executor.h"

namespace raft {

class NodeImpl final : public RaftService, public std::enable_shared_from_this<NodeImpl> {
 public:
  NodeImpl(GroupId group_id, PeerId server_id);
  ~NodeImpl() override;

  Status init(const NodeOptions& options);
  void shutdown(std::unique_ptr<Closure> done);
  void crash_for_testing();
  void join();
  bool is_shut_down() const;
  void apply(Task task);
  void read_index(std::unique_ptr<ReadIndexClosure> done, ReadMode mode);
  void snapshot(std::unique_ptr<Closure> done);
  void change_peers(const Configuration& new_peers, std::unique_ptr<Closure> done);
  void add_peer(const PeerId& peer, std::unique_ptr<Closure> done);
  void remove_peer(const PeerId& peer, std::unique_ptr<Closure> done);
  void add_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  void remove_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  void reset_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done);
  void reset_peers(const Configuration& new_peers, std::unique_ptr<Closure> done);
  void transfer_leadership_to(const PeerId& peer, std::unique_ptr<Closure> done);
  NodeStatus status() const;

  // RaftService: called from transport threads; the work is posted to the node lane.
  void handle_request_vote(const RequestVoteRequest& request,
                           RpcCallback<RequestVoteResponse> done) override;
  void handle_append_entries(const AppendEntriesRequest& request,
                             RpcCallback<AppendEntriesResponse> done) override;
  void handle_install_snapshot(const InstallSnapshotRequest& request,
                               RpcCallback<InstallSnapshotResponse> done) override;
  void handle_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done) override;
  void handle_timeout_now(const TimeoutNowRequest& request,
                          RpcCallback<TimeoutNowResponse> done) override;
  void handle_read_index(const ReadIndexRequest& request,
                         RpcCallback<ReadIndexResponse> done) override;

 private:
  // Everything below runs on the node lane.
  void start();
  // Opens the latest snapshot (into *snapshot), recovers the log and the configuration.
  Status recover(std::optional<SnapshotMeta>* snapshot);
  // Adds the newest configuration entry of the log in (floor_index, ceiling] (if any) to
  // conf_manager_. Reads the log (from storage if need be).
  Status recover_configuration(LogIndex floor_index,
                               std::optional<LogIndex> ceiling = std::nullopt);
  std::shared_ptr<SnapshotExecutor> make_snapshot_executor();
  // Undoes a partly done init() and returns `why`.
  Status abandon_init(const Status& why);
  void on_request_vote(const RequestVoteRequest& request, RpcCallback<RequestVoteResponse> done);
  void on_append_entries(const AppendEntriesRequest& request,
                         RpcCallback<AppendEntriesResponse> done);
  // One AppendEntries in log order: the consistency check, then the append. A request that
  // arrived ahead of a gap may be held in reorder_buffer_ instead.
  void append_in_order(const AppendEntriesRequest& request,
                       RpcCallback<AppendEntriesResponse> done);
  // Reorder window (append_reorder_buffer.h). hold_ahead_of_gap moves `done` only if it held
  // the request.
  bool hold_ahead_of_gap(const AppendEntriesRequest& request,
                         RpcCallback<AppendEntriesResponse>& done);
  // Handles the held requests whose gap has closed, lowest first.
  void release_held_appends();
  // Answers `held` as if it had been rejected on arrival (or ESHUTDOWN once shut down).
  void reject_held_append(HeldAppend held);
  void reject_held_appends();
  void arm_reorder_timer();
  void on_reorder_timer();
  void on_follower_stable(const Status& status, Term request_term, LogIndex last_new_index,
                          LogIndex leader_commit, const RpcCallback<AppendEntriesResponse>& done);
  // Any thread (the disk lane): answers a successful append of `request_term` at once if this
  // replica still follows in that term; false if the node lane must decide instead.
  bool answer_stable_append(Term request_term, LogIndex last_new_index,
                            const RpcCallback<AppendEntriesResponse>& done);
  // The configuration this replica uses now (the newest in its log).
  const ConfigurationEntry& conf() const { return conf_manager_.current(); }
  // Whether `granted` (a set of peers) is a quorum of the current configuration.
  bool has_quorum(const std::set<PeerId>& granted) const;
  // A leader of `term` (>= current_term_) spoke: follow it (stepping down if needed).
  void follow_leader(Term term, const PeerId& leader);
  // Adds the configuration entries among `entries` (just appended) to conf_manager_.
  void track_configurations(const std::vector<LogEntryPtr>& entries);
  // The log was cut after `last_kept`: fall back to the configuration before the cut.
  void roll_back_configuration(LogIndex last_kept);
  // The highest index covered by the snapshot and no longer in the log (0 if none).
  LogIndex compacted_index() const;
  // Fills the conflict hints of a failed consistency check at prev_index (§5.3).
  void fill_conflict(LogIndex prev_index, AppendEntriesResponse* response);

  void schedule_election_timer();
  void on_election_timer(uint64_t generation);
  using VoteResponseHandler =
      std::function<void(NodeImpl&, const PeerId&, const Status&, const RequestVoteResponse&)>;
  // Sends (pre-)RequestVote for `term` to every other voter; responses come back on the lane.
  void request_votes(bool pre_vote, bool leadership_transfer, Term term,
                     VoteResponseHandler on_response);
  // Runs `handler` on the node lane, or answers ESHUTDOWN if the node is gone.
  template <typename Request, typename Response>
  void dispatch(const Request& request, RpcCallback<Response> done,
                void (NodeImpl::*handler)(const Request&, RpcCallback<Response>));
  // Priority election: whether this follower may campaign now; lowers the priority it waits
  // for when it may not.
  bool priority_allows_campaign();
  void pre_vote();
  void on_pre_vote_response(uint64_t round, Term term, const PeerId& peer, const Status& status,
                            const RequestVoteResponse& response);
  // Starts an election for the next term; `leadership_transfer` marks its RequestVotes as
  // asked for by the leader (TimeoutNow).
  void elect_self(bool leadership_transfer = false);
  void on_vote_response(Term term, const PeerId& peer, const Status& status,
                        const RequestVoteResponse& response);
  void become_leader();
  void check_quorum();
  // Leaves leadership or candidacy, moves to `term` if it is newer (clearing the vote).
  void step_down(Term term, const Status& reason);
  void enter_error(const Status& error);
  bool leader_is_alive() const;
  // EPERM for a leader-only call on this node, naming the leader if one is known.
  Status not_leader() const;
  bool persist_term_and_vote(Term term, const PeerId& voted_for);

  void handle_apply_batch(std::vector<Task>& tasks);
  void append_as_leader(std::vector<LogEntryPtr> entries,
                        std::vector<std::unique_ptr<Closure>> closures);
  void on_leader_stable(const Status& status, Term term);
  void on_match(const PeerId& peer, LogIndex match_index);
  void on_commit_advanced();
  void fail_tasks(std::vector<Task>& tasks, const Status& status);

  // Membership (node_configuration.cc).
  // Posts to the node lane: computes the target from the current configuration, then starts.
  void post_configuration_change(
      std::function<Result<Configuration>(const ConfigurationEntry& current)> make_target,
      std::unique_ptr<Closure> done);
  void start_change(const Configuration& target, std::unique_ptr<Closure> done);
  void check_catch_up(uint64_t generation);
  // Appends the change's next configuration entry (C_old,new or C_new).
  void enter_next_stage();
  // Appends `next` as a configuration entry and uses it at once; its index, or 0 if the log
  // refused it.
  LogIndex append_configuration(const ConfigurationEntry& next);
  // The commit index moved: move the change on (or finish one found in the log).
  void on_configuration_progress();
  // Ends the change in progress (if any), telling its caller why.
  void fail_membership_change(const Status& why);

  // Reads (node_read.cc).
  using ReadConfirmed = std::function<void(const Status&, LogIndex)>;
  struct ReadRequest {
    std::unique_ptr<ReadIndexClosure> done;
    ReadMode mode = ReadMode::kSafe;
  };
  void handle_read_batch(std::vector<ReadRequest>& reads);
  // Serves `closures`, all of one mode.
  void serve_reads(std::vector<std::unique_ptr<ReadIndexClosure>> closures, ReadMode mode);
  // Leader: `done` gets the commit index once a quorum has confirmed this leadership after
  // the call (or at once from a valid lease if `allow_lease`), or why not.
  void confirm_read_index(bool allow_lease, ReadConfirmed done);
  // Leader: whether its lease holds now: no other leader can exist (docs/reads.md).
  bool lease_is_valid() const;
  // Leader: how long a lease lasts from the quorum's acknowledgement.
  Duration lease_duration() const;
  // Publishes until when the lease holds (lease_until_), for lease and wait-free reads on the
  // callers' threads. Called whenever the lease may have moved: acknowledgements, becoming
  // leader, configuration and transfer changes (step_down() withdraws it itself).
  void publish_lease();
  // Any thread: serves a wait-free read at once if the published lease holds and the first
  // entry of this leader's term is applied; false (done untouched) otherwise.
  bool try_read_wait_free(std::unique_ptr<ReadIndexClosure>& done);
  // Any thread: if the published lease holds and the first entry of this leader's term is
  // committed, hands the read to the fsm lane at once, to run when the commit index known now
  // is applied (skipping the node lane); false (done untouched) otherwise.
  bool try_read_lease_on_caller(std::unique_ptr<ReadIndexClosure>& done);
  // Any thread: whether the lease published by the node lane holds on the clock now.
  bool published_lease_holds() const;
  // Leader: the latest moment T such that voters forming a quorum (of each configuration
  // when joint) answered AppendEntries sent at or after T; this node counts as now.
  TimePoint quorum_ack_time() const;
  // Leader: a follower answered at this term; confirms the reads it completes a quorum for.
  void on_follower_ack();
  // Fails every read waiting for confirmation (leadership ended).
  void fail_pending_reads(const Status& why);
  void on_read_index(const ReadIndexRequest& request, RpcCallback<ReadIndexResponse> done);

  // Leadership transfer (node_transfer.cc).
  void start_transfer(const PeerId& peer, std::unique_ptr<Closure> done);
  // Sends TimeoutNow once the target holds every entry of this leader's log.
  void maybe_send_timeout_now();
  void on_timeout_now_response(uint64_t generation, const Status& status,
                               const TimeoutNowResponse& response);
  void on_transfer_timeout(uint64_t generation);
  // Ends the transfer in progress, if any, telling its caller `outcome`.
  void finish_transfer(const Status& outcome);
  void on_timeout_now(const TimeoutNowRequest& request, RpcCallback<TimeoutNowResponse> done);

  // Snapshots (node_snapshot.cc).
  void on_install_snapshot(const InstallSnapshotRequest& request,
                           RpcCallback<InstallSnapshotResponse> done);
  void on_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done);
  // Leader: `done` gets the latest snapshot opened for serving to followers (opening it on the
  // snapshot lane if the one served is older), or why there is none.
  void open_served_snapshot(std::function<void(const Status&, const ServedSnapshot&)> done);
  void schedule_snapshot_timer(bool first);
  void on_snapshot_timer(uint64_t generation);
  // Starts a snapshot if snapshot_log_index_margin entries were applied since the last one.
  void maybe_snapshot_by_margin();

  void do_shutdown();
  void finish_shutdown();
  void publish_status();

  // Posts `fn` to the node lane, running it only if this node still exists.
  template <typename Fn>
  void post(Fn fn);
  template <typename Fn>
  void post_after_ms(int64_t delay_ms, Fn fn);

  const GroupId group_id_;
  const PeerId server_id_;
  NodeOptions options_;
  std::shared_ptr<Runtime> runtime_;
  const Clock* clock_ = nullptr;
  std::shared_ptr<Executor> node_lane_;
  std::shared_ptr<Executor> disk_lane_;
  std::shared_ptr<Executor> fsm_lane_;
  // Where the leader reads entries below the log's cache for lagging followers (IO lane).
  std::shared_ptr<Executor> log_reader_lane_;
  // Blocking snapshot IO (create, publish); null without NodeOptions.snapshot_storage.
  std::shared_ptr<Executor> snapshot_lane_;
  std::unique_ptr<LogManager> log_manager_;
  ClosureQueue closure_queue_;
  std::unique_ptr<FSMCaller> fsm_caller_;
  std::unique_ptr<RingQueue<Task>> apply_queue_;
  // Node::read_index requests (the read-only service's ring), drained on the node lane.
  std::unique_ptr<RingQueue<ReadRequest>> read_queue_;
  // Null without NodeOptions.snapshot_storage. Lives on the node lane.
  std::shared_ptr<SnapshotExecutor> snapshot_executor_;
  uint64_t snapshot_timer_generation_ = 0;
  // Leader: the snapshot followers fetch files from, by reader id. Used on the snapshot lane
  // only (reads are blocking IO); the id and meta are node lane state.
  std::shared_ptr<SnapshotReader> served_reader_;
  ServedSnapshot served_;
  uint64_t next_reader_id_ = 1;
  std::vector<std::function<void(const Status&, const ServedSnapshot&)>> served_waiters_;
  bool registered_ = false;
  Status startup_error_;

  // Node lane state (Raft Figure 2, plus what the implementation needs).
  Role role_ = Role::kFollower;
  // Invariant: never decreases; durable in meta storage before any RPC of the term is sent
  // or any vote in it granted.
  Term current_term_;
  PeerId voted_for_;
  PeerId leader_id_;
  // Every configuration in the log (Raft §6: the newest one is used, committed or not).
  ConfigurationManager conf_manager_;
  // The membership change this leader runs, if any (node_configuration.cc).
  std::unique_ptr<MembershipChange> membership_change_;
  uint64_t membership_generation_ = 0;
  // The leadership transfer this leader runs, if any (node_transfer.cc).
  struct LeadershipTransfer {
    PeerId target;
    std::unique_ptr<Closure> done;
    uint64_t generation = 0;
    bool timeout_now_sent = false;
    Status last_error;  // Why the last TimeoutNow failed, for the timeout's message.
  };
  std::optional<LeadershipTransfer> transfer_;
  // Leader: reads waiting for a quorum to confirm this leadership after `since`, oldest first.
  struct PendingRead {
    TimePoint since;
    LogIndex index;
    ReadConfirmed done;
  };
  std::deque<PendingRead> pending_reads_;
  // The term in which this leader sent TimeoutNow: the target may win an election at any
  // moment from then on, so no lease holds for the rest of the term.
  Term lease_revoked_term_;
  // When start() ran: a voter refuses other candidates for an election timeout after it
  // starts, since before its restart it may have heard from a leader whose lease still runs.
  TimePoint started_at_;
  uint64_t transfer_generation_ = 0;
  // Priority election: the priority this follower waits for before it campaigns, lowered
  // after each leaderless election timeout; kNoPriority: start from the highest again.
  int32_t target_priority_ = Configuration::kNoPriority;
  BallotBox ballot_box_;
  ReplicatorGroup replicators_;
  std::mt19937_64 rng_;
  uint64_t election_timer_generation_ = 0;
  TimePoint last_leader_contact_;
  TimePoint last_vote_granted_;
  TimePoint election_started_;
  uint64_t pre_vote_round_ = 0;
  std::set<PeerId> pre_votes_;
  std::set<PeerId> votes_;
  bool leader_start_notified_ = false;
  // Follower: AppendEntries that arrived ahead of a gap, all from leader_id_ in current_term_.
  std::unique_ptr<AppendReorderBuffer> reorder_buffer_;
  AppendReorderStats reorder_stats_;
  bool reorder_timer_armed_ = false;
  // Leader: payload bytes of each appended batch not yet committed, by its last index.
  std::deque<std::pair<LogIndex, size_t>> uncommitted_batches_;
  size_t uncommitted_bytes_ = 0;

  mutable std::mutex status_mutex_;
  NodeStatus published_;  // Guarded by status_mutex_.
  // The term this replica follows a leader in, or 0 when it is not a follower; written by
  // publish_status(), read by answer_stable_append() on the disk lane.
  std::atomic<int64_t> following_term_{0};
  // Leader: the clock reading (Clock ticks since its epoch) at which the lease runs out, or
  // kNoLease; and the first index of this leader's term, which must be applied before a
  // wait-free read is served (and committed before a lease read is). Written on the node lane
  // (first index, then until, release), read on any thread by try_read_wait_free() and
  // try_read_lease_on_caller() (until, acquire, then first index).
  static constexpr int64_t kNoLease = INT64_MIN;
  std::atomic<int64_t> lease_until_{kNoLease};
  std::atomic<int64_t> term_first_index_{INT64_MAX};

  mutable std::mutex shutdown_mutex_;
  std::condition_variable shutdown_cv_;
  bool shutdown_started_ = false;                           // Guarded by shutdown_mutex_.
  bool shutdown_finished_ = false;                          // Guarded by shutdown_mutex_.
  bool joined_ = false;                                     // Guarded by shutdown_mutex_.
  std::vector<std::unique_ptr<Closure>> shutdown_waiters_;  // Guarded by shutdown_mutex_.
};

// Lane helpers shared by the node_*.cc files.

template <typename Fn>
void NodeImpl::post(Fn fn) {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post([weak, fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

template <typename Fn>
void NodeImpl::post_after_ms(int64_t delay_ms, Fn fn) {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post_after(std::chrono::milliseconds(delay_ms), [weak, fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

template <typename Request, typename Response>
void NodeImpl::dispatch(const Request& request, RpcCallback<Response> done,
                        void (NodeImpl::*handler)(const Request&, RpcCallback<Response>)) {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  // dispatch: a transport thread that holds no lock may run the handler itself (executor.h).
  node_lane_->dispatch([weak, request, done = std::move(done), handler]() mutable {
    if (auto self = weak.lock()) {
      ((*self).*handler)(request, std::move(done));
    } else {
      done(Status::Shutdown("node is gone"), Response{});
    }
  });
}

}  // namespace raft
