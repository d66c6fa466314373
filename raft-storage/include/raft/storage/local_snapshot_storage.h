// LocalSnapshotStorage: a SnapshotStorage keeping one group's snapshots as directories on a
// FileSystem (PosixFileSystem in production, the simulated disk under simulation).
//
//   <dir>/snapshot_<last included index, 20 digits>/   a published snapshot: the state
//                                                       machine's files plus the meta file
//   <dir>/snapshot_<...>/__raft_snapshot_meta           index, term, configuration, and the
//                                                       size and CRC-32C of every file
//   <dir>/temp/                                         the snapshot being written
//
// A snapshot becomes visible only through the rename of temp/ to its final name, after every
// file, the meta file and temp/ itself were synced, so a published directory is always
// complete; a crash at any step leaves either the previous snapshot or the new one as the
// newest. open() cleans up what a crash left behind. Format and crash reasoning:
// docs/snapshots.md.
//
// Decisions: a snapshot directory may hold only the files its meta lists. publish() rejects a
// file under the writer's path() that was not registered (EINVAL) and open_latest() rejects
// an unlisted file in a published directory (ECORRUPTION): an unverified file is state a state
// machine could load without anyone checking it.
//
// Thread-safety: all SnapshotStorage methods may be called from any thread; one mutex
// serialises them (open_latest() holds it while it verifies the files, so a publish cannot
// remove the directory being verified). Writers and readers are used by one thread at a time.
//
// Ownership: a writer may outlive the storage that created it (a task holding one can be
// dropped late); it then refuses every call with EINVAL.
// REQUIRES: a file written with write_file/append_file is not also changed by other means; a
// file the state machine writes itself is registered with add_file (publish then reads it
// back). A change that keeps the size would go unnoticed and be published with a stale CRC.
// Readers are independent objects: each keeps open the files it verified, so on a file system
// that keeps removed-but-open files readable (POSIX) a reader stays usable after a newer
// publish removed its directory; path() then no longer exists.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "raft/snapshot.h"
#include "raft/status.h"
#include "raft/storage/file_system.h"
#include "raft/types.h"

namespace raft {

class LocalSnapshotWriter;

class LocalSnapshotStorage final : public SnapshotStorage {
 public:
  // Opens the snapshot directory `dir`, creating it if needed and syncing its parent. Removes
  // what a crash left behind: temp/ and every snapshot directory but the newest. Directory
  // entries it does not recognise are left alone. Does not read any snapshot. EIO (or ENOENT,
  // for a missing parent) on failure.
  static Result<std::unique_ptr<LocalSnapshotStorage>> open(std::shared_ptr<FileSystem> fs,
                                                            std::string dir);
  ~LocalSnapshotStorage() override;

  LocalSnapshotStorage(const LocalSnapshotStorage&) = delete;
  LocalSnapshotStorage& operator=(const LocalSnapshotStorage&) = delete;

  // Verifies the meta and every file (size and checksum) of the newest snapshot; ECORRUPTION
  // naming the file if anything is damaged, missing or unlisted.
  Result<std::unique_ptr<SnapshotReader>> open_latest() override;
  Result<SnapshotMeta> latest_meta() override;
  // Removes temp/ and creates it afresh; a writer created earlier can no longer write or be
  // published (EINVAL). Files written under the old writer's path() by the state machine's own
  // IO after this call would land in the new temp/: the caller must stop using a writer before
  // creating the next one.
  Result<std::unique_ptr<SnapshotWriter>> create_writer() override;
  // EINVAL, changing nothing, if `writer` was not created by this storage or was superseded,
  // if meta.last_included.index <= the latest snapshot's, if meta.last_included's index or
  // term is < 1, if meta.conf is empty, or if a file under writer->path() is not registered.
  // EIO or ENOENT from the file system; before the rename nothing visible changes, and a
  // failed directory sync after it is rolled back (see the .cc). Failing to remove the older
  // snapshots is not an error: the new one is durable, and open() finishes the cleanup.
  Status publish(std::unique_ptr<SnapshotWriter> writer, const SnapshotMeta& meta) override;

  const std::string& dir() const { return dir_; }
  // "snapshot_<index, 20 digits zero-padded>".
  static std::string snapshot_dir_name(LogIndex index);

 private:
  friend class LocalSnapshotWriter;

  LocalSnapshotStorage(std::shared_ptr<FileSystem> fs, std::string dir, LogIndex latest_index);

  // REQUIRES: mu_ held.
  Status publish_locked(LocalSnapshotWriter& writer, const SnapshotMeta& meta);

  const std::shared_ptr<FileSystem> fs_;
  const std::string dir_;
  const std::string temp_dir_;

  std::mutex mu_;
  // Guarded by mu_. 0 when there is no snapshot. Invariant: only grows; when > 0,
  // dir_/snapshot_dir_name(latest_index_) is the newest published snapshot.
  LogIndex latest_index_;
  // The generation of the writer create_writer() handed out last; 0 for none (none yet, the
  // last was published or failed to publish, or the storage is gone). Written under mu_;
  // shared with the writers, which check it on every call and may outlive the storage.
  const std::shared_ptr<std::atomic<uint64_t>> current_writer_ =
      std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t writers_created_ = 0;  // Guarded by mu_.
};

}  // namespace raft
