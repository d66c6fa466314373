// Node (the public handle) and NodeImpl's lifecycle: init and recovery, shutdown, published
// status, persistence of term and vote, stepping down and the error state.
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
void Node::snapshot(std::unique_ptr<Closure> done) { impl_->snapshot(std::move(done)); }
void Node::crash_for_testing() { impl_->crash_for_testing(); }
bool Node::is_leader() const { return impl_->status().role == Role::kLeader; }
PeerId Node::leader_id() const { return impl_->status().leader_id; }
NodeStatus Node::get_status() const { return impl_->status(); }

std::vector<PeerId> Node::list_peers() const { return impl_->status().conf.peers(); }
std::vector<PeerId> Node::list_learners() const { return impl_->status().conf.learners(); }
void Node::change_peers(const Configuration& new_peers, std::unique_ptr<Closure> done) {
  impl_->change_peers(new_peers, std::move(done));
}
void Node::add_peer(const PeerId& peer, std::unique_ptr<Closure> done) {
  impl_->add_peer(peer, std::move(done));
}
void Node::remove_peer(const PeerId& peer, std::unique_ptr<Closure> done) {
  impl_->remove_peer(peer, std::move(done));
}
void Node::add_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  impl_->add_learners(learners, std::move(done));
}
void Node::remove_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  impl_->remove_learners(learners, std::move(done));
}
void Node::reset_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  impl_->reset_learners(learners, std::move(done));
}
void Node::reset_peers(const Configuration& new_peers, std::unique_ptr<Closure> done) {
  impl_->reset_peers(new_peers, std::move(done));
}
void Node::read_index(std::unique_ptr<ReadIndexClosure> done, ReadMode mode) {
  impl_->read_index(std::move(done), mode);
}
void Node::transfer_leadership_to(const PeerId& peer, std::unique_ptr<Closure> done) {
  impl_->transfer_leadership_to(peer, std::move(done));
}

// ---------------------------------------------------------------------------------------------
// NodeImpl: construction, init, shutdown.

NodeImpl::NodeImpl(GroupId group_id, PeerId server_id)
    : group_id_(std::move(group_id)), server_id_(std::move(server_id)) {
  published_.group_id = group_id_;
  published_.peer_id = server_id_;
}

NodeImpl::~NodeImpl() = default;

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
  // Log writes wait for fsync and snapshots for their files: IO lanes, which a runtime may run
  // on threads of their own.
  disk_lane_ = runtime_->make_io_executor("disk:" + group_id_);
  fsm_lane_ = runtime_->make_executor("fsm:" + group_id_);
  log_reader_lane_ = runtime_->make_io_executor("log-reader:" + group_id_);
  if (options_.snapshot_storage)
    snapshot_lane_ = runtime_->make_io_executor("snapshot:" + group_id_);

  LogManager::Options log_options;
  log_options.disk_queue_capacity = options_.disk_queue_capacity;
  log_options.disk_batch_max = options_.disk_batch_max_ops;
  log_options.cache_max_bytes = options_.log_cache_max_bytes;
  log_manager_ =
      std::make_unique<LogManager>(group_id_, options_.log_storage, disk_lane_, log_options);
  reorder_buffer_ = std::make_unique<AppendReorderBuffer>(
      options_.append_reorder_window, options_.append_reorder_max_bytes,
      std::chrono::milliseconds(options_.append_reorder_timeout_ms));
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  FSMCaller::Options fsm_options;
  fsm_options.queue_capacity = options_.fsm_queue_capacity;
  fsm_options.batch_max_entries = options_.fsm_batch_max_entries;
  fsm_options.apply_on_io_threads = options_.apply_on_io_threads;
  fsm_caller_ = std::make_unique<FSMCaller>(
      options_.fsm, log_manager_.get(), &closure_queue_, fsm_lane_, fsm_options,
      [weak](const Status& error) {
        if (auto self = weak.lock())
          self->post([error](NodeImpl& node) { node.enter_error(error); });
      });
  if (options_.snapshot_storage) snapshot_executor_ = make_snapshot_executor();

  // A log or snapshot that cannot be read back (checksum mismatch, IO error) does not stop
  // init: the node comes up in its error state, reports through on_error, and never applies
  // what it read.
  std::optional<SnapshotMeta> snapshot;
  startup_error_ = recover(&snapshot);
  // A configuration from the log or a snapshot wins; only a fresh replica uses initial_conf,
  // which must then name it (an empty initial_conf makes a joining replica instead, which
  // waits for a leader to add it).
  const bool fresh = conf_manager_.current_id().index == LogIndex(0);
  if (startup_error_.ok() && fresh && !options_.initial_conf.empty() &&
      !options_.initial_conf.contains(server_id_) &&
      !options_.initial_conf.is_learner(server_id_)) {
    return abandon_init(
        Status::InvalidArgument("NodeOptions.initial_conf " + options_.initial_conf.to_string() +
                                " does not contain this node " + server_id_.to_string()));
  }
  // The state machine starts empty; with a snapshot it loads that first and applying resumes
  // after it, otherwise the log is replayed from its start.
  const LogId applied = snapshot ? snapshot->last_included : LogId{};
  fsm_caller_->init(applied, snapshot ? snapshot->configuration() : ConfigurationEntry());
  ballot_box_.advance_to(std::max(applied.index, log_manager_->first_log_index() - 1));
  if (snapshot_executor_ && startup_error_.ok()) snapshot_executor_->load_opened();

  apply_queue_ = std::make_unique<RingQueue<Task>>(
      "apply", options_.apply_queue_capacity, options_.apply_batch_max, node_lane_,
      [weak](std::vector<Task>& tasks) {
        if (auto self = weak.lock()) self->handle_apply_batch(tasks);
      },
      /*inline_drain=*/true);
  read_queue_ = std::make_unique<RingQueue<ReadRequest>>(
      "read", options_.read_queue_capacity, options_.read_batch_max, node_lane_,
      [weak](std::vector<ReadRequest>& reads) {
        if (auto self = weak.lock()) self->handle_read_batch(reads);
      },
      /*inline_drain=*/true);

  Status registered = options_.transport->register_service(group_id_, server_id_, this);
  if (!registered.ok()) return abandon_init(registered);
  registered_ = true;

  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": starting at term "
                     << current_term_ << ", log [" << log_manager_->first_log_index() << ", "
                     << log_manager_->last_log_index() << "], conf " << conf();
  publish_status();
  post([](NodeImpl& node) { node.start(); });
  return Status::OK();
}

Status NodeImpl::abandon_init(const Status& why) {
  // Nothing has been posted to the lanes yet; stop them and forget them so that the node
  // counts as never started (shutdown() and join() then return at once).
  apply_queue_.reset();
  read_queue_.reset();
  snapshot_executor_.reset();
  fsm_caller_.reset();
  log_manager_.reset();
  for (auto* lane : {&node_lane_, &disk_lane_, &fsm_lane_, &log_reader_lane_, &snapshot_lane_}) {
    if (*lane) (*lane)->shutdown();
    lane->reset();
  }
  return why;
}

std::shared_ptr<SnapshotExecutor> NodeImpl::make_snapshot_executor() {
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  SnapshotExecutor::Options snapshot_options;
  snapshot_options.group_id = group_id_;
  snapshot_options.storage = options_.snapshot_storage;
  snapshot_options.node_lane = node_lane_;
  snapshot_options.snapshot_lane = snapshot_lane_;
  snapshot_options.log_manager = log_manager_.get();
  snapshot_options.fsm_caller = fsm_caller_.get();
  snapshot_options.log_tail_entries = options_.snapshot_log_tail_entries;
  snapshot_options.server_id = server_id_;
  snapshot_options.transport = options_.transport;
  snapshot_options.clock = clock_;
  snapshot_options.chunk_bytes = options_.snapshot_chunk_bytes;
  snapshot_options.throttle = options_.snapshot_throttle;
  snapshot_options.rpc_timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  snapshot_options.retry_delay = std::chrono::milliseconds(options_.heartbeat_interval_ms);
  // Both run on the node lane, where the executor lives.
  snapshot_options.on_error = [weak](const Status& error) {
    if (auto self = weak.lock()) self->enter_error(error);
  };
  snapshot_options.on_snapshot_changed = [weak] {
    if (auto self = weak.lock()) self->publish_status();
  };
  return std::make_shared<SnapshotExecutor>(std::move(snapshot_options));
}

Status NodeImpl::recover(std::optional<SnapshotMeta>* snapshot) {
  if (snapshot_executor_) {
    Result<std::optional<SnapshotMeta>> latest = snapshot_executor_->open_latest();
    if (!latest.ok()) return latest.status();
    *snapshot = *latest;
  }
  std::optional<LogId> snapshot_id;
  if (*snapshot) {
    snapshot_id = (*snapshot)->last_included;
    conf_manager_.set_base((*snapshot)->last_included, (*snapshot)->configuration());
  } else {
    conf_manager_.set_base(LogId{}, ConfigurationEntry{options_.initial_conf, {}});
  }
  Status status = log_manager_->init(snapshot_id);
  if (!status.ok()) return status;
  return recover_configuration(snapshot_id ? snapshot_id->index : LogIndex(0));
}

Status NodeImpl::recover_configuration(LogIndex floor_index, std::optional<LogIndex> ceiling) {
  // The newest configuration in the log above `floor_index` wins over the snapshot's and the
  // initial one (Raft §6: a server uses the latest configuration in its log). Each leader's
  // first entry is a configuration, so this scan stops within the current term's entries; it
  // never looks at what the snapshot covers.
  const LogIndex floor = std::max(log_manager_->first_log_index(), floor_index + 1);
  LogIndex top = log_manager_->last_log_index();
  if (ceiling) top = std::min(top, *ceiling);
  for (LogIndex index = top; index >= floor; index = index - 1) {
    Result<LogEntryPtr> entry = log_manager_->get_entry(index);
    if (!entry.ok()) {
      return Status(entry.status().code(),
                    "recovering the configuration: " + std::string(entry.status().message()));
    }
    if ((*entry)->type != EntryType::kConfiguration) continue;
    Result<ConfigurationEntry> conf = ConfigurationEntry::parse((*entry)->data);
    if (!conf.ok()) {
      return Status::Corruption("configuration entry " + std::to_string(index.value()) +
                                " does not parse");
    }
    conf_manager_.add((*entry)->id, *conf);
    break;
  }
  return Status::OK();
}

void NodeImpl::start() {
  last_leader_contact_ = clock_->now();
  started_at_ = last_leader_contact_;
  if (!startup_error_.ok()) {
    enter_error(startup_error_);
    return;
  }
  if (role_ != Role::kFollower) return;
  schedule_election_timer();
  if (snapshot_executor_ && options_.snapshot_interval_s > 0) schedule_snapshot_timer(true);
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
  reject_held_appends();
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
  if (read_queue_) {
    read_queue_->shutdown();
    read_queue_->drain_for_shutdown([&stopping](std::vector<ReadRequest>& reads) {
      for (ReadRequest& read : reads) run_closure(std::move(read.done), stopping);
    });
  }
  fsm_caller_->run_closures(closure_queue_.reset(LogIndex(INT64_MAX / 2)),
                            Status::StepDown("node shut down after the entry was appended"));
  publish_status();
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  fsm_caller_->shutdown([weak] {
    auto self = weak.lock();
    if (!self) return;
    if (!self->snapshot_executor_) {
      self->finish_shutdown();
      return;
    }
    // A snapshot the state machine is still writing finishes before the node does, so its
    // writer never outlives the node.
    self->post([](NodeImpl& node) {
      node.snapshot_executor_->shutdown([&node] { node.finish_shutdown(); });
    });
  });
}

void NodeImpl::crash_for_testing() {
  // The lanes are dead, so nothing else touches this state now.
  if (registered_) {
    options_.transport->unregister_service(group_id_, server_id_);
    registered_ = false;
  }
  std::vector<std::unique_ptr<Closure>> abandoned;
  {
    std::lock_guard<std::mutex> lock(shutdown_mutex_);
    shutdown_started_ = true;
    shutdown_finished_ = true;
    abandoned.swap(shutdown_waiters_);
  }
  shutdown_cv_.notify_all();
  // A dead process runs no callbacks: these are destroyed, not run.
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
  log_reader_lane_->shutdown();
  disk_lane_->shutdown();
  fsm_lane_->shutdown();
  if (snapshot_lane_) snapshot_lane_->shutdown();
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
  following_term_.store(role_ == Role::kFollower ? current_term_.value() : 0,
                        std::memory_order_release);
  // Called after every replication response and commit step, so it updates the published
  // copy in place: the configurations and the peer list are copied only when they changed
  // (a copy is a few strings), the rest are numbers.
  std::lock_guard<std::mutex> lock(status_mutex_);
  NodeStatus& out = published_;
  out.role = role_;
  out.term = current_term_;
  if (!(out.leader_id == leader_id_)) out.leader_id = leader_id_;
  out.first_log_index = log_manager_->first_log_index();
  out.last_log_index = log_manager_->last_log_index();
  out.commit_index = ballot_box_.commit_index();
  out.last_snapshot = log_manager_->snapshot_id();
  if (snapshot_executor_) out.snapshot_install_error = snapshot_executor_->last_install_error();
  if (!(out.conf == conf().conf)) out.conf = conf().conf;
  if (!(out.old_conf == conf().old_conf)) out.old_conf = conf().old_conf;
  replicators_.update_status(&out.peers);
  out.append_reorder = reorder_stats_;
  out.append_reorder.holding = reorder_buffer_ ? reorder_buffer_->size() : 0;
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
  // Before anything else: no more wait-free reads on the callers' threads.
  lease_until_.store(kNoLease, std::memory_order_release);
  if (role_ == Role::kLeader) {
    // A newer term is what a transfer waits for: normally its target started it.
    finish_transfer(term > current_term_ ? Status::OK() : reason);
    fail_pending_reads(Status::NotLeader("leadership ended before the read was confirmed (" +
                                         reason.to_string() + "); retry on the new leader"));
    fail_membership_change(reason);
    replicators_.stop_all();
    // Followers fetching files from this leader get ENOENT and wait for the next leader.
    served_reader_.reset();
    served_ = ServedSnapshot{};
    ballot_box_.clear();
    uncommitted_batches_.clear();
    uncommitted_bytes_ = 0;
    // These entries are in the log: whoever leads next may still commit them.
    Status lost = Status::StepDown("leadership lost after the entry was appended (" +
                                   reason.to_string() + "); it may still commit");
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
  // Held AppendEntries came from the leader this replica no longer follows.
  reject_held_appends();
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
  const Duration timeout = std::chrono::milliseconds(options_.election_timeout_ms);
  // Just started: a leader this replica heard from before it restarted may still hold a lease.
  if (clock_->now() - started_at_ < timeout) return true;
  if (leader_id_.empty()) return false;
  return clock_->now() - last_leader_contact_ < timeout;
}

Status NodeImpl::not_leader() const {
  return Status::NotLeader("not the leader" + (leader_id_.empty()
                                                   ? std::string("; no leader known")
                                                   : "; leader is " + leader_id_.to_string()));
}

}  // namespace raft
