// LogStorage: the durable home of one group's log.
//
// The log is a contiguous run of entries [first_log_index(), last_log_index()]. An empty log
// has last_log_index() == first_log_index() - 1 (initially first 1, last 0).
//
// Every record carries a checksum written with it; a read that finds a record whose checksum
// does not match returns ECORRUPTION and never hands out the bad bytes.
//
// Thread-safety: implementations must allow reads (get_entry, get_term, first/last index) from
// any thread concurrently with one writer. Writes (write, truncate_prefix) come from one
// thread at a time (the LogManager's disk lane).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "raft/log_entry.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

// One change to the log: drop every entry after `truncate_after` (if set), then append
// `entries` (LogStorage::write says what a crash in the middle may leave). LogManager coalesces
// everything its disk queue drained into one LogWrite, so one drained batch costs one storage write
// and one fsync.
struct LogWrite {
  // If set, every entry with index > *truncate_after is removed first (Raft §5.3 conflict).
  std::optional<LogIndex> truncate_after;
  // REQUIRES: contiguous increasing indexes, the first one being last_log_index() + 1 after
  // the truncation.
  std::vector<LogEntryPtr> entries;
  // fsync before returning.
  bool sync = true;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual LogIndex first_log_index() const = 0;
  virtual LogIndex last_log_index() const = 0;

  // ENOENT if `index` is outside [first, last]; ECORRUPTION if the record fails its checksum
  // or cannot be decoded; EIO on a read error.
  virtual Result<LogEntryPtr> get_entry(LogIndex index) const = 0;
  // Same errors as get_entry.
  virtual Result<Term> get_term(LogIndex index) const = 0;

  // A run of entries from `first` on, read in one pass where the storage can (one RocksDB
  // iterator, one read per segment file) rather than one lookup per entry: what a leader
  // sending a lagging follower the entries its cache no longer holds needs. Returns at most
  // `max_count` entries, stopping at last_log_index() and before the entry that would take
  // the payload (LogEntry::data) past `max_bytes`; the first entry is returned whatever its
  // size, so an entry larger than the limit still goes out, alone. Errors as get_entry for
  // `first`; an entry after it that was removed while reading (ENOENT) ends the run there;
  // ECORRUPTION or EIO at any entry fails the whole read. REQUIRES: max_count >= 1.
  // The default reads entry by entry with get_entry.
  virtual Result<std::vector<LogEntryPtr>> get_entries(LogIndex first, size_t max_count,
                                                       size_t max_bytes) const;

  // Applies `write`: drops the entries after truncate_after, then appends the entries. If sync
  // was set and OK was returned, all of it is durable. EINVAL if the entries are not contiguous
  // with the log (nothing is changed); EIO if the disk fails.
  //
  // Crash atomicity: an implementation may apply a write all-or-nothing (RocksDB's WriteBatch)
  // or, if it appends to files (FileLogStorage), only prefix-wise. After a crash during a
  // write that did not return OK, the recovered log is then either a prefix of the old log that
  // still holds every durable entry <= truncate_after, or the old log cut at truncate_after
  // followed by a prefix of the new entries; never a log with a gap, nor old entries after
  // truncate_after mixed with new ones. Raft stays safe with this: every such state is one a
  // follower could legitimately be in (as if fewer AppendEntries had arrived), because nothing
  // in it beyond the old durable prefix was acknowledged (a replica reports an entry stored
  // only once the write holding it returned OK), so the leader re-sends what is missing and
  // overwrites what conflicts (Raft §5.3).
  virtual Status write(const LogWrite& write) = 0;

  // Discards entries before `first_index_kept` (after a snapshot covers them). Removing past
  // last_log_index() leaves an empty log whose next entry is `first_index_kept`.
  virtual Status truncate_prefix(LogIndex first_index_kept) = 0;

  // Deferred durability, optional. A storage that can make many writes durable with one
  // later sync shared with other logs (the groups of one RocksDB store) says so here; the
  // LogManager then writes with sync cleared and calls sync_then(), and its disk lane goes on
  // without waiting for the fsync.
  virtual bool defers_sync() const { return false; }
  // REQUIRES: defers_sync(). Runs `done` once everything this storage returned OK for before
  // the call is durable, or with the sync's error: on the caller's thread before returning,
  // or later on another thread. The callbacks of one storage run in the order of the calls.
  // `done` must not call back into this storage's writes.
  virtual void sync_then(std::function<void(const Status&)> done) { done(Status::OK()); }
};

// The durable term and vote of one group's replica (Raft §5.1, Figure 2 "persistent state").
//
// Thread-safety: not required; the Node calls it from its own lane.
class RaftMetaStorage {
 public:
  virtual ~RaftMetaStorage() = default;

  // What was last stored, or term 0 and an empty vote for a fresh replica.
  virtual Term term() const = 0;
  virtual PeerId voted_for() const = 0;

  // Durably replaces both (write, fsync, atomic rename). The in-memory values change only if
  // this returns OK. EIO on failure.
  virtual Status set_term_and_voted_for(Term term, const PeerId& voted_for) = 0;
};

}  // namespace raft
