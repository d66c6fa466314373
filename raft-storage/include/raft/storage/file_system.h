// FileSystem: the seam through which raft-storage touches files — log segments, the raft meta
// file and snapshot directories.
//
// Production uses PosixFileSystem. The deterministic simulation uses SimFileSystem
// (raft/storage/sim_file_system.h), which charges per-operation latency in virtual time, loses
// whatever was not made durable when a node "crashes" (tearing the last unsynced write), and
// injects EIO. Everything written on top of this interface therefore runs unchanged on both,
// and its crash safety is tested on the simulated disk (leveldb's Env + memenv idea).
//
// Durability contract (what SimFileSystem enforces and what a POSIX file system guarantees):
//   - Bytes appended to a WritableFile are durable only once sync() on it returned OK.
//   - A file's existence, a rename and a removal are durable only once sync_dir() on the
//     directory holding the name returned OK (for a rename: the target's directory).
//   - rename() replaces its target atomically: after a crash either name maps to the old or to
//     the new content, never to a mix.
//   - After a crash, a file holds its durable bytes followed by a prefix (possibly empty, possibly
//     cut inside a write) of the bytes appended since.
//   - Bytes that WritableFile::write_at() replaced inside the durable bytes are durable once
//     sync() returned OK. Until then a crash leaves each kSectorBytes-aligned sector such writes
//     touched as it was at some moment since the last sync (before them, or after any one of
//     them), each sector on its own: the page cache writes pages back in no particular order
//     and at any time, while a device writes a sector whole.
//
// Errors are Status values naming the path: ENOENT for a missing file or directory, EIO for
// everything else the system refuses (including a full disk).
//
// Paths are plain strings joined with '/'; no normalisation is done.
//
// Thread-safety: a FileSystem may be used from any thread. One WritableFile or RandomAccessFile
// object is used by one thread at a time; distinct files and readers of one file may be used
// concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "raft/status.h"

namespace raft {

// The unit a device writes whole (see the durability contract).
inline constexpr uint64_t kSectorBytes = 512;

// A file open for writing: appends, or writes at an offset into a file whose bytes exist (a
// preallocated file, so that a sync has only data and not the file's size to make durable).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends `data` at the end of the file. Not durable until sync().
  virtual Status append(std::string_view data) = 0;
  // Writes `data` at `offset`, replacing the bytes there and growing the file if it runs past
  // the end (at offset == size() it is append()). Not durable until sync().
  // REQUIRES: offset <= size().
  virtual Status write_at(uint64_t offset, std::string_view data) = 0;
  // The pieces one after another from `offset`, as one write_at() of their concatenation
  // (the same contract, the same crash behaviour). The default joins them and calls
  // write_at(); PosixWritableFile writes them from where they lie (pwritev), so a caller with
  // many buffers to write need not copy them into one.
  virtual Status write_at_gathered(uint64_t offset, std::span<const std::string_view> pieces);
  // Makes everything written so far durable (fdatasync).
  virtual Status sync() = 0;
  // The file's size including unsynced appends.
  virtual uint64_t size() const = 0;
  // Closes the file; further calls return EIO. Destroying an open file closes it too.
  // Closing does not sync.
  virtual Status close() = 0;
};

// A file open for reading at arbitrary offsets.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset`; fewer only at the end of the file. EIO on failure.
  virtual Result<std::string> read(uint64_t offset, size_t n) const = 0;
  virtual Result<uint64_t> size() const = 0;
};

class FileSystem {
 public:
  enum class OpenMode {
    kTruncate,  // Create the file or empty an existing one.
    kAppend,    // Create the file or keep its bytes and append after them.
  };

  virtual ~FileSystem() = default;

  virtual Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                              OpenMode mode) = 0;
  // ENOENT if `path` does not exist.
  virtual Result<std::unique_ptr<RandomAccessFile>> open_readable(const std::string& path) = 0;

  // Cuts `path` to `size` bytes (which must not exceed its size) and makes the cut durable.
  virtual Status truncate_file(const std::string& path, uint64_t size) = 0;
  // Atomically replaces `to` (if it exists) with `from`. Durable after sync_dir of the parent.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Removes a file. ENOENT if it does not exist. Durable after sync_dir of the parent.
  virtual Status remove_file(const std::string& path) = 0;
  // Creates a directory; OK if it already exists. Durable after sync_dir of the parent.
  virtual Status create_dir(const std::string& path) = 0;
  // Removes a directory and everything below it; OK if it does not exist.
  virtual Status remove_dir_all(const std::string& path) = 0;
  // Makes creations, renames and removals of names inside `path` durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // The names (not paths) of the entries of directory `path`, sorted. ENOENT if missing.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // Whether a file or directory exists at `path`.
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_dir(const std::string& path) = 0;
};

// Helpers written against the interface, shared by every implementation.

// The whole content of `path`. ENOENT if missing; EINVAL if longer than `max_bytes`.
Result<std::string> read_whole_file(FileSystem& fs, const std::string& path,
                                    uint64_t max_bytes = 64ull << 20);
// Writes `data` to `path` so that after a crash `path` holds either its old content (or does
// not exist) or exactly `data`: writes path.tmp, syncs it, renames it over path, syncs the
// directory.
Status write_file_atomically(FileSystem& fs, const std::string& path, std::string_view data);
// "a/b" for ("a", "b"); the parent of "a/b" is "a", of "b" is ".".
std::string join_path(std::string_view dir, std::string_view name);
std::string parent_dir(std::string_view path);

// The real file system, through POSIX calls (fdatasync for WritableFile::sync).
class PosixFileSystem final : public FileSystem {
 public:
  // A process-wide instance; PosixFileSystem holds no state.
  static std::shared_ptr<FileSystem> instance();

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
};

}  // namespace raft
