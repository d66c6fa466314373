// SnapshotExecutor: takes, publishes and loads the snapshots of one replica, and compacts the
// log behind them (docs/snapshots.md).
//
// Saving a snapshot crosses four lanes:
//   node lane      snapshot(done) starts a save (one at a time; EBUSY while one runs);
//   snapshot lane  SnapshotStorage::create_writer (blocking IO stays off the node lane);
//   fsm lane       FSMCaller fills the meta (last applied entry and its configuration) and
//                  calls StateMachine::on_snapshot_save, which captures and may write
//                  asynchronously;
//   snapshot lane  SnapshotStorage::publish (sync files, meta, atomic rename);
//   node lane      the log before the snapshot, minus a tail, is discarded; `done` runs.
// A crash at any point leaves the previous snapshot and the whole log, or the new snapshot
// and a log that continues it (LogManager::init reconciles the two on restart).
//
// Installing the leader's snapshot on a follower (Raft §7) runs the same lanes: the node lane
// pulls the files chunk by chunk with GetFile (within the throttle's budget), the snapshot
// lane appends them to a writer, checks every file's size and checksum against the leader's
// meta, and publishes; the fsm lane loads it; the node lane then resets the log. The log is
// touched only after the new snapshot is durable. A download survives a failed request and a
// re-sent InstallSnapshot of the same snapshot: it resumes from the bytes it has.
//
// Thread-safety: none; the node lane owns it. Completions from other lanes are posted back to
// the node lane and ignored once the executor is gone.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "fsm_caller.h"
#include "log_manager.h"
#include "raft/closure.h"
#include "raft/executor.h"
#include "raft/snapshot.h"
#include "raft/snapshot_throttle.h"
#include "raft/transport.h"

namespace raft {

class SnapshotExecutor : public std::enable_shared_from_this<SnapshotExecutor> {
 public:
  struct Options {
    GroupId group_id;
    std::shared_ptr<SnapshotStorage> storage;
    std::shared_ptr<Executor> node_lane;
    std::shared_ptr<Executor> snapshot_lane;
    FSMCaller* fsm_caller = nullptr;
    LogManager* log_manager = nullptr;
    // Entries kept below a new snapshot for followers that lag a little.
    int64_t log_tail_entries = 1000;
    // Node lane: a snapshot could not be loaded; the node must stop.
    std::function<void(const Status&)> on_error;
    // Node lane: the latest snapshot changed (for published status).
    std::function<void()> on_snapshot_changed;

    // Installing from a leader.
    PeerId server_id;
    std::shared_ptr<RaftTransport> transport;
    const Clock* clock = nullptr;
    size_t chunk_bytes = 128 * 1024;
    std::shared_ptr<SnapshotThrottle> throttle;
    Duration rpc_timeout = std::chrono::seconds(1);
    // Wait before asking again after a failed or throttled GetFile.
    Duration retry_delay = std::chrono::milliseconds(100);
    // Consecutive failed GetFile requests after which the install is given up (the download
    // is kept; the leader's next InstallSnapshot of the same snapshot resumes it).
    int max_fetch_failures = 10;
  };

  explicit SnapshotExecutor(Options options);

  // Before the lanes run (Node::init): opens and verifies the latest snapshot and returns its
  // meta, or nullopt if there is none. ECORRUPTION or EIO if it cannot be read intact.
  Result<std::optional<SnapshotMeta>> open_latest();
  // Hands the snapshot opened by open_latest() to the state machine. Call after the
  // FSMCaller is initialized at that snapshot and before anything else is queued to it.
  void load_opened();

  // Node lane. Saves a snapshot of what the state machine has applied; `done` (may be null)
  // runs on the node lane: OK once published (also when nothing was applied since the last
  // snapshot), EBUSY while another save runs, ESHUTDOWN when stopping, or the error.
  void snapshot(std::unique_ptr<Closure> done);
  bool saving() const { return saving_; }

  // Node lane, follower. Installs the snapshot `request` describes; `done` runs on the node
  // lane with OK once it is durable, loaded and the log reset, or with why not (EBUSY while a
  // save runs, ECORRUPTION naming a file that arrived damaged, the fetch error, ESTALE when a
  // newer request for another snapshot replaced it). A request for the snapshot already being
  // downloaded takes over that download (the earlier caller gets ESTALE).
  void install(const InstallSnapshotRequest& request, std::function<void(const Status&)> done);
  bool installing() const { return download_ != nullptr; }
  // Why the last install failed; OK after one succeeded (or before any ended).
  const Status& last_install_error() const { return last_install_error_; }
  // The last entry of the latest published snapshot ({0, 0} if none).
  LogId last_snapshot_id() const { return last_snapshot_id_; }

  // Node lane. Stops taking snapshots; `on_idle` runs (on the node lane, maybe at once) when
  // no save is in flight any more. A save the state machine is still writing completes (and
  // is published) first, so its writer never outlives the node.
  void shutdown(std::function<void()> on_idle);

 private:
  // Snapshot lane.
  void start_save(LogIndex min_index);
  // Any thread: the state machine finished writing.
  void on_saved(const std::shared_ptr<SnapshotSaveJob>& job, const Status& status);
  // Node lane.
  void finish_save(const Status& status, const std::optional<SnapshotMeta>& published);
  template <typename Fn>
  void post_to(const std::shared_ptr<Executor>& lane, Fn fn);
  template <typename Fn>
  void post_after(Duration delay, Fn fn);

  // One install in progress. Node lane state, except `writer`, which only the snapshot lane
  // touches (it is created, written, checked and published there).
  struct Download {
    InstallSnapshotRequest request;
    std::unique_ptr<SnapshotWriter> writer;
    // Files before `file` are complete; `offset` bytes of files[file] are written.
    size_t file = 0;
    uint64_t offset = 0;
    int failures = 0;
    // Null while no caller waits (the leader's request failed or timed out).
    std::function<void(const Status&)> done;
  };
  static bool same_snapshot(const InstallSnapshotRequest& a, const InstallSnapshotRequest& b);
  void start_download(std::shared_ptr<Download> download);
  void fetch_next(const std::shared_ptr<Download>& download);
  void on_chunk(const std::shared_ptr<Download>& download, uint64_t requested, const Status& status,
                const GetFileResponse& response);
  void on_chunk_written(const std::shared_ptr<Download>& download, const Status& status,
                        uint64_t bytes, bool eof);
  void retry_fetch(const std::shared_ptr<Download>& download, const Status& why);
  // Snapshot lane: verify every file against the leader's meta, then publish and open.
  void verify_and_publish(const std::shared_ptr<Download>& download);
  // Node lane.
  void on_installed(const std::shared_ptr<Download>& download, const Status& status);
  // Ends `download` (if it is the current one) with `status` for its caller; `keep` keeps
  // its bytes for a later request of the same snapshot.
  // Takes `download` by value: callers pass download_ itself, which this resets.
  void end_download(std::shared_ptr<Download> download, const Status& status, bool keep);

  const Options options_;
  std::unique_ptr<SnapshotReader> opened_;
  bool saving_ = false;
  bool stopping_ = false;
  // The closure of the save in flight (null if its caller gave none).
  std::unique_ptr<Closure> done_;
  std::function<void()> on_idle_;
  std::shared_ptr<Download> download_;
  Status last_install_error_;
  // A download given up on but kept, so the same snapshot resumes where it stopped.
  std::shared_ptr<Download> paused_;
  // Invariant: only grows.
  LogId last_snapshot_id_;
};

}  // namespace raft
