// NodeImpl, elections: the election timer, check-quorum, pre-vote, RequestVote on both
// sides, and becoming leader (Raft §5.2, §5.4.1, thesis §9.6).
#include "node_impl.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

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
      if (now - std::max(last_leader_contact_, last_vote_granted_) >= timeout &&
          priority_allows_campaign()) {
        pre_vote();
      }
      break;
    default:
      break;
  }
  if (role_ != Role::kError && role_ != Role::kShutdown) schedule_election_timer();
}

void NodeImpl::check_quorum() {
  const TimePoint now = clock_->now();
  const Duration timeout = std::chrono::milliseconds(options_.election_timeout_ms);
  std::vector<PeerId> alive = replicators_.heard_from(now, timeout);
  alive.push_back(server_id_);
  if (!conf().has_quorum(alive)) {
    step_down(current_term_, Status::TimedOut("heard from no quorum of " + conf().to_string() +
                                              " within an election timeout"));
  }
}

bool NodeImpl::priority_allows_campaign() {
  const int32_t own = conf().conf.priority(server_id_);
  if (own == Configuration::kNeverLeader) return false;
  if (own == Configuration::kNoPriority) return true;
  const int32_t highest = conf().conf.max_priority();
  if (target_priority_ == Configuration::kNoPriority || target_priority_ > highest) {
    target_priority_ = highest;
  }
  if (own >= target_priority_) return true;
  // Someone of a higher priority should have won by now; wait for a little less next time.
  const int32_t gap = std::max(options_.decay_priority_gap, target_priority_ / 5);
  target_priority_ = std::max(1, target_priority_ - gap);
  PONTOON_LOG(kDebug) << "group " << group_id_ << " peer " << server_id_ << " (priority " << own
                      << "): no leader; now waits for priority " << target_priority_;
  return false;
}

void NodeImpl::pre_vote() {
  // A learner, a replica removed from the group, or one still waiting to join never campaigns.
  if (!conf().is_voter(server_id_)) return;
  const uint64_t round = ++pre_vote_round_;
  const Term term = current_term_;
  pre_votes_ = {server_id_};
  PONTOON_LOG(kDebug) << "group " << group_id_ << " peer " << server_id_ << ": pre-vote for term "
                      << term + 1;
  if (has_quorum(pre_votes_)) {
    elect_self();
    return;
  }
  request_votes(/*pre_vote=*/true, /*leadership_transfer=*/false, term + 1,
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
  if (has_quorum(pre_votes_)) {
    pre_votes_.clear();
    ++pre_vote_round_;
    elect_self();
  }
}

void NodeImpl::elect_self(bool leadership_transfer) {
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
  if (has_quorum(votes_)) {
    become_leader();
    return;
  }
  const Term term = current_term_;
  request_votes(/*pre_vote=*/false, leadership_transfer, term,
                [term](NodeImpl& node, const PeerId& peer, const Status& status,
                       const RequestVoteResponse& response) {
                  node.on_vote_response(term, peer, status, response);
                });
}

void NodeImpl::request_votes(bool pre_vote, bool leadership_transfer, Term term,
                             VoteResponseHandler on_response) {
  const LogId last = log_manager_->last_log_id();
  const Duration timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  for (const PeerId& peer : conf().all_members()) {
    if (peer == server_id_ || !conf().is_voter(peer)) continue;
    RequestVoteRequest request{group_id_, server_id_,         peer, term, last,
                               pre_vote,  leadership_transfer};
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
  if (has_quorum(votes_)) become_leader();
}

void NodeImpl::become_leader() {
  PONTOON_CHECK(role_ == Role::kCandidate);
  PONTOON_CHECK(voted_for_ == server_id_);
  role_ = Role::kLeader;
  leader_id_ = server_id_;
  leader_start_notified_ = false;
  votes_.clear();
  const LogIndex pending_index = log_manager_->last_log_index() + 1;
  ballot_box_.reset(conf(), pending_index);
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
  replicator_options.log_reader = log_reader_lane_;
  replicator_options.clock = clock_;
  replicator_options.heartbeat_interval = std::chrono::milliseconds(options_.heartbeat_interval_ms);
  replicator_options.rpc_timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  replicator_options.max_entries_per_append = options_.max_entries_per_append;
  replicator_options.max_bytes_per_append = options_.max_bytes_per_append;
  replicator_options.max_inflight_msgs = options_.max_inflight_msgs;
  replicator_options.coalesce_after_inflight_msgs = options_.coalesce_after_inflight_msgs;
  // Replicators live on this lane and are destroyed before this node, so `this` is safe.
  replicator_options.commit_index = [this] { return ballot_box_.commit_index(); };
  replicator_options.on_match = [this](const PeerId& peer, LogIndex match) {
    on_match(peer, match);
  };
  const Term term = current_term_;
  replicator_options.on_ack = [this](const PeerId&) { on_follower_ack(); };
  replicator_options.on_higher_term = [this](Term newer) {
    step_down(newer, Status::Stale("a follower is at a newer term"));
  };
  replicator_options.on_log_error = [this, term](const Status& error) {
    if (term == current_term_) enter_error(error);
  };
  if (snapshot_executor_) {
    replicator_options.open_snapshot =
        [this](std::function<void(const Status&, const ServedSnapshot&)> done) {
          open_served_snapshot(std::move(done));
        };
  }
  replicator_options.install_snapshot_timeout =
      std::chrono::milliseconds(options_.install_snapshot_timeout_ms);
  // Raft §8: a new leader commits an entry of its own term to learn what is committed. The
  // configuration entry serves as that no-op and records the configuration in the log.
  std::vector<LogEntryPtr> entries{
      make_entry(EntryType::kConfiguration, pending_index, current_term_, conf().to_string())};
  conf_manager_.add(LogId{pending_index, current_term_}, conf());
  std::vector<std::unique_ptr<Closure>> closures;
  closures.emplace_back(nullptr);
  append_as_leader(std::move(entries), std::move(closures));
  if (role_ == Role::kLeader) replicators_.start(conf().all_members(), replicator_options);
  publish_lease();  // A group of one holds its lease from the start.
  publish_status();
}

// ---------------------------------------------------------------------------------------------
// RequestVote (Raft §5.2, §5.4.1).

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
  // partitioned peer coming back cannot depose a healthy leader. A candidate the leader itself
  // told to campaign (leadership transfer) is heard all the same.
  const bool ignore =
      (leader_is_alive() && !request.leadership_transfer) || !conf().is_voter(request.server_id);
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

}  // namespace raft

namespace raft {

bool NodeImpl::has_quorum(const std::set<PeerId>& granted) const {
  return conf().has_quorum(std::vector<PeerId>(granted.begin(), granted.end()));
}

}  // namespace raft
