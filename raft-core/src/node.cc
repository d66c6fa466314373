#include "raft/node.h"

#include <algorithm>

#include "node_impl.h"
#include "raft/check.h"
#include "raft/executor_pool.h"
#include "raft/logging.h"

namespace raft {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
    case Role::kError:
      return "error";
    case Role::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Node: a thin handle.

Node::Node(GroupId group_id, PeerId peer_id)
    : group_id_(std::move(group_id)),
      peer_id_(std::move(peer_id)),
      impl_(std::make_shared<NodeImpl>(group_id_, peer_id_)) {}

Node::~Node() {
  impl_->shutdown(nullptr);
  impl_->join();
}

Status Node::init(const NodeOptions& options) { return impl_->init(options); }
void Node::shutdown(std::unique_ptr<Closure> done) { impl_->shutdown(std::move(done)); }
void Node::join() { impl_->join(); }
bool Node::is_shut_down() const { return impl_->is_shut_down(); }
void Node::apply(Task task) { impl_->apply(std::move(task)); }
bool Node::is_leader() const { return impl_->status().role == Role::kLeader; }
PeerId Node::leader_id() const { return impl_->status().leader_id; }
NodeStatus Node::get_status() const { return impl_->status(); }

std::vector<PeerId> Node::list_peers() const { return impl_->status().conf.peers(); }

// ---------------------------------------------------------------------------------------------
// NodeImpl: construction, init, shutdown.

NodeImpl::NodeImpl(GroupId group_id, PeerId server_id)
    : group_id_(std::move(group_id)), server_id_(std::move(server_id)) {
  published_.group_id = group_id_;
  published_.peer_id = server_id_;
}

NodeImpl::~NodeImpl() = default;

template <typename Fn>
void NodeImpl::post(Fn fn) {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post([weak, fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

Status NodeImpl::init(const NodeOptions& options) {
  if (node_lane_) return Status::InvalidArgument("Node::init called twice");
  if (group_id_.empty() || group_id_.size() > 128) {
    return Status::InvalidArgument("group id must be 1..128 bytes");
  }
  if (server_id_.empty()) return Status::InvalidArgument("peer id must not be empty");
  Status valid = options.validate();
  if (!valid.ok()) return valid;
  options_ = options;

  runtime_ = options_.runtime;
  if (!runtime_) {
    // The process-wide pool lives until exit; the aliasing pointer does not own it.
    runtime_ = std::shared_ptr<Runtime>(std::shared_ptr<Runtime>(), &ExecutorPool::default_pool());
  }
  clock_ = &runtime_->clock();
  uint64_t seed = options_.random_seed;
  if (seed == 0) seed = (uint64_t(std::random_device()()) << 32) | std::random_device()();
  rng_.seed(seed);

  current_term_ = options_.meta_storage->term();
  voted_for_ = options_.meta_storage->voted_for();

  node_lane_ = runtime_->make_executor("node:" + group_id_);
  disk_lane_ = runtime_->make_executor("disk:" + group_id_);
  fsm_lane_ = runtime_->make_executor("fsm:" + group_id_);

  LogManager::Options log_options;
  log_options.disk_queue_capacity = options_.disk_queue_capacity;
  log_options.disk_batch_max = options_.disk_batch_max_ops;
  log_options.cache_max_bytes = options_.log_cache_max_bytes;
  log_manager_ =
      std::make_unique<LogManager>(group_id_, options_.log_storage, disk_lane_, log_options);
  // A log that cannot be read back (checksum mismatch, IO error) does not stop init: the node
  // comes up in its error state, reports through on_error, and never applies what it read.
  startup_error_ = log_manager_->init();
  conf_ = options_.initial_conf;
  if (startup_error_.ok()) startup_error_ = recover_configuration();
  if (!conf_.contains(server_id_)) {
    return abandon_init(Status::InvalidArgument("NodeOptions.initial_conf " + conf_.to_string() +
                                                " does not contain this node " +
                                                server_id_.to_string()));
  }

  FSMCaller::Options fsm_options;
  fsm_options.queue_capacity = options_.fsm_queue_capacity;
  fsm_options.batch_max_entries = options_.fsm_batch_max_entries;
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  fsm_caller_ = std::make_unique<FSMCaller>(
      options_.fsm, log_manager_.get(), &closure_queue_, fsm_lane_, fsm_options,
      [weak](const Status& error) {
        if (auto self = weak.lock())
          self->post([error](NodeImpl& node) { node.enter_error(error); });
      });
  // No snapshots yet: the state machine starts empty and replays the log from its start.
  fsm_caller_->init(log_manager_->first_log_index() - 1);
  ballot_box_.advance_to(log_manager_->first_log_index() - 1);

  apply_queue_ = std::make_unique<RingQueue<Task>>("apply", options_.apply_queue_capacity,
                                                   options_.apply_batch_max, node_lane_,
                                                   [weak](std::vector<Task>& tasks) {
                                                     if (auto self = weak.lock())
                                                       self->handle_apply_batch(tasks);
                                                   });

  Status registered = options_.transport->register_service(group_id_, server_id_, this);
  if (!registered.ok()) return abandon_init(registered);
  registered_ = true;

  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": starting at term "
                     << current_term_ << ", log [" << log_manager_->first_log_index() << ", "
                     << log_manager_->last_log_index() << "], conf " << conf_;
  publish_status();
  post([](NodeImpl& node) { node.start(); });
  return Status::OK();
}

Status NodeImpl::abandon_init(const Status& why) {
  // Nothing has been posted to the lanes yet; stop them and forget them so that the node
  // counts as never started (shutdown() and join() then return at once).
  apply_queue_.reset();
  fsm_caller_.reset();
  log_manager_.reset();
  for (auto* lane : {&node_lane_, &disk_lane_, &fsm_lane_}) {
    if (*lane) (*lane)->shutdown();
    lane->reset();
  }
  return why;
}

Status NodeImpl::recover_configuration() {
  // The newest configuration in the log wins over the initial one (Raft §6: a server uses the
  // latest configuration in its log).
  for (LogIndex index = log_manager_->last_log_index(); index >= log_manager_->first_log_index();
       index = index - 1) {
    Result<LogEntryPtr> entry = log_manager_->get_entry(index);
    if (!entry.ok()) {
      return Status(entry.status().code(),
                    "recovering the configuration: " + std::string(entry.status().message()));
    }
    if ((*entry)->type != EntryType::kConfiguration) continue;
    Result<Configuration> conf = Configuration::parse((*entry)->data);
    if (!conf.ok()) {
      return Status::Corruption("configuration entry " + std::to_string(index.value()) +
                                " does not parse");
    }
    conf_ = *conf;
    break;
  }
  return Status::OK();
}

void NodeImpl::start() {
  last_leader_contact_ = clock_->now();
  if (!startup_error_.ok()) {
    enter_error(startup_error_);
    return;
  }
  if (role_ != Role::kFollower) return;
  schedule_election_timer();
}

void NodeImpl::shutdown(std::unique_ptr<Closure> done) {
  bool start_now = false;
  {
    std::lock_guard<std::mutex> lock(shutdown_mutex_);
    if (!node_lane_) {
      shutdown_finished_ = true;  // Never initialized: nothing to stop.
    } else if (!shutdown_finished_) {
      if (done) shutdown_waiters_.push_back(std::move(done));
      start_now = !shutdown_started_;
      shutdown_started_ = true;
    }
  }
  // Still ours only if shutdown had already finished.
  run_closure(std::move(done), Status::OK());
  if (start_now) post([](NodeImpl& node) { node.do_shutdown(); });
}

void NodeImpl::do_shutdown() {
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": shutting down";
  const Status stopping = Status::Shutdown("node is shutting down");
  if (fsm_caller_ && (role_ == Role::kLeader || role_ == Role::kCandidate || !leader_id_.empty())) {
    step_down(current_term_, stopping);
  }
  role_ = Role::kShutdown;
  ++election_timer_generation_;
  if (registered_) {
    options_.transport->unregister_service(group_id_, server_id_);
    registered_ = false;
  }
  if (log_manager_) log_manager_->shutdown();
  if (!fsm_caller_) {
    // init() failed before the state machine was wired up.
    finish_shutdown();
    return;
  }
  if (apply_queue_) {
    // This runs on the apply queue's own lane, so draining here cannot race its drain task.
    apply_queue_->shutdown();
    apply_queue_->drain_for_shutdown(
        [this, &stopping](std::vector<Task>& tasks) { fail_tasks(tasks, stopping); });
  }
  fsm_caller_->run_closures(closure_queue_.reset(LogIndex(INT64_MAX / 2)), stopping);
  publish_status();
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  fsm_caller_->shutdown([weak] {
    if (auto self = weak.lock()) self->finish_shutdown();
  });
}

void NodeImpl::finish_shutdown() {
  std::vector<std::unique_ptr<Closure>> waiters;
  {
    std::lock_guard<std::mutex> lock(shutdown_mutex_);
    shutdown_finished_ = true;
    waiters.swap(shutdown_waiters_);
  }
  shutdown_cv_.notify_all();
  for (auto& waiter : waiters) run_closure(std::move(waiter), Status::OK());
}

void NodeImpl::join() {
  std::unique_lock<std::mutex> lock(shutdown_mutex_);
  shutdown_cv_.wait(lock, [this] { return shutdown_finished_; });
  if (joined_ || !node_lane_) return;
  joined_ = true;
  lock.unlock();
  // Nothing runs on the lanes after this, so the components they call into can be destroyed.
  node_lane_->shutdown();
  disk_lane_->shutdown();
  fsm_lane_->shutdown();
}

bool NodeImpl::is_shut_down() const {
  std::lock_guard<std::mutex> lock(shutdown_mutex_);
  return shutdown_finished_;
}

// ---------------------------------------------------------------------------------------------
// Status published to other threads.

NodeStatus NodeImpl::status() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  NodeStatus copy = published_;
  if (fsm_caller_) copy.applied_index = fsm_caller_->applied_index();
  return copy;
}

void NodeImpl::publish_status() {
  if (!log_manager_) return;
  NodeStatus next;
  next.group_id = group_id_;
  next.peer_id = server_id_;
  next.role = role_;
  next.term = current_term_;
  next.leader_id = leader_id_;
  next.first_log_index = log_manager_->first_log_index();
  next.last_log_index = log_manager_->last_log_index();
  next.commit_index = ballot_box_.commit_index();
  next.conf = conf_;
  next.peers = replicators_.status();
  std::lock_guard<std::mutex> lock(status_mutex_);
  published_ = std::move(next);
}

// ---------------------------------------------------------------------------------------------
// Persistence and role changes.

bool NodeImpl::persist_term_and_vote(Term term, const PeerId& voted_for) {
  Status stored = options_.meta_storage->set_term_and_voted_for(term, voted_for);
  if (!stored.ok()) {
    enter_error(
        Status(stored.code(), "cannot persist term and vote: " + std::string(stored.message())));
    return false;
  }
  return true;
}

void NodeImpl::step_down(Term term, const Status& reason) {
  PONTOON_CHECK(term >= current_term_);
  if (role_ == Role::kLeader) {
    replicators_.stop_all();
    ballot_box_.clear();
    uncommitted_batches_.clear();
    uncommitted_bytes_ = 0;
    Status lost = reason.is_shutdown()
                      ? reason
                      : Status::NotLeader("leadership lost: " + std::string(reason.message()));
    fsm_caller_->run_closures(closure_queue_.reset(log_manager_->last_log_index() + 1), lost);
    if (!fsm_caller_->notify_leader_stop(reason).ok()) {
      PONTOON_LOG(kWarn) << "group " << group_id_ << ": fsm queue full, leader stop not delivered";
    }
    PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": steps down at term "
                       << current_term_ << ": " << reason;
  } else if (role_ == Role::kFollower && !leader_id_.empty()) {
    (void)fsm_caller_->notify_stop_following(
        LeaderChangeContext{leader_id_, current_term_, reason});
  }
  if (role_ == Role::kLeader || role_ == Role::kCandidate) role_ = Role::kFollower;
  leader_id_ = PeerId();
  if (term > current_term_) {
    current_term_ = term;
    voted_for_ = PeerId();
    persist_term_and_vote(current_term_, voted_for_);
  }
  publish_status();
}

void NodeImpl::enter_error(const Status& error) {
  if (role_ == Role::kError || role_ == Role::kShutdown) return;
  PONTOON_LOG(kError) << "group " << group_id_ << " peer " << server_id_
                      << ": stops on error: " << error;
  if (role_ == Role::kLeader || role_ == Role::kCandidate || !leader_id_.empty()) {
    step_down(current_term_, error);
  }
  role_ = Role::kError;
  ++election_timer_generation_;
  (void)fsm_caller_->notify_error(error);
  publish_status();
}

bool NodeImpl::leader_is_alive() const {
  if (role_ == Role::kLeader) return true;
  if (leader_id_.empty()) return false;
  return clock_->now() - last_leader_contact_ <
         std::chrono::milliseconds(options_.election_timeout_ms);
}

// ---------------------------------------------------------------------------------------------
// Elections (Raft §5.2, pre-vote from the Raft thesis §9.6, check-quorum §6.2).

void NodeImpl::schedule_election_timer() {
  uint64_t generation = ++election_timer_generation_;
  int64_t delay_ms = options_.election_timeout_ms;
  if (options_.max_election_delay_ms > 0) {
    delay_ms += std::uniform_int_distribution<int64_t>(0, options_.max_election_delay_ms - 1)(rng_);
  }
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post_after(std::chrono::milliseconds(delay_ms), [weak, generation] {
    if (auto self = weak.lock()) self->on_election_timer(generation);
  });
}

void NodeImpl::on_election_timer(uint64_t generation) {
  if (generation != election_timer_generation_) return;
  if (role_ == Role::kError || role_ == Role::kShutdown) return;
  const Duration timeout = std::chrono::milliseconds(options_.election_timeout_ms);
  const TimePoint now = clock_->now();
  switch (role_) {
    case Role::kLeader:
      check_quorum();
      break;
    case Role::kCandidate:
      if (now - election_started_ >= timeout) {
        // The vote did not finish in time: go back to follower and pre-vote again.
        step_down(current_term_, Status::TimedOut("election timed out"));
        pre_vote();
      }
      break;
    case Role::kFollower:
      if (now - std::max(last_leader_contact_, last_vote_granted_) >= timeout) pre_vote();
      break;
    default:
      break;
  }
  if (role_ != Role::kError && role_ != Role::kShutdown) schedule_election_timer();
}

void NodeImpl::check_quorum() {
  const TimePoint now = clock_->now();
  const Duration timeout = std::chrono::milliseconds(options_.election_timeout_ms);
  const size_t alive = 1 + replicators_.count_heard_from(now, timeout);  // 1: this leader.
  if (alive < conf_.quorum()) {
    step_down(current_term_,
              Status::TimedOut("heard from " + std::to_string(alive) + " of " +
                               std::to_string(conf_.size()) + " peers within an election timeout"));
  }
}

void NodeImpl::pre_vote() {
  if (!conf_.contains(server_id_)) return;
  const uint64_t round = ++pre_vote_round_;
  const Term term = current_term_;
  pre_votes_ = {server_id_};
  PONTOON_LOG(kDebug) << "group " << group_id_ << " peer " << server_id_ << ": pre-vote for term "
                      << term + 1;
  if (pre_votes_.size() >= conf_.quorum()) {
    elect_self();
    return;
  }
  request_votes(/*pre_vote=*/true, term + 1,
                [round, term](NodeImpl& node, const PeerId& peer, const Status& status,
                              const RequestVoteResponse& response) {
                  node.on_pre_vote_response(round, term, peer, status, response);
                });
}

void NodeImpl::on_pre_vote_response(uint64_t round, Term term, const PeerId& peer,
                                    const Status& status, const RequestVoteResponse& response) {
  if (!status.ok() || role_ != Role::kFollower) return;
  if (response.term > current_term_) {
    step_down(response.term, Status::Stale("a peer is at a newer term"));
    return;
  }
  if (round != pre_vote_round_ || term != current_term_ || !response.granted) return;
  pre_votes_.insert(peer);
  if (pre_votes_.size() >= conf_.quorum()) {
    pre_votes_.clear();
    ++pre_vote_round_;
    elect_self();
  }
}

void NodeImpl::elect_self() {
  if (role_ == Role::kFollower && !leader_id_.empty()) {
    step_down(current_term_, Status::TimedOut("leader timed out"));
  }
  // Persist before speaking: the new term and our own vote are durable before any
  // RequestVote of this term leaves.
  if (!persist_term_and_vote(current_term_ + 1, server_id_)) return;
  current_term_ = current_term_ + 1;
  voted_for_ = server_id_;
  role_ = Role::kCandidate;
  leader_id_ = PeerId();
  election_started_ = clock_->now();
  votes_ = {server_id_};
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                     << ": starts election for term " << current_term_;
  publish_status();
  if (votes_.size() >= conf_.quorum()) {
    become_leader();
    return;
  }
  const Term term = current_term_;
  request_votes(/*pre_vote=*/false, term,
                [term](NodeImpl& node, const PeerId& peer, const Status& status,
                       const RequestVoteResponse& response) {
                  node.on_vote_response(term, peer, status, response);
                });
}

void NodeImpl::request_votes(bool pre_vote, Term term, VoteResponseHandler on_response) {
  const LogId last = log_manager_->last_log_id();
  const Duration timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  for (const PeerId& peer : conf_.peers()) {
    if (peer == server_id_) continue;
    RequestVoteRequest request{group_id_, server_id_, peer, term, last, pre_vote};
    options_.transport->request_vote(
        request, timeout,
        [weak, lane, peer, on_response](const Status& status, const RequestVoteResponse& response) {
          lane->post([weak, peer, on_response, status, response] {
            if (auto self = weak.lock()) on_response(*self, peer, status, response);
          });
        });
  }
}

void NodeImpl::on_vote_response(Term term, const PeerId& peer, const Status& status,
                                const RequestVoteResponse& response) {
  if (!status.ok()) return;
  if (response.term > current_term_) {
    step_down(response.term, Status::Stale("a peer is at a newer term"));
    return;
  }
  if (role_ != Role::kCandidate || term != current_term_ || !response.granted) return;
  votes_.insert(peer);
  if (votes_.size() >= conf_.quorum()) become_leader();
}

void NodeImpl::become_leader() {
  PONTOON_CHECK(role_ == Role::kCandidate);
  PONTOON_CHECK(voted_for_ == server_id_);
  role_ = Role::kLeader;
  leader_id_ = server_id_;
  leader_start_notified_ = false;
  votes_.clear();
  const LogIndex pending_index = log_manager_->last_log_index() + 1;
  ballot_box_.reset(conf_, pending_index);
  // Closures of an earlier leadership were failed when it ended; start clean.
  PONTOON_CHECK(closure_queue_.reset(pending_index).empty());
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                     << ": becomes leader at term " << current_term_ << ", last log index "
                     << pending_index - 1;

  ReplicatorOptions replicator_options;
  replicator_options.group_id = group_id_;
  replicator_options.leader_id = server_id_;
  replicator_options.term = current_term_;
  replicator_options.log_manager = log_manager_.get();
  replicator_options.transport = options_.transport;
  replicator_options.node_lane = node_lane_;
  replicator_options.clock = clock_;
  replicator_options.heartbeat_interval = std::chrono::milliseconds(options_.heartbeat_interval_ms);
  replicator_options.rpc_timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  replicator_options.max_entries_per_append = options_.max_entries_per_append;
  replicator_options.max_bytes_per_append = options_.max_bytes_per_append;
  replicator_options.max_inflight_msgs = options_.max_inflight_msgs;
  // Replicators live on this lane and are destroyed before this node, so `this` is safe.
  replicator_options.commit_index = [this] { return ballot_box_.commit_index(); };
  replicator_options.on_match = [this](const PeerId& peer, LogIndex match) {
    on_match(peer, match);
  };
  const Term term = current_term_;
  replicator_options.on_higher_term = [this](Term newer) {
    step_down(newer, Status::Stale("a follower is at a newer term"));
  };
  replicator_options.on_log_error = [this, term](const Status& error) {
    if (term == current_term_) enter_error(error);
  };
  // Raft §8: a new leader commits an entry of its own term to learn what is committed. The
  // configuration entry serves as that no-op and records the configuration in the log.
  std::vector<LogEntryPtr> entries{
      make_entry(EntryType::kConfiguration, pending_index, current_term_, conf_.to_string())};
  std::vector<std::unique_ptr<Closure>> closures;
  closures.emplace_back(nullptr);
  append_as_leader(std::move(entries), std::move(closures));
  if (role_ == Role::kLeader) replicators_.start(conf_, replicator_options);
  publish_status();
}

// ---------------------------------------------------------------------------------------------
// RequestVote (Raft §5.2, §5.4.1).

template <typename Request, typename Response>
void NodeImpl::dispatch(const Request& request, RpcCallback<Response> done,
                        void (NodeImpl::*handler)(const Request&, RpcCallback<Response>)) {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post([weak, request, done = std::move(done), handler]() mutable {
    if (auto self = weak.lock()) {
      ((*self).*handler)(request, std::move(done));
    } else {
      done(Status::Shutdown("node is gone"), Response{});
    }
  });
}

void NodeImpl::handle_request_vote(const RequestVoteRequest& request,
                                   RpcCallback<RequestVoteResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_request_vote);
}

void NodeImpl::on_request_vote(const RequestVoteRequest& request,
                               RpcCallback<RequestVoteResponse> done) {
  RequestVoteResponse response;
  if (role_ == Role::kShutdown || role_ == Role::kError) {
    response.term = current_term_;
    done(Status::OK(), response);
    return;
  }
  // A server that hears from a live leader disregards (pre-)vote requests (Raft §6): a
  // partitioned peer coming back cannot depose a healthy leader.
  const bool ignore = leader_is_alive() || !conf_.contains(request.server_id);
  const LogId last = log_manager_->last_log_id();
  // Raft §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours.
  const bool log_ok =
      request.last_log_id.term > last.term ||
      (request.last_log_id.term == last.term && request.last_log_id.index >= last.index);
  if (request.pre_vote) {
    response.term = current_term_;
    response.granted = !ignore && request.term > current_term_ && log_ok;
    done(Status::OK(), response);
    return;
  }
  if (!ignore && request.term > current_term_) {
    step_down(request.term, Status::Stale("a candidate is at a newer term"));
  }
  if (!ignore && request.term == current_term_ && log_ok &&
      (voted_for_.empty() || voted_for_ == request.server_id) && role_ == Role::kFollower) {
    // Persist before speaking: the vote is durable before the candidate learns of it.
    if (persist_term_and_vote(current_term_, request.server_id)) {
      voted_for_ = request.server_id;
      last_vote_granted_ = clock_->now();
      response.granted = true;
    }
  }
  response.term = current_term_;
  publish_status();
  done(Status::OK(), response);
}

// ---------------------------------------------------------------------------------------------
// AppendEntries, follower side (Raft §5.3).

void NodeImpl::handle_append_entries(const AppendEntriesRequest& request,
                                     RpcCallback<AppendEntriesResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_append_entries);
}

void NodeImpl::on_append_entries(const AppendEntriesRequest& request,
                                 RpcCallback<AppendEntriesResponse> done) {
  if (role_ == Role::kShutdown) {
    done(Status::Shutdown("node is shutting down"), AppendEntriesResponse{});
    return;
  }
  if (role_ == Role::kError) {
    done(Status::IoError("node is stopped on an error"), AppendEntriesResponse{});
    return;
  }
  AppendEntriesResponse response;
  if (request.term < current_term_) {
    response.term = current_term_;
    response.last_log_index = log_manager_->last_log_index();
    done(Status::OK(), response);
    return;
  }
  if (request.term > current_term_ || role_ != Role::kFollower) {
    step_down(request.term, Status::Stale("a leader of term " +
                                          std::to_string(request.term.value()) + " exists"));
  }
  if (leader_id_.empty()) {
    leader_id_ = request.server_id;
    PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": follows "
                       << leader_id_ << " at term " << current_term_;
    (void)fsm_caller_->notify_start_following(
        LeaderChangeContext{leader_id_, current_term_, Status::OK()});
    publish_status();
  }
  // Election Safety (Raft §5.2): at most one leader per term.
  PONTOON_CHECK_MSG(leader_id_ == request.server_id, "two leaders in one term");
  last_leader_contact_ = clock_->now();
  response.term = current_term_;

  const LogIndex prev_index = request.prev_log_id.index;
  const LogIndex last_index = log_manager_->last_log_index();
  if (prev_index > last_index) {
    response.conflict_index = last_index + 1;
    response.last_log_index = last_index;
    done(Status::OK(), response);
    return;
  }
  Result<Term> prev_term = log_manager_->get_term(prev_index);
  if (!prev_term.ok()) {
    enter_error(prev_term.status());
    done(prev_term.status(), AppendEntriesResponse{});
    return;
  }
  if (*prev_term != request.prev_log_id.term) {
    fill_conflict(prev_index, &response);
    response.conflict_term = *prev_term;
    response.last_log_index = last_index;
    done(Status::OK(), response);
    return;
  }

  // The logs match up to prev_index. Skip entries we already hold; the first entry that
  // differs (or lies past our end) and everything after it replace our suffix.
  size_t first_new = 0;
  for (; first_new < request.entries.size(); ++first_new) {
    const LogEntryPtr& entry = request.entries[first_new];
    if (entry->id.index > last_index) break;
    Result<Term> local = log_manager_->get_term(entry->id.index);
    if (!local.ok()) {
      enter_error(local.status());
      done(local.status(), AppendEntriesResponse{});
      return;
    }
    if (*local != entry->id.term) break;
  }
  const LogIndex last_new_index = prev_index + static_cast<int64_t>(request.entries.size());
  const Term request_term = request.term;
  const LogIndex leader_commit = request.committed_index;
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  auto on_stable = [weak, lane, request_term, last_new_index, leader_commit,
                    done](const Status& status) mutable {
    lane->post([weak, status, request_term, last_new_index, leader_commit, done] {
      if (auto self = weak.lock()) {
        self->on_follower_stable(status, request_term, last_new_index, leader_commit, done);
      } else {
        done(Status::Shutdown("node is gone"), AppendEntriesResponse{});
      }
    });
  };
  Status queued;
  if (first_new < request.entries.size()) {
    const LogIndex truncate_after = request.entries[first_new]->id.index - 1;
    // Raft §5.4 (Leader Completeness): committed entries are never overwritten.
    PONTOON_CHECK_MSG(truncate_after >= ballot_box_.commit_index() || truncate_after >= last_index,
                      "leader asked to overwrite a committed entry");
    std::vector<LogEntryPtr> entries(request.entries.begin() + first_new, request.entries.end());
    queued = log_manager_->truncate_and_append(truncate_after, std::move(entries), on_stable);
  } else if (last_new_index <= log_manager_->stable_index()) {
    // Everything the request carries is already durable here: answer now.
    on_follower_stable(Status::OK(), request_term, last_new_index, leader_commit, done);
    return;
  } else {
    queued = log_manager_->wait_stable(on_stable);
  }
  if (!queued.ok()) done(queued, AppendEntriesResponse{});
}

void NodeImpl::fill_conflict(LogIndex prev_index, AppendEntriesResponse* response) {
  Result<Term> conflict_term = log_manager_->get_term(prev_index);
  LogIndex first = prev_index;
  const LogIndex floor = std::max(log_manager_->first_log_index(), ballot_box_.commit_index() + 1);
  while (conflict_term.ok() && first > floor) {
    Result<Term> before = log_manager_->get_term(first - 1);
    if (!before.ok() || *before != *conflict_term) break;
    first = first - 1;
  }
  response->conflict_index = first;
}

void NodeImpl::on_follower_stable(const Status& status, Term request_term, LogIndex last_new_index,
                                  LogIndex leader_commit,
                                  const RpcCallback<AppendEntriesResponse>& done) {
  if (!status.ok()) {
    if (!status.is_shutdown() && !status.is_busy()) enter_error(status);
    done(status, AppendEntriesResponse{});
    return;
  }
  AppendEntriesResponse response;
  response.term = current_term_;
  response.last_log_index = last_new_index;
  if (request_term != current_term_ || role_ != Role::kFollower) {
    // The term moved on while the entries were written; the old leader learns of it.
    done(Status::OK(), response);
    return;
  }
  response.success = true;
  // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry).
  if (ballot_box_.advance_to(std::min(leader_commit, last_new_index))) on_commit_advanced();
  done(Status::OK(), response);
}

// ---------------------------------------------------------------------------------------------
// Proposals and commitment, leader side.

void NodeImpl::apply(Task task) {
  if (!apply_queue_) {
    run_closure(std::move(task.done), Status::Shutdown("node is not initialized"));
    return;
  }
  Status queued = apply_queue_->publish(std::move(task));
  if (!queued.ok()) run_closure(std::move(task.done), queued);
}

void NodeImpl::fail_tasks(std::vector<Task>& tasks, const Status& status) {
  std::vector<std::unique_ptr<Closure>> closures;
  for (Task& task : tasks) {
    if (task.done) closures.push_back(std::move(task.done));
  }
  fsm_caller_->run_closures(std::move(closures), status);
}

void NodeImpl::handle_apply_batch(std::vector<Task>& tasks) {
  if (role_ != Role::kLeader) {
    Status status = role_ == Role::kShutdown ? Status::Shutdown("node is shutting down")
                    : role_ == Role::kError  ? Status::IoError("node is stopped on an error")
                                             : Status::NotLeader("not the leader");
    fail_tasks(tasks, status);
    return;
  }
  const LogIndex committed = ballot_box_.commit_index();
  if (static_cast<size_t>(log_manager_->last_log_index() - committed) + tasks.size() >
          options_.max_uncommitted_entries ||
      uncommitted_bytes_ > options_.max_uncommitted_bytes) {
    fail_tasks(tasks, Status::Busy("too many uncommitted entries; retry later"));
    return;
  }
  std::vector<LogEntryPtr> entries;
  std::vector<std::unique_ptr<Closure>> closures;
  LogIndex next = log_manager_->last_log_index() + 1;
  std::vector<std::unique_ptr<Closure>> stale;
  for (Task& task : tasks) {
    if (task.expected_term != Task::kAnyTerm && task.expected_term != current_term_) {
      if (task.done) stale.push_back(std::move(task.done));
      continue;
    }
    entries.push_back(make_entry(EntryType::kData, next, current_term_, std::move(task.data)));
    closures.push_back(std::move(task.done));
    ++next;
  }
  fsm_caller_->run_closures(std::move(stale),
                            Status::Stale("expected term does not match the leader's term " +
                                          std::to_string(current_term_.value())));
  if (!entries.empty()) append_as_leader(std::move(entries), std::move(closures));
}

void NodeImpl::append_as_leader(std::vector<LogEntryPtr> entries,
                                std::vector<std::unique_ptr<Closure>> closures) {
  PONTOON_CHECK(role_ == Role::kLeader);
  PONTOON_CHECK(entries.size() == closures.size());
  const LogIndex first = entries.front()->id.index;
  const LogIndex last = entries.back()->id.index;
  size_t bytes = 0;
  for (const LogEntryPtr& entry : entries) bytes += entry->data.size();
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  const Term term = current_term_;
  Status queued = log_manager_->append(std::move(entries), [weak, lane, term](const Status& s) {
    lane->post([weak, term, s] {
      if (auto self = weak.lock()) self->on_leader_stable(s, term);
    });
  });
  if (!queued.ok()) {
    fsm_caller_->run_closures(std::move(closures), queued);
    return;
  }
  uncommitted_batches_.emplace_back(last, bytes);
  uncommitted_bytes_ += bytes;
  closure_queue_.append(first, std::move(closures));
  // Send to followers now; our own fsync runs in parallel on the disk lane.
  replicators_.on_new_entries();
  publish_status();
}

void NodeImpl::on_leader_stable(const Status& status, Term term) {
  if (!status.ok()) {
    if (!status.is_shutdown()) enter_error(status);
    return;
  }
  if (role_ != Role::kLeader || term != current_term_) return;
  on_match(server_id_, log_manager_->stable_index());
}

void NodeImpl::on_match(const PeerId& peer, LogIndex match_index) {
  if (role_ != Role::kLeader) return;
  if (ballot_box_.update(peer, match_index)) on_commit_advanced();
  publish_status();
}

void NodeImpl::on_commit_advanced() {
  const LogIndex committed = ballot_box_.commit_index();
  fsm_caller_->notify_committed(committed);
  while (!uncommitted_batches_.empty() && uncommitted_batches_.front().first <= committed) {
    uncommitted_bytes_ -= uncommitted_batches_.front().second;
    uncommitted_batches_.pop_front();
  }
  if (role_ == Role::kLeader && !leader_start_notified_ &&
      committed >= ballot_box_.pending_index()) {
    leader_start_notified_ = true;
    (void)fsm_caller_->notify_leader_start(current_term_);
  }
  publish_status();
}

}  // namespace raft
