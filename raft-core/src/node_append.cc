// NodeImpl, follower side of AppendEntries: the consistency check, conflict hints, suffix
// replacement, the answer once the entries are durable (Raft §5.3), and the reorder window
// for requests that arrive ahead of a gap.
#include "node_impl.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

// ---------------------------------------------------------------------------------------------
// AppendEntries, follower side (Raft §5.3).

void NodeImpl::handle_append_entries(const AppendEntriesRequest& request,
                                     RpcCallback<AppendEntriesResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_append_entries);
}

void NodeImpl::on_append_entries(const AppendEntriesRequest& request,
                                 RpcCallback<AppendEntriesResponse> done) {
  append_in_order(request, std::move(done));
  release_held_appends();
}

void NodeImpl::append_in_order(const AppendEntriesRequest& request,
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
  follow_leader(request.term, request.server_id);
  response.term = current_term_;

  const LogIndex prev_index = request.prev_log_id.index;
  const LogIndex last_index = log_manager_->last_log_index();
  if (prev_index > last_index) {
    // Entries that overtook earlier ones: wait for those rather than make the leader probe.
    if (!request.entries.empty() && hold_ahead_of_gap(request, done)) return;
    response.conflict_index = last_index + 1;
    response.last_log_index = last_index;
    done(Status::OK(), response);
    return;
  }
  // Entries a snapshot covers are committed, so they match the leader's (Log Matching holds
  // for the committed prefix) even once this log has dropped them.
  const LogIndex compacted = compacted_index();
  Result<Term> prev_term = prev_index <= compacted ? Result<Term>(request.prev_log_id.term)
                                                   : log_manager_->get_term(prev_index);
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
    if (entry->id.index <= compacted) continue;
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
  // Raft Figure 2 commits min(leaderCommit, last new entry) on receipt. Entries up to
  // prev_index are already in this log and match the leader's, so they commit now, without
  // waiting for this request's fsync: with one write in flight the previous write applies here
  // on this thread instead of after the next fsync, two lane hand-offs later.
  if (ballot_box_.advance_to(std::min(leader_commit, prev_index))) on_commit_advanced();
  // Whether this request's own fsync can advance the commit index further.
  const bool commit_waits_for_stable =
      std::min(leader_commit, last_new_index) > ballot_box_.commit_index();
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<Executor> lane = node_lane_;
  auto on_stable = [weak, lane, request_term, last_new_index, leader_commit,
                    commit_waits_for_stable, done](const Status& status) mutable {
    if (status.ok()) {
      // The answer leaves from the disk lane; only the commit index waits for the node lane.
      auto self = weak.lock();
      if (self && self->answer_stable_append(request_term, last_new_index, done)) {
        if (!commit_waits_for_stable) return;
        // Short node-lane work: an idle lane runs it on this disk thread (log_manager.h).
        lane->dispatch([weak, request_term, last_new_index, leader_commit] {
          if (auto self = weak.lock()) {
            self->on_follower_stable(Status::OK(), request_term, last_new_index, leader_commit,
                                     nullptr);
          }
        });
        return;
      }
    }
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
    const bool truncates = truncate_after < last_index;
    queued = log_manager_->truncate_and_append(truncate_after, entries, on_stable);
    if (queued.ok()) {
      // Raft §6: a configuration takes effect as soon as it is in the log, and a cut one
      // stops applying at once.
      if (truncates) roll_back_configuration(truncate_after);
      track_configurations(entries);
    }
  } else if (last_new_index <= log_manager_->stable_index()) {
    // Everything the request carries is already durable here: answer now.
    on_follower_stable(Status::OK(), request_term, last_new_index, leader_commit, done);
    return;
  } else {
    queued = log_manager_->wait_stable(on_stable);
  }
  if (!queued.ok()) done(queued, AppendEntriesResponse{});
}

// ---------------------------------------------------------------------------------------------
// Reorder window: requests that arrived ahead of a gap.

bool NodeImpl::hold_ahead_of_gap(const AppendEntriesRequest& request,
                                 RpcCallback<AppendEntriesResponse>& done) {
  // Everything held is from the leader followed now (step_down() empties the buffer).
  if (!reorder_buffer_->empty() && reorder_buffer_->term() != current_term_) reject_held_appends();
  std::optional<HeldAppend> displaced;
  if (!reorder_buffer_->hold(request, done, clock_->now(), &displaced)) {
    ++reorder_stats_.rejected;
    return false;
  }
  ++reorder_stats_.held;
  if (displaced) reject_held_append(std::move(*displaced));
  arm_reorder_timer();
  publish_status();
  return true;
}

void NodeImpl::release_held_appends() {
  bool released = false;
  while (role_ == Role::kFollower) {
    std::optional<HeldAppend> ready = reorder_buffer_->take_ready(log_manager_->last_log_index());
    if (!ready) break;
    ++reorder_stats_.released;
    released = true;
    append_in_order(ready->request, std::move(ready->done));
  }
  if (released) publish_status();
}

void NodeImpl::reject_held_append(HeldAppend held) {
  ++reorder_stats_.rejected;
  if (role_ == Role::kShutdown) {
    held.done(Status::Shutdown("node is shutting down"), AppendEntriesResponse{});
    return;
  }
  AppendEntriesResponse response;
  response.term = current_term_;
  response.last_log_index = log_manager_->last_log_index();
  response.conflict_index = response.last_log_index + 1;
  held.done(Status::OK(), response);
}

void NodeImpl::reject_held_appends() {
  // Callers publish the status themselves.
  if (!reorder_buffer_) return;
  for (HeldAppend& held : reorder_buffer_->take_all()) reject_held_append(std::move(held));
}

void NodeImpl::arm_reorder_timer() {
  if (reorder_timer_armed_) return;
  const std::optional<TimePoint> expiry = reorder_buffer_->next_expiry();
  if (!expiry) return;
  reorder_timer_armed_ = true;
  const Duration delay = std::max(Duration::zero(), *expiry - clock_->now());
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post_after(delay, [weak] {
    if (auto self = weak.lock()) self->on_reorder_timer();
  });
}

void NodeImpl::on_reorder_timer() {
  reorder_timer_armed_ = false;
  std::vector<HeldAppend> expired = reorder_buffer_->take_expired(clock_->now());
  for (HeldAppend& held : expired) reject_held_append(std::move(held));
  arm_reorder_timer();
  if (!expired.empty()) publish_status();
}

void NodeImpl::follow_leader(Term term, const PeerId& leader) {
  PONTOON_CHECK(term >= current_term_);
  if (term > current_term_ || role_ != Role::kFollower) {
    step_down(term, Status::Stale("a leader of term " + std::to_string(term.value()) + " exists"));
  }
  if (leader_id_.empty()) {
    leader_id_ = leader;
    PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": follows "
                       << leader_id_ << " at term " << current_term_;
    (void)fsm_caller_->notify_start_following(
        LeaderChangeContext{leader_id_, current_term_, Status::OK()});
    publish_status();
  }
  // Election Safety (Raft §5.2): at most one leader per term.
  PONTOON_CHECK_MSG(leader_id_ == leader, "two leaders in one term");
  last_leader_contact_ = clock_->now();
  target_priority_ = Configuration::kNoPriority;
}

void NodeImpl::track_configurations(const std::vector<LogEntryPtr>& entries) {
  for (const LogEntryPtr& entry : entries) {
    if (entry->type != EntryType::kConfiguration) continue;
    Result<ConfigurationEntry> parsed = ConfigurationEntry::parse(entry->data);
    if (!parsed.ok()) {
      // Entries arrive checksummed and validated; a leader sending garbage is a bug there.
      enter_error(Status::Corruption("configuration entry " +
                                     std::to_string(entry->id.index.value()) +
                                     " does not parse: " + parsed.status().to_string()));
      return;
    }
    const bool was_voter = conf().is_voter(server_id_);
    conf_manager_.add(entry->id, *parsed);
    if (was_voter != conf().is_voter(server_id_)) {
      PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                         << (was_voter ? ": is no longer a voter of " : ": is now a voter of ")
                         << conf();
    }
  }
  publish_status();
}

void NodeImpl::roll_back_configuration(LogIndex last_kept) {
  const LogId before = conf_manager_.current_id();
  conf_manager_.truncate_after(last_kept);
  if (before.index <= last_kept) return;
  // The newest configuration was cut. After a restart the manager holds only the newest one
  // the log had, so the log between what it holds now and the cut may hold a newer one.
  // Only up to the cut: what follows it is the leader's new entries, tracked by the caller.
  Status found = recover_configuration(
      std::max(conf_manager_.current_id().index, log_manager_->snapshot_id().index), last_kept);
  if (!found.ok()) enter_error(found);
}

LogIndex NodeImpl::compacted_index() const {
  // The highest index the snapshot covers that the log no longer holds (0 if none).
  const LogIndex snapshot_index = log_manager_->snapshot_id().index;
  const LogIndex below_log = log_manager_->first_log_index() - 1;
  return std::min(snapshot_index, below_log);
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

bool NodeImpl::answer_stable_append(Term request_term, LogIndex last_new_index,
                                    const RpcCallback<AppendEntriesResponse>& done) {
  // Why answering off the node lane is safe: the entries were in this log (appended on the
  // node lane) before anything this replica did in a later term, its votes included, so a
  // success for request_term is what the node lane would have sent before that term began,
  // only later, as a slow network would deliver it; the leader of request_term counts it
  // like any other. The check below only keeps the common case exact: once the term or the
  // role has moved on, the node lane answers with the new term instead.
  if (following_term_.load(std::memory_order_acquire) != request_term.value()) return false;
  AppendEntriesResponse response;
  response.term = request_term;
  response.last_log_index = last_new_index;
  response.success = true;
  done(Status::OK(), response);
  return true;
}

void NodeImpl::on_follower_stable(const Status& status, Term request_term, LogIndex last_new_index,
                                  LogIndex leader_commit,
                                  const RpcCallback<AppendEntriesResponse>& done) {
  // `done` is null when answer_stable_append() has answered already.
  if (!status.ok()) {
    if (!status.is_shutdown() && !status.is_busy()) enter_error(status);
    if (done) done(status, AppendEntriesResponse{});
    return;
  }
  AppendEntriesResponse response;
  response.term = current_term_;
  response.last_log_index = last_new_index;
  if (request_term != current_term_ || role_ != Role::kFollower) {
    // The term moved on while the entries were written; the old leader learns of it.
    if (done) done(Status::OK(), response);
    return;
  }
  response.success = true;
  // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry).
  if (ballot_box_.advance_to(std::min(leader_commit, last_new_index))) on_commit_advanced();
  if (done) done(Status::OK(), response);
}

}  // namespace raft
