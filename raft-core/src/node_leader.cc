// NodeImpl, leader side of proposals: the apply ring's batches, appending as leader in
// parallel with replication, and advancing the commit index (Raft §5.3, §5.4.2).
#include "node_impl.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

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
  if (transfer_) {
    fail_tasks(tasks, Status::Busy("leadership is being transferred to " +
                                   transfer_->target.to_string() + "; retry on the new leader"));
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
  for (const LogEntryPtr& entry : entries) bytes += memory_footprint(*entry);
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  const Term term = current_term_;
  // The callback reads the stable index (on_leader_stable): of the appends one disk batch wrote,
  // only the last one's needs to run. One entry per append is common under load (the apply ring
  // drained inline by the RPC thread), and a leader whose own log trails what its followers
  // commit fills its disk ring.
  Status queued = log_manager_->append(
      std::move(entries),
      [weak, lane, term](const Status& s) {
        auto count_own_vote = [weak, term, s] {
          if (auto self = weak.lock()) self->on_leader_stable(s, term);
        };
        // Counting the leader's own vote is short: the disk thread runs it itself when the node
        // lane is idle (no worker woken for it; in the simulation this is a post, so the vote still
        // counts only when the fsync's virtual time is over). A failure goes through the lane: the
        // node steps down there.
        if (s.ok()) {
          lane->dispatch(std::move(count_own_vote));
        } else {
          lane->post(std::move(count_own_vote));
        }
      },
      LogManager::StableNotify::kLatestInBatch);
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
  if (membership_change_ && membership_change_->stage == MembershipChange::Stage::kCatchingUp) {
    check_catch_up(membership_change_->generation);
  }
  if (ballot_box_.update(peer, match_index)) on_commit_advanced();
  if (transfer_) maybe_send_timeout_now();
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
  on_configuration_progress();
  maybe_snapshot_by_margin();
  publish_status();
}

}  // namespace raft
