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
#include "node_impl.h"
#include "raft/logging.h"

namespace raft {

void NodeImpl::read_index(std::unique_ptr<ReadIndexClosure> done) {
  if (!read_queue_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  Status queued = read_queue_->publish(std::move(done));
  if (!queued.ok()) run_closure(std::move(done), queued);
}

void NodeImpl::handle_read_batch(std::vector<std::unique_ptr<ReadIndexClosure>>& reads) {
  auto closures = std::make_shared<std::vector<std::unique_ptr<ReadIndexClosure>>>();
  closures->reserve(reads.size());
  for (auto& read : reads) closures->push_back(std::move(read));
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
  if (role_ == Role::kLeader) {
    confirm_read_index(std::move(deliver));
    return;
  }
  if (leader_id_.empty()) {
    deliver(Status::NotLeader("no leader is known; retry later"), LogIndex(0));
    return;
  }
  // Not leading: the leader knows the index. The answer is delivered on this lane, so that
  // `deliver` (which uses fsm_caller_) never races shutdown.
  ReadIndexRequest request{group_id_, server_id_, leader_id_};
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

void NodeImpl::confirm_read_index(ReadConfirmed done) {
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
  pending_reads_.push_back(PendingRead{clock_->now(), committed, std::move(done)});
  // With no other voter (a group of one), this node alone is the quorum.
  on_follower_ack();
  if (!pending_reads_.empty()) replicators_.heartbeat_all_now();
}

void NodeImpl::on_follower_ack() {
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
  (void)request;
  confirm_read_index([done = std::move(done)](const Status& status, LogIndex index) {
    done(status, ReadIndexResponse{index});
  });
}

}  // namespace raft
