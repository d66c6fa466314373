// FSMCaller: hands committed entries and role changes to the StateMachine, in order, on the
// state-machine lane.
//
// Events arrive on the fsm ring from the node lane; the lane drains them in batches. Commit
// notifications coalesce: the caller applies everything up to the newest committed index it
// has been told of, in batches of at most fsm_batch_max_entries, and runs the leader's
// closures for applied entries afterwards. All StateMachine callbacks therefore run on one
// lane, one at a time.
//
// Thread-safety: the notify_* methods and applied_index() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "closure_queue.h"
#include "log_manager.h"
#include "raft/executor.h"
#include "raft/ring_queue.h"
#include "raft/state_machine.h"

namespace raft {

class FSMCaller {
 public:
  struct Options {
    size_t queue_capacity = 16384;
    size_t batch_max_entries = 512;
  };
  // Called on the fsm lane when applying fails (bad entry, state machine rollback); the node
  // then enters its error state.
  using ErrorReporter = std::function<void(const Status&)>;

  FSMCaller(StateMachine* fsm, LogManager* log_manager, ClosureQueue* closures,
            std::shared_ptr<Executor> lane, const Options& options, ErrorReporter report_error);
  ~FSMCaller();

  // Sets where applying starts (the entry after `applied_index`). Call before any event.
  void init(LogIndex applied_index);

  // Entries up to `committed_index` are committed. Never fails: commit notifications
  // coalesce, so at most one waits in the ring.
  void notify_committed(LogIndex committed_index);
  // The remaining events fail with EBUSY only if the ring is full, which with at most one
  // pending commit notification means thousands of role changes are queued; the caller logs.
  Status notify_leader_start(Term term);
  Status notify_leader_stop(const Status& status);
  Status notify_start_following(const LeaderChangeContext& ctx);
  Status notify_stop_following(const LeaderChangeContext& ctx);
  Status notify_error(const Status& error);
  // Runs `closures` with `status` on the fsm lane (inline if the ring is full or stopped).
  void run_closures(std::vector<std::unique_ptr<Closure>> closures, const Status& status);
  // Calls StateMachine::on_shutdown after everything queued before, then `done`; no callback
  // follows. `done` runs on the fsm lane (or inline if the ring is already stopped).
  void shutdown(std::function<void()> done);

  LogIndex applied_index() const { return LogIndex(applied_index_.load()); }

 private:
  enum class EventType {
    kNone,
    kCommitted,
    kLeaderStart,
    kLeaderStop,
    kStartFollowing,
    kStopFollowing,
    kError,
    kRunClosures,
    kShutdown
  };
  struct Event {
    EventType type = EventType::kNone;
    Term term;
    Status status;
    LeaderChangeContext ctx;
    std::vector<std::unique_ptr<Closure>> closures;
    std::function<void()> done;
  };
  class IteratorImpl;

  Status publish(EventType type, std::function<void(Event&)> fill);
  void handle_events(std::vector<Event>& events);
  void handle_event(Event& event);
  void apply_committed();
  // Applies [from, to]; returns false if applying stopped on an error.
  bool apply_range(LogIndex from, LogIndex to);
  bool apply_entries(LogIndex from, LogIndex to, std::vector<ClosureQueue::Entry>& closures);
  bool apply_data_run(std::vector<LogEntryPtr>& run, std::vector<ClosureQueue::Entry>& closures,
                      size_t* next_closure);
  void fail(const Status& status);

  StateMachine* const fsm_;
  LogManager* const log_manager_;
  ClosureQueue* const closures_;
  const Options options_;
  const ErrorReporter report_error_;
  std::unique_ptr<RingQueue<Event>> queue_;

  std::atomic<int64_t> committed_index_{0};
  std::atomic<bool> commit_wakeup_pending_{false};
  // Invariant: applied_index_ <= committed_index_; only grows. Written on the fsm lane only.
  std::atomic<int64_t> applied_index_{0};
  // Fsm lane only.
  bool failed_ = false;
  Status last_error_;
  bool error_reported_to_fsm_ = false;
  bool shut_down_ = false;
};

}  // namespace raft
