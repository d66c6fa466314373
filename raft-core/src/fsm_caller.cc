#include "fsm_caller.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"
#include "raft/send_batch.h"

namespace raft {

// Walks one run of consecutive data entries. Closures are matched to entries by index.
class FSMCaller::IteratorImpl final : public Iterator {
 public:
  IteratorImpl(const std::vector<LogEntryPtr>& run, std::vector<ClosureQueue::Entry>& closures,
               size_t first_closure)
      : run_(run), closures_(closures), next_closure_(first_closure) {
    skip_closures_before_current();
  }

  bool valid() const override { return pos_ < run_.size() && !error_; }
  void next() override {
    PONTOON_CHECK(valid());
    ++pos_;
    skip_closures_before_current();
  }
  LogIndex index() const override { return current()->id.index; }
  Term term() const override { return current()->id.term; }
  const std::string& data() const override { return current()->data; }
  Closure* done() const override {
    if (next_closure_ < closures_.size() && closures_[next_closure_].first == index()) {
      return closures_[next_closure_].second.get();
    }
    return nullptr;
  }
  void set_error_and_rollback(size_t ntail, const Status& status) override {
    PONTOON_CHECK(valid());
    PONTOON_CHECK(ntail >= 1);
    PONTOON_CHECK(!status.ok());
    // The current entry and up to ntail-1 passed ones of this run count as not applied.
    size_t back = std::min(ntail - 1, pos_);
    pos_ -= back;
    error_ = status;
  }

  size_t position() const { return pos_; }
  const std::optional<Status>& error() const { return error_; }

 private:
  const LogEntryPtr& current() const {
    PONTOON_CHECK(pos_ < run_.size());
    return run_[pos_];
  }
  void skip_closures_before_current() {
    LogIndex target = pos_ < run_.size() ? run_[pos_]->id.index : LogIndex(INT64_MAX);
    while (next_closure_ < closures_.size() && closures_[next_closure_].first < target) {
      ++next_closure_;
    }
  }

  const std::vector<LogEntryPtr>& run_;
  std::vector<ClosureQueue::Entry>& closures_;
  size_t next_closure_;
  size_t pos_ = 0;
  std::optional<Status> error_;
};

FSMCaller::FSMCaller(StateMachine* fsm, LogManager* log_manager, ClosureQueue* closures,
                     std::shared_ptr<Executor> lane, const Options& options,
                     ErrorReporter report_error)
    : fsm_(fsm),
      log_manager_(log_manager),
      closures_(closures),
      options_(options),
      report_error_(std::move(report_error)) {
  queue_ = std::make_unique<RingQueue<Event>>(
      "fsm", options_.queue_capacity, options_.queue_capacity, std::move(lane),
      [this](std::vector<Event>& events) { handle_events(events); });
}

FSMCaller::~FSMCaller() {
  queue_->shutdown();
  // A gathered event still in the ring is destroyed unhandled; its closures still run once.
  fail_gathered(Status::Shutdown("the state machine has shut down"));
}

void FSMCaller::init(LogId applied, const ConfigurationEntry& applied_conf) {
  applied_index_.store(applied.index.value());
  committed_index_.store(applied.index.value());
  applied_term_ = applied.term;
  applied_conf_ = applied_conf;
}

void FSMCaller::notify_committed(LogIndex committed_index) {
  int64_t previous = committed_index_.load();
  while (previous < committed_index.value() &&
         !committed_index_.compare_exchange_weak(previous, committed_index.value())) {
  }
  if (commit_wakeup_pending_.exchange(true)) return;
  Event event;
  event.type = EventType::kCommitted;
  // With apply_on_io_threads, applying may run at once on an RPC thread that runs the node
  // lane inline (it saves waking the state-machine lane's worker). An inline drain handles only
  // the item just published (ring_queue.h), so only this event, never a snapshot save that may
  // block, runs there. Never on a disk thread (a kFrameworkOnly scope): a slow on_apply would
  // hold up every group's log writes behind it.
  const bool may_apply_here =
      options_.apply_on_io_threads && InlineDispatchScope::allows_application_code();
  if (!queue_->publish(std::move(event), may_apply_here).ok()) {
    // Stopped: nothing will be applied any more.
    commit_wakeup_pending_.store(false);
  }
}

Status FSMCaller::publish(EventType type, std::function<void(Event&)> fill) {
  Event event;
  event.type = type;
  fill(event);
  return queue_->publish(std::move(event));
}

Status FSMCaller::notify_leader_start(Term term) {
  return publish(EventType::kLeaderStart, [&](Event& e) { e.term = term; });
}

Status FSMCaller::notify_leader_stop(const Status& status) {
  return publish(EventType::kLeaderStop, [&](Event& e) { e.status = status; });
}

Status FSMCaller::notify_start_following(const LeaderChangeContext& ctx) {
  return publish(EventType::kStartFollowing, [&](Event& e) { e.ctx = ctx; });
}

Status FSMCaller::notify_stop_following(const LeaderChangeContext& ctx) {
  return publish(EventType::kStopFollowing, [&](Event& e) { e.ctx = ctx; });
}

Status FSMCaller::notify_error(const Status& error) {
  return publish(EventType::kError, [&](Event& e) { e.status = error; });
}

Status FSMCaller::save_snapshot(std::shared_ptr<SnapshotSaveJob> job) {
  PONTOON_CHECK(job && job->writer && job->on_saved);
  Event event;
  event.type = EventType::kSnapshotSave;
  event.save = std::move(job);
  return queue_->publish(std::move(event));
}

Status FSMCaller::load_snapshot(std::shared_ptr<SnapshotLoadJob> job) {
  PONTOON_CHECK(job && job->reader && job->on_loaded);
  Event event;
  event.type = EventType::kSnapshotLoad;
  event.load = std::move(job);
  return queue_->publish(std::move(event));
}

void FSMCaller::publish_closures(Event event, const Status& if_refused) {
  if (event.closures.empty()) return;
  Status queued = queue_->publish(std::move(event));
  if (queued.ok()) return;
  // The ring refused the event but it is still ours; run the closures here rather than drop
  // them. (publish() does not consume its argument on failure.)
  for (auto& closure : event.closures) {
    run_closure(std::move(closure), if_refused.ok() ? queued : if_refused);
  }
}

void FSMCaller::run_closures(std::vector<std::unique_ptr<Closure>> closures, const Status& status) {
  Event event;
  event.type = EventType::kRunClosures;
  event.status = status;
  event.closures = std::move(closures);
  publish_closures(std::move(event), status);
}

void FSMCaller::run_when_applied(LogIndex index, std::vector<std::unique_ptr<Closure>> closures) {
  Event event;
  event.type = EventType::kWhenApplied;
  event.index = index;
  event.closures = std::move(closures);
  // Refused: the closures learn the ring's error (they must not see OK unapplied).
  publish_closures(std::move(event), Status::OK());
}

bool FSMCaller::gather_when_applied(LogIndex index, std::unique_ptr<Closure> closure) {
  std::lock_guard<std::mutex> lock(gathered_mutex_);
  gathered_.emplace_back(index, std::move(closure));
  return gathered_.size() == 1;
}

void FSMCaller::publish_gathered() {
  Event event;
  event.type = EventType::kGatheredWhenApplied;
  Status queued = queue_->publish(std::move(event));
  if (queued.ok()) return;
  // Refused (full or stopped): whatever gathered meanwhile learns the ring's error, and the
  // next caller publishes again.
  fail_gathered(queued);
}

std::vector<std::pair<LogIndex, std::unique_ptr<Closure>>> FSMCaller::take_gathered() {
  std::lock_guard<std::mutex> lock(gathered_mutex_);
  std::vector<std::pair<LogIndex, std::unique_ptr<Closure>>> taken;
  taken.swap(gathered_);
  return taken;
}

void FSMCaller::fail_gathered(const Status& status) {
  for (auto& [index, closure] : take_gathered()) run_closure(std::move(closure), status);
}

void FSMCaller::release_applied_waiters() {
  const LogIndex applied = applied_index();
  while (!applied_waiters_.empty() && applied_waiters_.begin()->first <= applied) {
    std::unique_ptr<Closure> closure = std::move(applied_waiters_.begin()->second);
    applied_waiters_.erase(applied_waiters_.begin());
    run_closure(std::move(closure), Status::OK());
  }
}

void FSMCaller::fail_applied_waiters(const Status& status) {
  std::multimap<LogIndex, std::unique_ptr<Closure>> waiting = std::move(applied_waiters_);
  applied_waiters_.clear();
  for (auto& [index, closure] : waiting) run_closure(std::move(closure), status);
}

void FSMCaller::shutdown(std::function<void()> done) {
  Event event;
  event.type = EventType::kShutdown;
  event.done = std::move(done);
  Status queued = queue_->publish(std::move(event));
  if (!queued.ok() && event.done) event.done();
}

void FSMCaller::handle_events(std::vector<Event>& events) {
  // The closures of a batch answer their clients together (raft/send_batch.h).
  SendBatchScope answers;
  for (Event& event : events) {
    if (shut_down_) {
      // After on_shutdown nothing reaches the state machine; closures still run once.
      const bool waits_for_apply =
          event.type == EventType::kWhenApplied || event.type == EventType::kGatheredWhenApplied;
      const Status status =
          waits_for_apply ? Status::Shutdown("the state machine has shut down") : event.status;
      for (auto& closure : event.closures) run_closure(std::move(closure), status);
      if (event.type == EventType::kGatheredWhenApplied) fail_gathered(status);
      if (event.done) event.done();
      if (event.save) event.save->on_saved(Status::Shutdown("the state machine has shut down"));
      if (event.load) event.load->on_loaded(Status::Shutdown("the state machine has shut down"));
      continue;
    }
    handle_event(event);
  }
  if (!applied_waiters_.empty()) {
    if (failed_) {
      fail_applied_waiters(
          Status::IoError("the state machine is stopped on an error: " + last_error_.to_string()));
    } else {
      release_applied_waiters();
    }
  }
}

void FSMCaller::handle_event(Event& event) {
  switch (event.type) {
    case EventType::kNone:
      break;
    case EventType::kCommitted:
      commit_wakeup_pending_.store(false);
      apply_committed();
      break;
    case EventType::kLeaderStart:
      // Everything committed before this event was queued is applied first, so the state
      // machine has seen all entries before the leader's own.
      apply_committed();
      fsm_->on_leader_start(event.term);
      break;
    case EventType::kLeaderStop:
      fsm_->on_leader_stop(event.status);
      break;
    case EventType::kStartFollowing:
      fsm_->on_start_following(event.ctx);
      break;
    case EventType::kStopFollowing:
      fsm_->on_stop_following(event.ctx);
      break;
    case EventType::kError:
      failed_ = true;
      if (!error_reported_to_fsm_) {
        error_reported_to_fsm_ = true;
        fsm_->on_error(event.status);
      }
      break;
    case EventType::kRunClosures:
      for (auto& closure : event.closures) run_closure(std::move(closure), event.status);
      break;
    case EventType::kSnapshotSave:
      // Everything committed so far is applied first, so the snapshot is as fresh as it can be.
      apply_committed();
      do_save_snapshot(event.save);
      break;
    case EventType::kSnapshotLoad:
      do_load_snapshot(event.load);
      break;
    case EventType::kWhenApplied:
      for (auto& closure : event.closures) {
        applied_waiters_.emplace(event.index, std::move(closure));
      }
      break;
    case EventType::kGatheredWhenApplied:
      for (auto& [index, closure] : take_gathered()) {
        // Most are applied by now (reads at the commit index known when they were made).
        if (!failed_ && index <= applied_index()) {
          run_closure(std::move(closure), Status::OK());
        } else {
          applied_waiters_.emplace(index, std::move(closure));
        }
      }
      break;
    case EventType::kShutdown:
      fail_applied_waiters(Status::Shutdown("the state machine has shut down"));
      shut_down_ = true;
      fsm_->on_shutdown();
      if (event.done) event.done();
      break;
  }
}

void FSMCaller::do_save_snapshot(const std::shared_ptr<SnapshotSaveJob>& job) {
  if (failed_) {
    job->on_saved(
        Status::IoError("the state machine is stopped on an error: " + last_error_.to_string()));
    return;
  }
  if (applied_index() <= job->min_index) {
    job->on_saved(Status::NotFound("nothing applied since the snapshot at " +
                                   std::to_string(job->min_index.value())));
    return;
  }
  // Every applied entry follows a configuration entry (each leader's first entry is one), so
  // anything applied means a configuration is known.
  PONTOON_CHECK(!applied_conf_.conf.empty());
  job->meta.last_included = LogId{applied_index(), applied_term_};
  job->meta.conf = applied_conf_.conf;
  job->meta.old_conf = applied_conf_.old_conf;
  // The job owns the writer; the closure keeps the job alive until the state machine is done
  // writing, which may be long after this call returns.
  std::shared_ptr<SnapshotSaveJob> keep = job;
  fsm_->on_snapshot_save(*job->writer,
                         make_closure([keep](const Status& status) { keep->on_saved(status); }));
}

void FSMCaller::do_load_snapshot(const std::shared_ptr<SnapshotLoadJob>& job) {
  const SnapshotMeta& meta = job->reader->meta();
  if (failed_) {
    job->on_loaded(
        Status::IoError("the state machine is stopped on an error: " + last_error_.to_string()));
    return;
  }
  if (meta.last_included.index < applied_index()) {
    job->on_loaded(Status::Stale("snapshot at " + std::to_string(meta.last_included.index.value()) +
                                 " is older than the applied index " +
                                 std::to_string(applied_index().value())));
    return;
  }
  Status loaded = fsm_->on_snapshot_load(*job->reader);
  if (!loaded.ok()) {
    Status error(loaded.code(), "state machine failed to load the snapshot at " +
                                    std::to_string(meta.last_included.index.value()) + ": " +
                                    std::string(loaded.message()));
    fail(error);
    job->on_loaded(error);
    return;
  }
  applied_term_ = meta.last_included.term;
  applied_conf_ = meta.configuration();
  applied_index_.store(meta.last_included.index.value());
  int64_t previous = committed_index_.load();
  while (previous < meta.last_included.index.value() &&
         !committed_index_.compare_exchange_weak(previous, meta.last_included.index.value())) {
  }
  job->on_loaded(Status::OK());
}

void FSMCaller::apply_committed() {
  while (!failed_) {
    LogIndex applied = applied_index();
    LogIndex committed(committed_index_.load());
    if (committed <= applied) return;
    LogIndex to = std::min(committed, applied + static_cast<int64_t>(options_.batch_max_entries));
    if (!apply_range(applied + 1, to)) return;
  }
}

bool FSMCaller::apply_range(LogIndex from, LogIndex to) {
  std::vector<ClosureQueue::Entry> closures = closures_->pop_until(to);
  bool ok = apply_entries(from, to, closures);
  if (!ok) {
    // Entries past the failure will not be applied here: their closures learn why.
    for (auto& [_, closure] : closures) run_closure(std::move(closure), last_error_);
  }
  return ok;
}

bool FSMCaller::apply_entries(LogIndex from, LogIndex to,
                              std::vector<ClosureQueue::Entry>& closures) {
  size_t next_closure = 0;
  std::vector<LogEntryPtr> run;
  for (LogIndex index = from; index <= to; ++index) {
    Result<LogEntryPtr> entry = log_manager_->get_entry(index);
    if (!entry.ok()) {
      // Never apply what cannot be read intact: stop here, before this entry.
      if (!apply_data_run(run, closures, &next_closure)) return false;
      fail(Status(entry.status().code(), "cannot read committed entry " +
                                             std::to_string(index.value()) + ": " +
                                             std::string(entry.status().message())));
      return false;
    }
    const LogEntryPtr& e = *entry;
    PONTOON_CHECK(e->id.index == index);
    if (e->type == EntryType::kData) {
      run.push_back(e);
      continue;
    }
    if (!apply_data_run(run, closures, &next_closure)) return false;
    if (e->type == EntryType::kConfiguration) {
      Result<ConfigurationEntry> conf = ConfigurationEntry::parse(e->data);
      PONTOON_CHECK_MSG(conf.ok(),
                        "a committed configuration entry passed its checksum but "
                        "does not parse");
      fsm_->on_configuration_committed(conf->conf);
      applied_conf_ = *conf;
    }
    applied_term_ = e->id.term;
    applied_index_.store(index.value());
  }
  return apply_data_run(run, closures, &next_closure);
}

bool FSMCaller::apply_data_run(std::vector<LogEntryPtr>& run,
                               std::vector<ClosureQueue::Entry>& closures, size_t* next_closure) {
  if (run.empty()) return true;
  IteratorImpl iter(run, closures, *next_closure);
  size_t last_position = SIZE_MAX;
  // A state machine that returns early without an error is called again with the rest; one
  // that makes no progress at all is broken.
  while (iter.valid()) {
    if (iter.position() == last_position) {
      iter.set_error_and_rollback(
          1, Status::InvalidArgument("state machine returned from on_apply without "
                                     "consuming an entry"));
      break;
    }
    last_position = iter.position();
    fsm_->on_apply(iter);
  }
  size_t applied_count = iter.position();
  LogIndex first = run.front()->id.index;
  LogIndex last_applied = first + static_cast<int64_t>(applied_count) - 1;
  // Closures of applied entries run OK; of entries not applied, with the error.
  while (*next_closure < closures.size() && closures[*next_closure].first <= run.back()->id.index) {
    auto& [index, closure] = closures[*next_closure];
    if (closure) {
      run_closure(std::move(closure),
                  index <= last_applied ? Status::OK() : iter.error().value_or(Status::OK()));
    }
    ++*next_closure;
  }
  if (applied_count > 0) {
    applied_term_ = run[applied_count - 1]->id.term;
    applied_index_.store(last_applied.value());
  }
  run.clear();
  if (iter.error()) {
    fail(*iter.error());
    return false;
  }
  return true;
}

void FSMCaller::fail(const Status& status) {
  failed_ = true;
  last_error_ = status;
  PONTOON_LOG(kError) << "state machine stopped: " << status;
  if (report_error_) report_error_(status);
}

}  // namespace raft
