#include "replicator.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

Replicator::Replicator(const ReplicatorOptions& options, PeerId peer)
    : options_(options), peer_(std::move(peer)) {
  PONTOON_CHECK(options_.log_manager != nullptr);
  PONTOON_CHECK(options_.clock != nullptr);
  // Raft §5.3: next_index starts just past the leader's last entry.
  next_index_ = options_.log_manager->last_log_index() + 1;
  match_index_ = LogIndex(0);
  // A new leader counts every follower as recently heard from, so it is not deposed by its
  // own quorum check before the first round of heartbeats has had time to return.
  last_response_time_ = options_.clock->now();
}

void Replicator::start() {
  send_probe();
  schedule_heartbeat();
}

void Replicator::stop() {
  stopped_ = true;
  inflight_.clear();
  ++window_;
}

void Replicator::on_new_entries() {
  if (stopped_ || state_ != State::kReplicate) return;
  send_entries();
}

AppendEntriesRequest Replicator::make_request() const {
  AppendEntriesRequest request;
  request.group_id = options_.group_id;
  request.server_id = options_.leader_id;
  request.peer_id = peer_;
  request.term = options_.term;
  request.committed_index = options_.commit_index();
  return request;
}

bool Replicator::fill_prev(LogIndex prev_index, AppendEntriesRequest* request) {
  Result<Term> prev_term = options_.log_manager->get_term(prev_index);
  if (!prev_term.ok() && prev_term.status().is_not_found() &&
      prev_index < options_.log_manager->first_log_index()) {
    send_snapshot();
    return false;
  }
  if (!prev_term.ok()) {
    options_.on_log_error(prev_term.status());
    return false;
  }
  request->prev_log_id = LogId{prev_index, *prev_term};
  return true;
}

void Replicator::send_probe() {
  if (stopped_ || probe_in_flight_) return;
  AppendEntriesRequest request = make_request();
  if (!fill_prev(next_index_ - 1, &request)) return;
  probe_in_flight_ = true;
  send(std::move(request), /*heartbeat=*/false);
}

void Replicator::send_entries() {
  LogManager& log = *options_.log_manager;
  if (next_index_ < log.first_log_index()) {
    // Compacted since the window opened.
    send_snapshot();
    return;
  }
  while (!stopped_ && inflight_.size() < options_.max_inflight_msgs &&
         next_index_ <= log.last_log_index()) {
    if (send_read_in_flight_) return;  // Its completion sends, and calls back here.
    if (options_.log_reader && log.reads_storage(next_index_)) {
      read_from_storage(next_index_ - 1, options_.max_entries_per_append,
                        options_.max_bytes_per_append, /*resend=*/false);
      return;
    }
    if (options_.coalesce_after_inflight_msgs != 0 &&
        inflight_.size() >= options_.coalesce_after_inflight_msgs && !unsent_fill_a_request()) {
      ++appends_held_;  // A response will send them, with whatever arrives meanwhile.
      return;
    }
    AppendEntriesRequest request = make_request();
    if (!fill_prev(next_index_ - 1, &request)) return;
    if (!fill_entries(next_index_, options_.max_entries_per_append, options_.max_bytes_per_append,
                      &request)) {
      return;
    }
    PONTOON_CHECK(!request.entries.empty());
    inflight_.push_back(Inflight{next_index_ - 1, request.entries.size()});
    next_index_ += static_cast<int64_t>(request.entries.size());
    send(std::move(request), /*heartbeat=*/false);
  }
}

bool Replicator::unsent_fill_a_request() {
  LogManager& log = *options_.log_manager;
  const LogIndex last = log.last_log_index();
  if (static_cast<size_t>(last - next_index_ + 1) >= options_.max_entries_per_append) return true;
  if (unsent_scan_from_ != next_index_) {
    unsent_scan_from_ = next_index_;
    unsent_scan_next_ = next_index_;
    unsent_scan_bytes_ = 0;
  }
  // Runs with many requests in flight, on entries just appended (send_entries() reads entries
  // below the cache elsewhere first), so one lookup each in memory, without building a vector.
  for (; unsent_scan_next_ <= last; ++unsent_scan_next_) {
    Result<LogEntryPtr> entry = log.get_entry(unsent_scan_next_);
    if (!entry.ok()) return true;
    unsent_scan_bytes_ += (*entry)->data.size();
    if (unsent_scan_bytes_ >= options_.max_bytes_per_append) return true;
  }
  return false;
}

bool Replicator::fill_entries(LogIndex first, size_t max_count, size_t max_bytes,
                              AppendEntriesRequest* request) {
  // One entry larger than the byte limit still goes out, alone (LogManager::get_entries).
  Result<std::vector<LogEntryPtr>> run =
      options_.log_manager->get_entries(first, max_count, max_bytes);
  if (!run.ok()) {
    options_.on_log_error(run.status());
    return false;
  }
  request->entries = std::move(*run);
  return true;
}

void Replicator::read_from_storage(LogIndex prev_index, size_t max_count, size_t max_bytes,
                                   bool resend) {
  if (!resend) {
    PONTOON_CHECK(!send_read_in_flight_);
    send_read_in_flight_ = true;
  }
  ++storage_reads_;
  std::weak_ptr<Replicator> weak = weak_from_this();
  std::shared_ptr<Executor> lane = options_.node_lane;
  // The log manager outlives this task: the node shuts the reader lane down before it goes.
  const LogManager* log = options_.log_manager;
  auto read = std::make_shared<StorageRead>();
  read->window = window_;
  read->prev_index = prev_index;
  read->max_count = max_count;
  read->resend = resend;
  // The reader lane is serial, so reads complete on the node lane in the order they were made.
  options_.log_reader->post([weak, lane, log, read, max_bytes] {
    read->prev_term = log->get_term(read->prev_index);
    if (read->prev_term.ok()) {
      read->entries = log->get_entries(read->prev_index + 1, read->max_count, max_bytes);
    }
    lane->post([weak, read] {
      if (auto self = weak.lock()) self->on_storage_read(*read);
    });
  });
}

void Replicator::on_storage_read(StorageRead& read) {
  if (!read.resend) send_read_in_flight_ = false;
  if (stopped_) return;
  if (read.window != window_ || state_ != State::kReplicate) {
    // The window moved on while reading: what it needs now is read afresh.
    if (!read.resend && state_ == State::kReplicate) send_entries();
    return;
  }
  const bool still_wanted = read.resend
                                ? find_inflight(read.prev_index, read.max_count) != inflight_.end()
                                : next_index_ == read.prev_index + 1;
  if (!still_wanted) {
    if (!read.resend) send_entries();
    return;
  }
  const Status error = !read.prev_term.ok() ? read.prev_term.status() : read.entries.status();
  if (!error.ok()) {
    if (error.is_not_found() && read.prev_index + 1 < options_.log_manager->first_log_index()) {
      send_snapshot();  // Compacted while it was read.
    } else {
      options_.on_log_error(error);
    }
    return;
  }
  entries_read_from_storage_ += read.entries->size();
  AppendEntriesRequest request = make_request();
  request.prev_log_id = LogId{read.prev_index, *read.prev_term};
  request.entries = std::move(*read.entries);
  PONTOON_CHECK(!request.entries.empty());
  if (read.resend) {
    // The same entries as the first time: the leader's log only grows within its term, so a
    // shorter run means a compaction overtook the read (LogManager::get_entries).
    if (request.entries.size() != read.max_count &&
        read.prev_index + 1 < options_.log_manager->first_log_index()) {
      send_snapshot();
      return;
    }
    PONTOON_CHECK(request.entries.size() == read.max_count);
    ++resends_;
    send(std::move(request), /*heartbeat=*/false);
    return;
  }
  inflight_.push_back(Inflight{read.prev_index, request.entries.size()});
  next_index_ += static_cast<int64_t>(request.entries.size());
  send(std::move(request), /*heartbeat=*/false);
  send_entries();
}

std::deque<Replicator::Inflight>::iterator Replicator::find_inflight(LogIndex prev_index,
                                                                     size_t count) {
  return std::find_if(inflight_.begin(), inflight_.end(), [&](const Inflight& sent) {
    return sent.prev_index == prev_index && sent.count == count;
  });
}

void Replicator::resend(LogIndex prev_index, size_t count) {
  if (prev_index + 1 < options_.log_manager->first_log_index()) {
    send_snapshot();  // Compacted since it was first sent.
    return;
  }
  if (options_.log_reader && options_.log_manager->reads_storage(prev_index + 1)) {
    read_from_storage(prev_index, count, SIZE_MAX, /*resend=*/true);
    return;
  }
  AppendEntriesRequest request = make_request();
  if (!fill_prev(prev_index, &request)) return;
  // The same entries as the first time: the leader's log only grows within its term.
  if (!fill_entries(prev_index + 1, count, SIZE_MAX, &request)) return;
  PONTOON_CHECK(request.entries.size() == count);
  ++resends_;
  send(std::move(request), /*heartbeat=*/false);
}

void Replicator::send_heartbeat() {
  if (stopped_) return;
  AppendEntriesRequest request = make_request();
  // The follower is known to match up to match_index, so the consistency check passes and the
  // follower may commit up to min(commit, match_index). If a snapshot has covered that entry,
  // (0, 0) always matches and still carries the leadership and the term.
  Result<Term> term = options_.log_manager->get_term(match_index_);
  if (!term.ok() && !term.status().is_not_found()) {
    options_.on_log_error(term.status());
    return;
  }
  request.prev_log_id = term.ok() ? LogId{match_index_, *term} : LogId{};
  send(std::move(request), /*heartbeat=*/true);
}

void Replicator::send(AppendEntriesRequest request, bool heartbeat) {
  LogIndex prev_index = request.prev_log_id.index;
  size_t count = request.entries.size();
  if (count > 0) {
    ++appends_sent_;
    entries_sent_ += count;
  }
  std::weak_ptr<Replicator> weak = weak_from_this();
  std::shared_ptr<Executor> lane = options_.node_lane;
  uint64_t window = window_;
  const TimePoint sent_at = options_.clock->now();
  options_.transport->append_entries(
      request, options_.rpc_timeout,
      [weak, lane, window, heartbeat, prev_index, count, sent_at](
          const Status& status, const AppendEntriesResponse& response) {
        lane->dispatch([weak, window, heartbeat, prev_index, count, sent_at, status, response] {
          if (auto self = weak.lock()) {
            self->on_response(window, heartbeat, prev_index, count, sent_at, status, response);
          }
        });
      });
}

void Replicator::schedule_heartbeat() {
  std::weak_ptr<Replicator> weak = weak_from_this();
  options_.node_lane->post_after(options_.heartbeat_interval, [weak] {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    self->send_heartbeat();
    self->schedule_heartbeat();
  });
}

void Replicator::schedule_probe_retry() {
  std::weak_ptr<Replicator> weak = weak_from_this();
  uint64_t window = window_;
  options_.node_lane->post_after(options_.heartbeat_interval, [weak, window] {
    auto self = weak.lock();
    if (!self || self->stopped_ || self->window_ != window) return;
    self->send_probe();
  });
}

void Replicator::reset_to_probe(LogIndex next_index) {
  PONTOON_CHECK(next_index > match_index_);
  if (state_ == State::kReplicate) ++window_resets_;
  failures_since_success_ = 0;
  ++window_;
  inflight_.clear();
  probe_in_flight_ = false;
  state_ = State::kProbe;
  next_index_ = next_index;
}

void Replicator::on_response(uint64_t window, bool heartbeat, LogIndex prev_index, size_t count,
                             TimePoint sent_at, const Status& status,
                             const AppendEntriesResponse& response) {
  if (stopped_) return;
  if (status.ok()) {
    last_response_time_ = options_.clock->now();
    heard_back_ = true;
  }
  if (status.ok() && response.term > options_.term) {
    options_.on_higher_term(response.term);
    return;
  }
  if (status.ok() && response.term == options_.term) {
    // Success or not, an answer at our term means the follower still followed us then.
    last_ack_sent_at_ = std::max(last_ack_sent_at_, sent_at);
    if (options_.on_ack) options_.on_ack(peer_);
    if (stopped_) return;
  }
  if (heartbeat) {
    // A heartbeat can only fail the consistency check if the follower lost durable entries;
    // probing again repairs it.
    if (status.ok() && !response.success && response.term == options_.term &&
        state_ != State::kSnapshot) {
      reset_to_probe(match_index_ + 1);
      send_probe();
    }
    return;
  }
  if (window != window_) return;  // An answer to a window that was dropped.
  const LogIndex last_index = prev_index + static_cast<int64_t>(count);
  if (state_ == State::kReplicate && count > 0 && last_index <= match_index_) {
    return;  // Overtaken: a later success already acknowledged these entries.
  }
  if (!status.ok() && state_ == State::kReplicate &&
      find_inflight(prev_index, count) != inflight_.end() &&
      failures_since_success_ < kResendsBeforeProbing) {
    ++failures_since_success_;
    resend(prev_index, count);
    return;
  }
  if (!status.ok()) {
    PONTOON_LOG(kDebug) << "group " << options_.group_id << ": AppendEntries to " << peer_
                        << " failed: " << status;
    // Resume from the oldest entry the follower has not acknowledged.
    LogIndex next = (state_ == State::kReplicate && !inflight_.empty())
                        ? inflight_.front().prev_index + 1
                        : next_index_;
    reset_to_probe(std::max(next, match_index_ + 1));
    schedule_probe_retry();
    return;
  }
  if (state_ == State::kProbe) {
    probe_in_flight_ = false;
    if (!response.success) {
      reset_to_probe(next_after_mismatch(prev_index, response));
      send_probe();
      return;
    }
    PONTOON_CHECK(count == 0);
    set_match(prev_index);
    state_ = State::kReplicate;
    next_index_ = match_index_ + 1;
    send_entries();
    return;
  }
  // Replicate state. A success acknowledges everything up to its last entry, wherever the
  // request sits in the window: the follower's log matches the leader's through it.
  auto sent = find_inflight(prev_index, count);
  if (sent == inflight_.end() || !response.success) {
    LogIndex next = response.success ? match_index_ + 1 : next_after_mismatch(prev_index, response);
    reset_to_probe(next);
    send_probe();
    return;
  }
  if (sent != inflight_.begin()) ++out_of_order_acks_;
  inflight_.erase(inflight_.begin(), sent + 1);
  failures_since_success_ = 0;
  on_append_success(prev_index, count);
  send_entries();
}

void Replicator::send_snapshot() {
  if (stopped_ || state_ == State::kSnapshot) return;
  if (!options_.open_snapshot) {
    options_.on_log_error(Status::NotFound(
        "follower " + peer_.to_string() + " needs entries before the first log index " +
        std::to_string(options_.log_manager->first_log_index().value()) +
        " and there is no snapshot"));
    return;
  }
  ++window_;
  inflight_.clear();
  probe_in_flight_ = false;
  state_ = State::kSnapshot;
  const uint64_t window = window_;
  std::weak_ptr<Replicator> weak = weak_from_this();
  options_.open_snapshot([weak, window](const Status& status, const ServedSnapshot& served) {
    auto self = weak.lock();
    if (!self || self->stopped_ || self->window_ != window) return;
    if (!status.ok()) {
      PONTOON_LOG(kWarn) << "group " << self->options_.group_id << ": no snapshot to send to "
                         << self->peer_ << ": " << status;
      self->on_install_response(window, LogIndex(0), status, InstallSnapshotResponse{});
      return;
    }
    InstallSnapshotRequest request;
    request.group_id = self->options_.group_id;
    request.server_id = self->options_.leader_id;
    request.peer_id = self->peer_;
    request.term = self->options_.term;
    request.meta = served.meta;
    request.files = served.files;
    request.reader_id = served.reader_id;
    PONTOON_LOG(kInfo) << "group " << self->options_.group_id << ": sending snapshot "
                       << served.meta.last_included.index << " to " << self->peer_;
    const LogIndex snapshot_index = served.meta.last_included.index;
    std::shared_ptr<Executor> lane = self->options_.node_lane;
    self->options_.transport->install_snapshot(
        request, self->options_.install_snapshot_timeout,
        [weak, lane, window, snapshot_index](const Status& rpc_status,
                                             const InstallSnapshotResponse& response) {
          lane->post([weak, window, snapshot_index, rpc_status, response] {
            if (auto replicator = weak.lock()) {
              replicator->on_install_response(window, snapshot_index, rpc_status, response);
            }
          });
        });
  });
}

void Replicator::on_install_response(uint64_t window, LogIndex snapshot_index, const Status& status,
                                     const InstallSnapshotResponse& response) {
  if (stopped_ || window != window_) return;
  if (status.ok()) {
    last_response_time_ = options_.clock->now();
    heard_back_ = true;
  }
  if (status.ok() && response.term > options_.term) {
    options_.on_higher_term(response.term);
    return;
  }
  if (status.ok() && response.success) {
    set_match(snapshot_index);
    reset_to_probe(match_index_ + 1);
    send_probe();
    return;
  }
  // Try again later; probing finds out afresh what the follower needs.
  PONTOON_LOG(kDebug) << "group " << options_.group_id << ": snapshot to " << peer_
                      << " not installed: " << (status.ok() ? Status::Busy("refused") : status);
  reset_to_probe(match_index_ + 1);
  schedule_probe_retry();
}

void Replicator::on_append_success(LogIndex prev_index, size_t count) {
  set_match(prev_index + static_cast<int64_t>(count));
}

void Replicator::set_match(LogIndex match_index) {
  if (match_index <= match_index_) return;
  match_index_ = match_index;
  if (next_index_ <= match_index_) next_index_ = match_index_ + 1;
  options_.on_match(peer_, match_index_);
}

LogIndex Replicator::next_after_mismatch(LogIndex prev_index,
                                         const AppendEntriesResponse& response) const {
  LogIndex next = prev_index;  // At worst, step back one entry.
  if (response.conflict_term == Term(0)) {
    // The follower's log is shorter: continue right after its last entry.
    next = std::min(next, response.conflict_index);
  } else {
    // If the leader has entries of the conflicting term, skip past its last one; otherwise
    // skip the follower's whole run of that term.
    LogIndex candidate = response.conflict_index;
    for (LogIndex index = std::min(prev_index, options_.log_manager->last_log_index());
         index > match_index_; index = index - 1) {
      Result<Term> term = options_.log_manager->get_term(index);
      if (!term.ok() || *term < response.conflict_term) break;
      if (*term == response.conflict_term) {
        candidate = index + 1;
        break;
      }
    }
    next = std::min(next, candidate);
  }
  // Never probe at or below what the follower is known to hold.
  return std::max(next, match_index_ + 1);
}

}  // namespace raft
