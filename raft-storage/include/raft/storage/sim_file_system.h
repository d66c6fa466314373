// SimFileSystem: one node's disk, held in memory, for the deterministic simulation. It keeps
// the durability contract of raft/storage/file_system.h to the letter and no further, so code
// that forgets an fsync or a directory sync loses data here the way it would on power loss.
//
// Model:
//  - Files are inodes: a name maps to an inode, rename moves the inode, an open file keeps its
//    inode even if its name is removed. A file's bytes [0, durable_size) are durable; the rest
//    are appends not yet synced. write_at() inside the durable bytes remembers what it replaced
//    until the next sync. WritableFile::sync() makes them all durable; truncate_file()
//    is durable at once, and so is the emptying done by open_writable(kTruncate) of an existing
//    file (the pessimistic reading: rewriting a file in place loses its old content at once).
//  - Directories are inodes too. Creating a file name, rename, remove_file, create_dir and
//    remove_dir_all change the visible namespace at once and are recorded as pending metadata
//    operations. sync_dir(d) makes durable every pending operation whose name lives in d (for
//    a rename, the target's directory; the removal of the source name is part of the same
//    operation). Operations made durable out of issue order are resolved name by name: the
//    latest durable operation on a name decides what it holds.
//  - crash() is power loss: the namespace becomes the durable one plus a random prefix, in
//    issue order, of the pending operations; every surviving file keeps its durable bytes plus
//    a random prefix of its unsynced ones (none, all, or cut anywhere: a torn write), which then
//    count as durable; each kSectorBytes sector unsynced overwrites touched is put back to how
//    it was after a random number of them, drawn per sector (kLoseUnsynced: before all). Every
//    WritableFile and RandomAccessFile opened before the crash is dead: each of its calls returns
//    EIO and changes nothing. A file synced but whose name was never made durable by sync_dir of
//    its directory can vanish.
//  - Paths: components are split on '/'; empty and "." components are skipped, so "/a", "a"
//    and "./a" name the same file and "/" and "." the root, which always exists. Creating a
//    name needs its parent directory to exist (ENOENT otherwise), as on POSIX.
//
// Faults and latency: each operation belongs to one class (OpClass). Before it touches the
// disk an operation charges its class's latency to the running SimScheduler task (so a node's
// disk lane is busy while its fsync "runs" and its completions arrive later in virtual time),
// then fails with EIO if a fault is injected for its class (fail_next, then the failure
// probability); a failed operation changes nothing. An append that would take the files past
// the capacity fails with EIO "no space left on device" and writes nothing. list_dir(),
// exists(), is_dir() and the size() calls take no time and never fail by injection.
//
// Randomness comes only from a std::mt19937_64 seeded at construction: a seed and the same
// calls replay exactly.
//
// Thread-safety: every method, of the file system and of its files, may be called from any
// thread; one mutex guards all state. The simulation drives it from one thread; tests may
// inspect it from another. With a scheduler, operations that charge latency must run on the
// scheduler's thread, since SimScheduler is not thread-safe. Files share the disk's state with
// the SimFileSystem, so they may outlive it (their calls then still work on the orphaned disk).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "raft/clock.h"
#include "raft/sim_scheduler.h"
#include "raft/storage/file_system.h"

namespace raft {

class SimFileSystem final : public FileSystem {
 public:
  // The classes operations are charged and failed by.
  enum class OpClass : int {
    kWrite = 0,     // WritableFile::append and write_at.
    kSync = 1,      // WritableFile::sync and sync_dir.
    kRead = 2,      // RandomAccessFile::read.
    kMetadata = 3,  // open_writable, open_readable, truncate_file, rename, remove_file,
                    // create_dir, remove_dir_all.
  };
  static constexpr size_t kOpClasses = 4;

  // How crash() treats what was not made durable.
  enum class CrashMode {
    kRandom,        // Keep a random prefix of pending operations and of unsynced bytes.
    kLoseUnsynced,  // Keep none of them: the deterministic worst case.
  };

  struct Options {
    // Virtual time each operation of a class costs, indexed by OpClass.
    std::array<Duration, kOpClasses> latency{};
    // Each charge adds a uniform random extra in [0, latency_jitter] (only for a class whose
    // latency is not zero).
    Duration latency_jitter{0};
    // Total bytes of file content the namespace may hold; past it appends fail with EIO.
    uint64_t capacity_bytes = std::numeric_limits<uint64_t>::max();

    Options& with_latency(OpClass op, Duration d) {
      latency[static_cast<size_t>(op)] = d;
      return *this;
    }
  };

  struct Stats {
    uint64_t bytes_appended = 0;     // By successful appends (and write_at past the end).
    uint64_t bytes_overwritten = 0;  // Replaced inside a file by successful write_at calls.
    uint64_t file_syncs = 0;         // Successful WritableFile::sync calls.
    uint64_t dir_syncs = 0;          // Successful sync_dir calls.
    uint64_t crashes = 0;
    uint64_t injected_failures = 0;  // Calls failed by fail_next or the failure probability.
  };

  // `scheduler` receives the latency charges; null (or expired) means operations take no
  // virtual time. The file system starts empty but for its root directory.
  SimFileSystem(uint64_t seed, Options options, std::weak_ptr<SimScheduler> scheduler = {});
  // Default options, no latency.
  explicit SimFileSystem(uint64_t seed);
  ~SimFileSystem() override;

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      OpenMode mode) override;
  Result<std::unique_ptr<RandomAccessFile>> open_readable(const std::string& path) override;
  Status truncate_file(const std::string& path, uint64_t size) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove_file(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status remove_dir_all(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_dir(const std::string& path) override;

  // Power loss; see the model above. Files opened before it are dead afterwards.
  void crash(CrashMode mode = CrashMode::kRandom);

  // The next `count` operations of class `op` fail with EIO (adds to any already armed).
  // REQUIRES: count >= 0.
  void fail_next(OpClass op, int count = 1);
  // Each operation of class `op` fails with EIO with probability `p`, drawn from the seeded
  // generator. REQUIRES: 0 <= p <= 1.
  void set_failure_probability(OpClass op, double p);
  // Changes the capacity; files already past it stay, further appends fail.
  void set_capacity_bytes(uint64_t capacity_bytes);
  // Changes the virtual time each later operation of class `op` costs (a disk that becomes
  // slower or faster while it runs).
  void set_latency(OpClass op, Duration latency);

  Stats stats() const;
  // Bytes of file content the namespace holds now, synced or not.
  uint64_t used_bytes() const;

 private:
  struct Disk;
  class SimWritableFile;
  class SimRandomAccessFile;

  // Shared with every file opened, so that a file outliving the SimFileSystem stays safe.
  const std::shared_ptr<Disk> disk_;
};

}  // namespace raft
