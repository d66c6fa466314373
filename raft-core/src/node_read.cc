// NodeImpl, linearizable reads without the log: ReadIndex (Raft thesis §6.4).
//
// Node::read_index publishes to the read ring; the node lane drains it in batches. The leader
// takes its commit index as the read index of the whole batch and confirms that it still leads
// with one heartbeat round: the reads are confirmed once a quorum of voters has answered, at
// this term, an AppendEntries sent after the batch arrived (Replicator::last_ack_sent_at), so
// no newer leader can have committed anything at that moment. A leader that has not committed
// an entry of its own term does not know the commit index yet (§8) and answers EAGAIN. A
// follower or learner asks the leader for the index with the ReadIndex RPC. Either way the
// closures then wait, on the state-machine lane, until that index is applied.
#include <algorithm>
#include <functional>

#include "node_impl.h"
#include "raft/logging.h"

namespace raft {

void NodeImpl::read_index(std::unique_ptr<ReadIndexClosure> done, ReadMode mode) {
  if (!read_queue_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  if (mode == ReadMode::kWaitFree && try_read_wait_free(done)) return;
  if (mode != ReadMode::kSafe && try_read_lease_on_caller(done)) return;
  ReadRequest request{std::move(done), mode};
  Status queued = read_queue_->publish(std::move(request));
  if (!queued.ok()) run_closure(std::move(request.done), queued);
}

void NodeImpl::handle_read_batch(std::vector<ReadRequest>& reads) {
  // One group per mode: each group is served (and, for kSafe, confirmed) together.
  std::vector<std::unique_ptr<ReadIndexClosure>> by_mode[3];
  for (ReadRequest& read : reads) {
    by_mode[static_cast<int>(read.mode)].push_back(std::move(read.done));
  }
  for (ReadMode mode : {ReadMode::kWaitFree, ReadMode::kLease, ReadMode::kSafe}) {
    auto& closures = by_mode[static_cast<int>(mode)];
    if (!closures.empty()) serve_reads(std::move(closures), mode);
  }
}

void NodeImpl::serve_reads(std::vector<std::unique_ptr<ReadIndexClosure>> reads, ReadMode mode) {
  if (mode == ReadMode::kWaitFree && role_ == Role::kLeader && lease_is_valid() &&
      fsm_caller_->applied_index() >= ballot_box_.pending_index()) {
    // Every write this leader acknowledged was applied before its closure ran, and every
    // write an earlier leader acknowledged is at or below the first entry of this term.
    const LogIndex applied = fsm_caller_->applied_index();
    for (auto& read : reads) {
      read->set_read_index(applied);
      run_closure(std::move(read), Status::OK());
    }
    return;
  }
  auto closures =
      std::make_shared<std::vector<std::unique_ptr<ReadIndexClosure>>>(std::move(reads));
  // Delivers the read index to the batch: waiting on the fsm lane until it is applied.
  ReadConfirmed deliver = [this, closures](const Status& status, LogIndex index) {
    std::vector<std::unique_ptr<Closure>> ready;
    ready.reserve(closures->size());
    for (auto& read : *closures) {
      read->set_read_index(index);
      ready.push_back(std::move(read));
    }
    closures->clear();
    if (status.ok()) {
      fsm_caller_->run_when_applied(index, std::move(ready));
    } else {
      fsm_caller_->run_closures(std::move(ready), status);
    }
  };
  if (role_ == Role::kShutdown || role_ == Role::kError) {
    deliver(role_ == Role::kShutdown ? Status::Shutdown("node is shutting down")
                                     : Status::IoError("node is stopped on an error"),
            LogIndex(0));
    return;
  }
  const bool allow_lease = mode != ReadMode::kSafe;
  if (role_ == Role::kLeader) {
    confirm_read_index(allow_lease, std::move(deliver));
    return;
  }
  if (leader_id_.empty()) {
    deliver(Status::NotLeader("no leader is known; retry later"), LogIndex(0));
    return;
  }
  // Not leading: the leader knows the index. The answer is delivered on this lane, so that
  // `deliver` (which uses fsm_caller_) never races shutdown.
  ReadIndexRequest request{group_id_, server_id_, leader_id_, allow_lease};
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  auto shared_deliver = std::make_shared<ReadConfirmed>(std::move(deliver));
  options_.transport->read_index(
      request, std::chrono::milliseconds(options_.rpc_timeout_ms),
      [weak, lane, shared_deliver](const Status& status, const ReadIndexResponse& response) {
        lane->post([weak, shared_deliver, status, response] {
          auto self = weak.lock();
          if (!self) return;
          if (self->role_ == Role::kShutdown) {
            (*shared_deliver)(Status::Shutdown("node is shutting down"), LogIndex(0));
            return;
          }
          (*shared_deliver)(status, response.index);
        });
      });
}

void NodeImpl::confirm_read_index(bool allow_lease, ReadConfirmed done) {
  if (role_ != Role::kLeader) {
    done(not_leader(), LogIndex(0));
    return;
  }
  const LogIndex committed = ballot_box_.commit_index();
  if (committed < ballot_box_.pending_index()) {
    done(Status::Again("the leader of term " + std::to_string(current_term_.value()) +
                       " has not committed an entry of its term yet; retry shortly"),
         LogIndex(0));
    return;
  }
  if (allow_lease && lease_is_valid()) {
    done(Status::OK(), committed);
    return;
  }
  pending_reads_.push_back(PendingRead{clock_->now(), committed, std::move(done)});
  // With no other voter (a group of one), this node alone is the quorum.
  on_follower_ack();
  if (!pending_reads_.empty()) replicators_.heartbeat_all_now();
}

TimePoint NodeImpl::quorum_ack_time() const {
  const TimePoint now = clock_->now();
  auto for_conf = [&](const Configuration& voters) {
    std::vector<TimePoint> times;
    for (const PeerId& peer : voters.peers()) {
      times.push_back(peer == server_id_ ? now : replicators_.last_ack_sent_at(peer));
    }
    // The quorum-th most recent acknowledgement: a quorum acknowledged at or after it.
    std::sort(times.begin(), times.end(), std::greater<TimePoint>());
    return times.at(voters.quorum() - 1);
  };
  TimePoint at = for_conf(conf().conf);
  if (conf().joint()) at = std::min(at, for_conf(conf().old_conf));
  return at;
}

Duration NodeImpl::lease_duration() const {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(
      static_cast<double>(options_.election_timeout_ms) * options_.leader_lease_ratio -
      static_cast<double>(options_.max_clock_drift_ms)));
}

bool NodeImpl::lease_is_valid() const {
  if (role_ != Role::kLeader || transfer_ || lease_revoked_term_ == current_term_) return false;
  const TimePoint acked = quorum_ack_time();
  return acked != TimePoint::min() && clock_->now() < acked + lease_duration();
}

void NodeImpl::publish_lease() {
  int64_t until = kNoLease;
  if (role_ == Role::kLeader && !transfer_ && lease_revoked_term_ != current_term_) {
    const TimePoint acked = quorum_ack_time();
    if (acked != TimePoint::min()) until = (acked + lease_duration()).time_since_epoch().count();
  }
  if (until != kNoLease) {
    term_first_index_.store(ballot_box_.pending_index().value(), std::memory_order_relaxed);
  }
  lease_until_.store(until, std::memory_order_release);
}

bool NodeImpl::published_lease_holds() const {
  const int64_t until = lease_until_.load(std::memory_order_acquire);
  return until != kNoLease && clock_->now().time_since_epoch().count() < until;
}

bool NodeImpl::try_read_wait_free(std::unique_ptr<ReadIndexClosure>& done) {
  // Why this is linearizable without the node lane: the lease (published from the node lane
  // at the quorum's last acknowledgement) says no other leader can exist before `until`, so
  // every write acknowledged anywhere so far was acknowledged by this leader, after it was
  // applied here, or committed before its term, below its first index, which is applied too.
  if (!published_lease_holds()) return false;
  const LogIndex applied = fsm_caller_->applied_index();
  if (applied.value() < term_first_index_.load(std::memory_order_relaxed)) return false;
  done->set_read_index(applied);
  run_closure(std::move(done), Status::OK());
  return true;
}

bool NodeImpl::try_read_lease_on_caller(std::unique_ptr<ReadIndexClosure>& done) {
  // The wait-free argument, waiting for more: every acknowledged write is at or below the
  // committed index the fsm lane knows (this leader's were applied before they were
  // acknowledged; earlier leaders' are below the first index of this term, committed). Waiting
  // until that index is applied lets the closure read the state machine on its lane.
  if (!published_lease_holds()) return false;
  const LogIndex committed = fsm_caller_->committed_index();
  if (committed.value() < term_first_index_.load(std::memory_order_relaxed)) return false;
  done->set_read_index(committed);
  if (fsm_caller_->gather_when_applied(committed, std::move(done))) {
    // The reads of many callers reach the fsm lane as one event. The first of a burst does not
    // publish it itself: an idle fsm lane, woken at once, would take only the few that arrived
    // by the time its thread ran. The node lane, which writes keep busy, publishes it on its
    // next turn, and the burst gathers meanwhile (docs/reads.md).
    node_lane_->post([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->fsm_caller_->publish_gathered();
    });
  }
  return true;
}

void NodeImpl::on_follower_ack() {
  publish_lease();
  while (!pending_reads_.empty() && role_ == Role::kLeader) {
    std::vector<PeerId> acked = replicators_.acked_since(pending_reads_.front().since);
    acked.push_back(server_id_);
    if (!conf().has_quorum(acked)) return;
    // Later reads arrived later: they need acknowledgements sent later still.
    PendingRead read = std::move(pending_reads_.front());
    pending_reads_.pop_front();
    read.done(Status::OK(), read.index);
  }
}

void NodeImpl::fail_pending_reads(const Status& why) {
  std::deque<PendingRead> failed = std::move(pending_reads_);
  pending_reads_.clear();
  for (PendingRead& read : failed) read.done(why, LogIndex(0));
}

void NodeImpl::handle_read_index(const ReadIndexRequest& request,
                                 RpcCallback<ReadIndexResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_read_index);
}

void NodeImpl::on_read_index(const ReadIndexRequest& request, RpcCallback<ReadIndexResponse> done) {
  confirm_read_index(request.allow_lease,
                     [done = std::move(done)](const Status& status, LogIndex index) {
                       done(status, ReadIndexResponse{index});
                     });
}

}  // namespace raft
