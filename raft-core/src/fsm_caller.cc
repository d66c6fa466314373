#include "fsm_caller.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

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

FSMCaller::~FSMCaller() { queue_->shutdown(); }

void FSMCaller::init(LogIndex applied_index) {
  applied_index_.store(applied_index.value());
  committed_index_.store(applied_index.value());
}

void FSMCaller::notify_committed(LogIndex committed_index) {
  int64_t previous = committed_index_.load();
  while (previous < committed_index.value() &&
         !committed_index_.compare_exchange_weak(previous, committed_index.value())) {
  }
  if (commit_wakeup_pending_.exchange(true)) return;
  Event event;
  event.type = EventType::kCommitted;
  if (!queue_->publish(std::move(event)).ok()) {
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

void FSMCaller::run_closures(std::vector<std::unique_ptr<Closure>> closures, const Status& status) {
  if (closures.empty()) return;
  Event event;
  event.type = EventType::kRunClosures;
  event.status = status;
  event.closures = std::move(closures);
  Status queued = queue_->publish(std::move(event));
  if (queued.ok()) return;
  // The ring refused the event but it is still ours; run the closures here rather than drop
  // them. (publish() does not consume its argument on failure.)
  for (auto& closure : event.closures) run_closure(std::move(closure), status);
}

void FSMCaller::shutdown(std::function<void()> done) {
  Event event;
  event.type = EventType::kShutdown;
  event.done = std::move(done);
  Status queued = queue_->publish(std::move(event));
  if (!queued.ok() && event.done) event.done();
}

void FSMCaller::handle_events(std::vector<Event>& events) {
  for (Event& event : events) {
    if (shut_down_) {
      // After on_shutdown nothing reaches the state machine; closures still run once.
      for (auto& closure : event.closures) run_closure(std::move(closure), event.status);
      if (event.done) event.done();
      continue;
    }
    handle_event(event);
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
    case EventType::kShutdown:
      shut_down_ = true;
      fsm_->on_shutdown();
      if (event.done) event.done();
      break;
  }
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
      Result<Configuration> conf = Configuration::parse(e->data);
      PONTOON_CHECK_MSG(conf.ok(),
                        "a committed configuration entry passed its checksum but "
                        "does not parse");
      fsm_->on_configuration_committed(*conf);
    }
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
  if (applied_count > 0) applied_index_.store(last_applied.value());
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
