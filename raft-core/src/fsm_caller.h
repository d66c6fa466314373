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
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "closure_queue.h"
#include "log_manager.h"
#include "raft/executor.h"
#include "raft/ring_queue.h"
#include "raft/snapshot.h"
#include "raft/state_machine.h"

namespace raft {

// A snapshot save in progress, shared by the snapshot executor (which fills `writer` and
// `min_index` and is told the result) and the fsm lane (which fills `meta` and asks the state
// machine). `on_saved` runs once, on whatever thread the state machine finishes on.
struct SnapshotSaveJob {
  std::unique_ptr<SnapshotWriter> writer;
  // The latest snapshot's index: if nothing was applied beyond it, the state machine is not
  // asked (see FSMCaller::save_snapshot).
  LogIndex min_index;
  SnapshotMeta meta;
  std::function<void(const Status&)> on_saved;
};

// A snapshot to load in place of the state machine's state.
struct SnapshotLoadJob {
  std::unique_ptr<SnapshotReader> reader;
  // Runs on the fsm lane after the load (OK, or why it failed or was refused).
  std::function<void(const Status&)> on_loaded;
};

class FSMCaller {
 public:
  struct Options {
    size_t queue_capacity = 16384;
    size_t batch_max_entries = 512;
    // NodeOptions::apply_on_io_threads.
    bool apply_on_io_threads = false;
  };
  // Called on the fsm lane when applying fails (bad entry, state machine rollback); the node
  // then enters its error state.
  using ErrorReporter = std::function<void(const Status&)>;

  FSMCaller(StateMachine* fsm, LogManager* log_manager, ClosureQueue* closures,
            std::shared_ptr<Executor> lane, const Options& options, ErrorReporter report_error);
  ~FSMCaller();

  // Sets where applying starts (the entry after `applied`): 0 for an empty state machine, or
  // the snapshot about to be loaded. Call before any event.
  void init(LogId applied, const ConfigurationEntry& applied_conf);

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
  // Asks the state machine to save a snapshot of what it has applied (see SnapshotSaveJob).
  // If nothing beyond job->min_index was applied, the state machine is not asked and on_saved
  // runs with ENOENT. EBUSY (job untouched) if the ring is full.
  Status save_snapshot(std::shared_ptr<SnapshotSaveJob> job);
  // Replaces the state machine's state with a snapshot, in order with everything queued
  // before. A snapshot older than what is applied is refused with ESTALE; a failed load
  // stops applying and reports the error. EBUSY (job untouched) if the ring is full.
  Status load_snapshot(std::shared_ptr<SnapshotLoadJob> job);
  // Runs `closures` with `status` on the fsm lane (inline if the ring is full or stopped).
  void run_closures(std::vector<std::unique_ptr<Closure>> closures, const Status& status);
  // Runs `closures` with OK on the fsm lane once the state machine has applied `index` (at
  // once if it has), so they may read the state machine there; with the error instead if
  // applying stops (an error, shutdown) first. EBUSY, inline, if the ring is full.
  void run_when_applied(LogIndex index, std::vector<std::unique_ptr<Closure>> closures);
  // As run_when_applied for one closure, for callers that arrive one at a time from many
  // threads (lease reads on the callers' threads): the closure joins an inbox, and one event
  // takes everything gathered by the time the lane handles it, so a burst of reads costs the
  // lane one event, not one each. Returns true if the inbox was empty: the caller must then
  // call publish_gathered(), at once or later from another lane (the later, the more gathers);
  // until then nothing gathered runs. A caller getting false must not call it.
  [[nodiscard]] bool gather_when_applied(LogIndex index, std::unique_ptr<Closure> closure);
  // Publishes the event that takes the inbox. If the ring refuses it (full, stopped), what
  // gathered runs here with the ring's error. Closures left in the inbox when the caller is
  // destroyed (publish_gathered never called) run then, with ESHUTDOWN.
  void publish_gathered();
  // Calls StateMachine::on_shutdown after everything queued before, then `done`; no callback
  // follows. `done` runs on the fsm lane (or inline if the ring is already stopped).
  void shutdown(std::function<void()> done);

  LogIndex applied_index() const { return LogIndex(applied_index_.load()); }
  // The newest committed index this caller has been told of (>= applied_index()).
  LogIndex committed_index() const { return LogIndex(committed_index_.load()); }

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
    kSnapshotSave,
    kSnapshotLoad,
    kWhenApplied,
    kGatheredWhenApplied,
    kShutdown
  };
  struct Event {
    EventType type = EventType::kNone;
    LogIndex index;  // kWhenApplied
    Term term;
    Status status;
    LeaderChangeContext ctx;
    std::vector<std::unique_ptr<Closure>> closures;
    std::function<void()> done;
    std::shared_ptr<SnapshotSaveJob> save;
    std::shared_ptr<SnapshotLoadJob> load;
  };
  class IteratorImpl;

  Status publish(EventType type, std::function<void(Event&)> fill);
  // Publishes an event carrying closures; if the ring refuses it, runs them here with
  // `if_refused`, or with the ring's error if `if_refused` is OK.
  void publish_closures(Event event, const Status& if_refused);
  void handle_events(std::vector<Event>& events);
  void handle_event(Event& event);
  void apply_committed();
  // Applies [from, to]; returns false if applying stopped on an error.
  bool apply_range(LogIndex from, LogIndex to);
  bool apply_entries(LogIndex from, LogIndex to, std::vector<ClosureQueue::Entry>& closures);
  bool apply_data_run(std::vector<LogEntryPtr>& run, std::vector<ClosureQueue::Entry>& closures,
                      size_t* next_closure);
  void fail(const Status& status);
  // Runs the closures waiting for an applied index that has been reached.
  void release_applied_waiters();
  // Runs every waiting closure with `status`.
  void fail_applied_waiters(const Status& status);
  // Takes everything gather_when_applied has gathered.
  std::vector<std::pair<LogIndex, std::unique_ptr<Closure>>> take_gathered();
  // Takes everything gathered and runs it with `status` (an error).
  void fail_gathered(const Status& status);
  void do_save_snapshot(const std::shared_ptr<SnapshotSaveJob>& job);
  void do_load_snapshot(const std::shared_ptr<SnapshotLoadJob>& job);

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
  // Fsm lane only: the last entry applied and the configuration as of it (what a snapshot
  // saved now covers).
  Term applied_term_;
  ConfigurationEntry applied_conf_;
  // Fsm lane only.
  bool failed_ = false;
  Status last_error_;
  bool error_reported_to_fsm_ = false;
  bool shut_down_ = false;
  // Fsm lane only: closures of run_when_applied, by the index they wait for.
  std::multimap<LogIndex, std::unique_ptr<Closure>> applied_waiters_;
  // gather_when_applied's inbox. Non-empty exactly while one publish_gathered() is due, or its
  // kGatheredWhenApplied event is queued and not yet handled, or it is failing a refusal.
  std::mutex gathered_mutex_;
  std::vector<std::pair<LogIndex, std::unique_ptr<Closure>>> gathered_;  // Guarded.
};

}  // namespace raft
