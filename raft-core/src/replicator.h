// Replicator: the leader's link to one follower (Raft §5.3).
//
// A replicator starts in the probe state: it sends empty AppendEntries, walking next_index
// back with the follower's conflict hints until the logs match. It then switches to the
// replicate state and pipelines up to max_inflight_msgs AppendEntries. When the follower needs
// entries the leader's log has discarded behind a snapshot, it switches to the snapshot state
// and sends InstallSnapshot (Raft §7), then probes again from just after the snapshot.
//
// Pipelining without a cliff: a success acknowledges everything up to its last entry wherever
// it sits in the window (the follower's log matches through it), so a response that overtakes
// an older one advances the match index and the older one's answer is ignored when it comes. A
// failed RPC (timeout, broken connection) sends that one request again, up to
// kResendsBeforeProbing times in a row without a success in between; the follower holds requests
// that arrive ahead of a gap (append_reorder_buffer.h), so the resent one fills the gap and the
// window stays open. Only a rejection, or failures past that budget, drop the window back to
// probing, which is always safe. Batching under load: with coalesce_after_inflight_msgs requests
// in flight, entries that would not fill a request wait until a response frees a slot, and then
// go out together. Heartbeats go out every heartbeat_interval, outside the window,
// and carry the commit index.
//
// Thread-safety: none. A replicator lives on the node lane; RPC completions are posted back
// to it and ignored once it has been stopped or has reset its window.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "log_manager.h"
#include "raft/clock.h"
#include "raft/executor.h"
#include "raft/transport.h"

namespace raft {

// The leader's latest snapshot as it is offered to followers (Raft §7).
struct ServedSnapshot {
  uint64_t reader_id = 0;
  SnapshotMeta meta;
  std::vector<SnapshotFile> files;
};

struct ReplicatorOptions {
  GroupId group_id;
  PeerId leader_id;
  Term term;
  LogManager* log_manager = nullptr;
  std::shared_ptr<RaftTransport> transport;
  std::shared_ptr<Executor> node_lane;
  // Where entries the log must read from storage (below its cache) are read, so that a
  // lagging follower's catch-up never holds the node lane on the disk; the result is posted
  // back to node_lane. Null: such reads run on the node lane.
  std::shared_ptr<Executor> log_reader;
  const Clock* clock = nullptr;
  Duration heartbeat_interval;
  Duration rpc_timeout;
  size_t max_entries_per_append = 1024;
  size_t max_bytes_per_append = 512 * 1024;
  size_t max_inflight_msgs = 256;
  // NodeOptions::coalesce_after_inflight_msgs: with this many requests in flight, entries that
  // do not fill a request wait for a response. 0: never.
  size_t coalesce_after_inflight_msgs = 0;
  // The leader's commit index, read when a request is built.
  std::function<LogIndex()> commit_index;
  // The follower durably stores everything up to the index.
  std::function<void(const PeerId&, LogIndex)> on_match;
  // The follower answered with a newer term: the leader must step down.
  std::function<void(Term)> on_higher_term;
  // The follower answered an AppendEntries at the leader's term: it still follows this leader.
  // May be null.
  std::function<void(const PeerId&)> on_ack;
  // The leader's log could not be read (corruption, IO error).
  std::function<void(const Status&)> on_log_error;
  // Gets the snapshot to send to a follower that needs entries the log no longer holds; the
  // callback runs on the node lane. Null: the leader has no snapshots.
  std::function<void(std::function<void(const Status&, const ServedSnapshot&)>)> open_snapshot;
  Duration install_snapshot_timeout = std::chrono::minutes(5);
};

class Replicator : public std::enable_shared_from_this<Replicator> {
 public:
  Replicator(const ReplicatorOptions& options, PeerId peer);

  void start();
  void stop();
  // The leader appended entries; send them if the window allows.
  void on_new_entries();

  const PeerId& peer() const { return peer_; }
  LogIndex next_index() const { return next_index_; }
  LogIndex match_index() const { return match_index_; }
  // When the follower last answered any RPC; the leader's quorum check reads it.
  TimePoint last_response_time() const { return last_response_time_; }
  // Whether the follower has answered anything at all (a peer that is down never has).
  bool heard_back() const { return heard_back_; }
  // When the latest AppendEntries the follower answered at the leader's term was *sent*: the
  // follower still followed this leader at some moment after that (ReadIndex confirmation).
  TimePoint last_ack_sent_at() const { return last_ack_sent_at_; }
  // Sends a heartbeat now, outside the heartbeat schedule.
  void heartbeat_now() { send_heartbeat(); }

  // Counted since start(): how often the window dropped back to probing, requests sent again
  // after a failed RPC, and successes counted ahead of an older request in flight.
  uint64_t window_resets() const { return window_resets_; }
  uint64_t resends() const { return resends_; }
  uint64_t out_of_order_acks() const { return out_of_order_acks_; }
  // Counted since start(): AppendEntries sent with entries (resends included, probes and
  // heartbeats not) and the entries they carried; their ratio is the replication batch size.
  uint64_t appends_sent() const { return appends_sent_; }
  uint64_t entries_sent() const { return entries_sent_; }
  // How often new entries waited for a response (coalesce_after_inflight_msgs) instead of
  // going out at once.
  uint64_t appends_held() const { return appends_held_; }
  // Counted since start(): reads of entries below the log's cache handed to the log reader
  // lane, and the entries they brought back to send.
  uint64_t storage_reads() const { return storage_reads_; }
  uint64_t entries_read_from_storage() const { return entries_read_from_storage_; }

  // Failed RPCs answered by sending the request again before the window drops to probing.
  static constexpr size_t kResendsBeforeProbing = 8;

 private:
  enum class State { kProbe, kReplicate, kSnapshot };
  struct Inflight {
    LogIndex prev_index;
    size_t count;
  };
  // One read of the log on the reader lane: the term at prev_index and up to max_count
  // entries after it, for the window `window`, for a new request or (resend) to send the
  // window's request at prev_index again.
  struct StorageRead {
    uint64_t window = 0;
    LogIndex prev_index;
    size_t max_count = 0;
    bool resend = false;
    Result<Term> prev_term = Status::NotFound("not read");
    Result<std::vector<LogEntryPtr>> entries = Status::NotFound("not read");
  };

  void send_probe();
  // The follower needs entries before the leader's first log index.
  void send_snapshot();
  void on_install_response(uint64_t window, LogIndex snapshot_index, const Status& status,
                           const InstallSnapshotResponse& response);
  void send_entries();
  // Whether the entries from next_index_ to the leader's last fill a request
  // (max_entries_per_append, or max_bytes_per_append of payload). Reads each entry at most once
  // per position of next_index_ (unsent_scan_*); true if an entry could not be read, so that
  // the send path reports it.
  bool unsent_fill_a_request();
  // Appends entries [first, first + max_count) to request, stopping before max_bytes of payload
  // (one larger entry still goes alone); false if the log could not be read (then reported).
  bool fill_entries(LogIndex first, size_t max_count, size_t max_bytes,
                    AppendEntriesRequest* request);
  // Reads what a request needs from storage on the log reader lane; on_storage_read() sends it.
  // While a read for a new request is out, send_entries() sends nothing more (the window's next
  // request needs its result first); resends may be read meanwhile.
  void read_from_storage(LogIndex prev_index, size_t max_count, size_t max_bytes, bool resend);
  void on_storage_read(StorageRead& read);
  // Sends the window's request at prev_index again, after its RPC failed.
  void resend(LogIndex prev_index, size_t count);
  // The window's request at prev_index carrying `count` entries, or inflight_.end().
  std::deque<Inflight>::iterator find_inflight(LogIndex prev_index, size_t count);
  void send_heartbeat();
  void schedule_heartbeat();
  void schedule_probe_retry();
  // Drops the window and probes again from `next_index`.
  void reset_to_probe(LogIndex next_index);
  // Fills request.prev_log_id for `prev_index`; false if the log can't say (then it has
  // reported the error, or switched to sending a snapshot if the entry was compacted).
  bool fill_prev(LogIndex prev_index, AppendEntriesRequest* request);
  AppendEntriesRequest make_request() const;
  void send(AppendEntriesRequest request, bool heartbeat);
  void on_response(uint64_t window, bool heartbeat, LogIndex prev_index, size_t count,
                   TimePoint sent_at, const Status& status, const AppendEntriesResponse& response);
  void on_append_success(LogIndex prev_index, size_t count);
  // Where to probe next after the follower rejected prev_index (Raft §5.3 fast backtracking).
  LogIndex next_after_mismatch(LogIndex prev_index, const AppendEntriesResponse& response) const;
  void set_match(LogIndex match_index);

  const ReplicatorOptions options_;
  const PeerId peer_;
  State state_ = State::kProbe;
  // Invariant: match_index_ < next_index_; match_index_ only grows.
  LogIndex next_index_;
  LogIndex match_index_;
  std::deque<Inflight> inflight_;
  bool probe_in_flight_ = false;
  // Bumped whenever the window is dropped; responses sent under an older value are ignored.
  uint64_t window_ = 0;
  bool stopped_ = false;
  TimePoint last_response_time_;
  TimePoint last_ack_sent_at_ = TimePoint::min();  // min: never acknowledged.
  bool heard_back_ = false;
  // Failed RPCs since the last success in the replicate state.
  size_t failures_since_success_ = 0;
  uint64_t window_resets_ = 0;
  uint64_t resends_ = 0;
  uint64_t out_of_order_acks_ = 0;
  uint64_t appends_sent_ = 0;
  uint64_t entries_sent_ = 0;
  uint64_t appends_held_ = 0;
  uint64_t storage_reads_ = 0;
  uint64_t entries_read_from_storage_ = 0;
  // A read_from_storage() for the window's next request has not come back yet.
  bool send_read_in_flight_ = false;
  // unsent_fill_a_request()'s progress: the payload bytes of entries
  // [unsent_scan_from_, unsent_scan_next_), valid while unsent_scan_from_ == next_index_.
  LogIndex unsent_scan_from_;
  LogIndex unsent_scan_next_;
  size_t unsent_scan_bytes_ = 0;
};

}  // namespace raft
