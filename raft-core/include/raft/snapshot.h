// Snapshots: what a state machine writes to compact the log, and where snapshots are kept.
//
// A snapshot is a directory of files written by the state machine plus a meta record: the
// last log entry it covers (index and term) and the configuration as of that entry. The node
// asks the state machine to save one (StateMachine::on_snapshot_save), publishes it atomically
// through SnapshotStorage, then discards the log it covers, keeping a tail for followers that
// lag. A restarted node, or a follower far behind its leader, loads the latest snapshot
// (StateMachine::on_snapshot_load) and applies only the log after it.
//
// raft-core declares these interfaces; raft-storage implements them (LocalSnapshotStorage, a
// directory per snapshot on the FileSystem seam). Formats: docs/snapshots.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raft/configuration.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

struct SnapshotMeta {
  // The last entry the snapshot covers: the state machine state is that after applying it.
  LogId last_included;
  // The membership as of last_included: `conf`, and `old_conf` if that was a joint change.
  Configuration conf;
  Configuration old_conf;

  ConfigurationEntry configuration() const { return ConfigurationEntry{conf, old_conf}; }
};

// One file of a snapshot, as recorded in its meta file.
struct SnapshotFile {
  std::string name;
  uint64_t size = 0;
  uint32_t crc32c = 0;
};

// Where a state machine writes one snapshot's files.
//
// Files written with write_file/append_file go through the storage's file system (so that on
// the simulation they live on the simulated disk); a state machine with its own IO (a RocksDB
// checkpoint, say) writes under path() and registers each file with add_file(). Nothing is
// durable or visible until the node publishes the snapshot.
//
// Thread-safety: one thread at a time; it may be another thread than the one that got the
// writer (a state machine captures on its lane and writes from a thread of its own).
class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  // The directory the files go into.
  virtual const std::string& path() const = 0;
  // Creates or replaces file `name` with `data`. EINVAL for a name that is empty, contains
  // '/', or is reserved by the storage; EIO on a write error.
  virtual Status write_file(const std::string& name, std::string_view data) = 0;
  // Appends `data` to file `name`, creating it: for snapshots written in pieces.
  virtual Status append_file(const std::string& name, std::string_view data) = 0;
  // Registers a file the state machine wrote under path() itself. ENOENT if it is not there.
  virtual Status add_file(const std::string& name) = 0;
  // The names registered so far, sorted.
  virtual std::vector<std::string> files() const = 0;
  // Size and CRC-32C of file `name` as written so far (a follower checks a received file
  // against the leader's meta before publishing). ENOENT if no such file was registered.
  virtual Result<SnapshotFile> describe_file(const std::string& name) const = 0;
};

// Reads one published snapshot. Every file was checked against the size and checksum in the
// meta before the reader was handed out, so a state machine never loads a damaged snapshot.
//
// Thread-safety: one thread at a time.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  virtual const std::string& path() const = 0;
  virtual const SnapshotMeta& meta() const = 0;
  virtual const std::vector<SnapshotFile>& files() const = 0;
  // The content of file `name`. ENOENT if the snapshot has no such file; ECORRUPTION (naming
  // the file) if it no longer matches its checksum; EIO on a read error.
  virtual Result<std::string> read_file(const std::string& name) const = 0;
  // Up to `n` bytes of file `name` at `offset`, without checksum verification (the leader
  // serves chunks to followers with it; they verify the whole file).
  virtual Result<std::string> read_chunk(const std::string& name, uint64_t offset,
                                         size_t n) const = 0;
};

// The durable home of one group's snapshots.
//
// Thread-safety: all methods may be called from any thread; the node calls them from its
// snapshot lane, one operation at a time.
class SnapshotStorage {
 public:
  virtual ~SnapshotStorage() = default;

  // The newest published snapshot, verified. ENOENT if there is none; ECORRUPTION naming the
  // file if it is damaged (the node then refuses to start rather than lose its state).
  virtual Result<std::unique_ptr<SnapshotReader>> open_latest() = 0;
  // The meta of the newest published snapshot without verifying its files; ENOENT if none.
  virtual Result<SnapshotMeta> latest_meta() = 0;

  // A new, empty snapshot in a temporary place. Any earlier unpublished one is discarded.
  virtual Result<std::unique_ptr<SnapshotWriter>> create_writer() = 0;
  // Makes `writer`'s files the newest snapshot with `meta`: syncs every file, writes the meta
  // (with each file's size and checksum), and publishes the directory with an atomic rename
  // and directory sync. After OK, open_latest() returns it, also after a crash; older
  // snapshots are removed. On error nothing changes (the previous snapshot stays the latest).
  // REQUIRES: meta.last_included.index is greater than the latest snapshot's.
  virtual Status publish(std::unique_ptr<SnapshotWriter> writer, const SnapshotMeta& meta) = 0;
};

}  // namespace raft
