// NodeImpl, leadership transfer (Raft thesis §3.10): the leader stops taking proposals, brings
// the target up to date, and tells it to campaign at once with TimeoutNow. The target's
// RequestVotes carry the transfer flag, so followers that just heard from the leader vote
// anyway. The leader learns of the newer term (from the target's answer, its RequestVote or
// the new leader's heartbeat) and steps down; if nobody takes over within an election timeout,
// it takes proposals again.
#include "node_impl.h"
#include "raft/logging.h"

namespace raft {

void NodeImpl::transfer_leadership_to(const PeerId& peer, std::unique_ptr<Closure> done) {
  if (!node_lane_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  auto holder = std::make_shared<std::unique_ptr<Closure>>(std::move(done));
  post([peer, holder](NodeImpl& node) { node.start_transfer(peer, std::move(*holder)); });
}

void NodeImpl::start_transfer(const PeerId& peer, std::unique_ptr<Closure> done) {
  if (role_ != Role::kLeader) {
    run_closure(std::move(done), not_leader());
    return;
  }
  if (transfer_) {
    run_closure(std::move(done), Status::Busy("leadership is already being transferred to " +
                                              transfer_->target.to_string()));
    return;
  }
  if (membership_change_ || conf().joint()) {
    run_closure(std::move(done), Status::Busy("a membership change is in progress"));
    return;
  }
  PeerId target = peer;
  if (target.empty()) {
    // Any voter that may lead: the one closest to the leader's log takes over soonest.
    LogIndex best(-1);
    for (const PeerId& voter : conf().conf.peers()) {
      if (voter == server_id_ || conf().conf.priority(voter) == Configuration::kNeverLeader) {
        continue;
      }
      const LogIndex match = replicators_.match_index(voter);
      if (match > best) {
        best = match;
        target = voter;
      }
    }
    if (target.empty()) {
      run_closure(std::move(done),
                  Status::InvalidArgument("no other voter of " + conf().conf.to_string() +
                                          " may become leader"));
      return;
    }
  }
  if (target == server_id_) {
    run_closure(std::move(done), Status::OK());
    return;
  }
  if (!conf().conf.contains(target)) {
    run_closure(std::move(done),
                Status::InvalidArgument("transfer target " + target.to_string() +
                                        " is not a voter of " + conf().conf.to_string()));
    return;
  }
  if (conf().conf.priority(target) == Configuration::kNeverLeader) {
    run_closure(std::move(done), Status::InvalidArgument("transfer target " + target.to_string() +
                                                         " has priority 0 and never leads"));
    return;
  }
  const uint64_t generation = ++transfer_generation_;
  transfer_.emplace();
  transfer_->target = target;
  transfer_->done = std::move(done);
  transfer_->generation = generation;
  publish_lease();  // No lease while transferring.
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                     << ": transfers leadership of term " << current_term_ << " to " << target;
  post_after_ms(options_.election_timeout_ms,
                [generation](NodeImpl& node) { node.on_transfer_timeout(generation); });
  maybe_send_timeout_now();
}

void NodeImpl::maybe_send_timeout_now() {
  if (!transfer_ || transfer_->timeout_now_sent || role_ != Role::kLeader) return;
  // No proposal is taken while transferring, so the log's end stays where it is.
  if (replicators_.match_index(transfer_->target) < log_manager_->last_log_index()) return;
  transfer_->timeout_now_sent = true;
  // From now on the target may win at any moment: no lease read in this term any more.
  lease_revoked_term_ = current_term_;
  publish_lease();
  const uint64_t generation = transfer_->generation;
  TimeoutNowRequest request{group_id_, server_id_, transfer_->target, current_term_};
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  options_.transport->timeout_now(
      request, std::chrono::milliseconds(options_.rpc_timeout_ms),
      [weak, lane, generation](const Status& status, const TimeoutNowResponse& response) {
        lane->post([weak, generation, status, response] {
          if (auto self = weak.lock()) self->on_timeout_now_response(generation, status, response);
        });
      });
}

void NodeImpl::on_timeout_now_response(uint64_t generation, const Status& status,
                                       const TimeoutNowResponse& response) {
  if (status.ok() && response.term > current_term_) {
    step_down(response.term, Status::Stale("the transfer target started term " +
                                           std::to_string(response.term.value())));
    return;
  }
  if (!transfer_ || transfer_->generation != generation) return;
  // The target did not start an election: ask again once it has answered a heartbeat, until
  // the transfer times out.
  transfer_->last_error = status.ok() ? Status::Stale("the target refused TimeoutNow") : status;
  transfer_->timeout_now_sent = false;
  post_after_ms(options_.heartbeat_interval_ms, [generation](NodeImpl& node) {
    if (node.transfer_ && node.transfer_->generation == generation) node.maybe_send_timeout_now();
  });
}

void NodeImpl::on_transfer_timeout(uint64_t generation) {
  if (!transfer_ || transfer_->generation != generation) return;
  const LogIndex match = replicators_.match_index(transfer_->target);
  std::string why = "no one took over from " + server_id_.to_string() + " within " +
                    std::to_string(options_.election_timeout_ms) + " ms; " +
                    transfer_->target.to_string() +
                    (transfer_->timeout_now_sent || !transfer_->last_error.ok()
                         ? " was told to campaign"
                         : " had " + std::to_string(match.value()) + " of " +
                               std::to_string(log_manager_->last_log_index().value()) + " entries");
  if (!transfer_->last_error.ok())
    why += " (last TimeoutNow: " + transfer_->last_error.to_string() + ")";
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                     << ": gives up the leadership transfer and leads on: " << why;
  finish_transfer(Status::TimedOut(why));
}

void NodeImpl::finish_transfer(const Status& outcome) {
  if (!transfer_) return;
  std::unique_ptr<Closure> done = std::move(transfer_->done);
  transfer_.reset();
  publish_lease();
  run_closure(std::move(done), outcome);
}

// ---------------------------------------------------------------------------------------------
// The target's side.

void NodeImpl::handle_timeout_now(const TimeoutNowRequest& request,
                                  RpcCallback<TimeoutNowResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_timeout_now);
}

void NodeImpl::on_timeout_now(const TimeoutNowRequest& request,
                              RpcCallback<TimeoutNowResponse> done) {
  TimeoutNowResponse response;
  const bool alive = role_ != Role::kShutdown && role_ != Role::kError;
  if (alive && request.term > current_term_) {
    step_down(request.term, Status::Stale("a leader of a newer term asks for a transfer"));
  }
  if (alive && request.term == current_term_ && role_ == Role::kFollower &&
      conf().is_voter(server_id_) &&
      conf().conf.priority(server_id_) != Configuration::kNeverLeader) {
    PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": "
                       << request.server_id << " hands over leadership of term " << current_term_;
    elect_self(/*leadership_transfer=*/true);
    response.success = role_ == Role::kCandidate || role_ == Role::kLeader;
  }
  response.term = current_term_;
  done(Status::OK(), response);
}

}  // namespace raft
