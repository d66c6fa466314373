#include "raft/storage/local_snapshot_storage.h"

#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/storage/crc32c.h"
#include "snapshot_meta_codec.h"

namespace raft {
namespace {

constexpr std::string_view kTempDirName = "temp";
constexpr std::string_view kSnapshotDirPrefix = "snapshot_";
constexpr size_t kIndexDigits = 20;
// Files are checksummed in pieces of this size, so verifying a large file needs little memory.
constexpr size_t kDigestChunkBytes = 1 << 20;

// The index of snapshot directory `name`, or nullopt if `name` is not one.
std::optional<LogIndex> parse_snapshot_dir_name(std::string_view name) {
  if (name.size() != kSnapshotDirPrefix.size() + kIndexDigits) return std::nullopt;
  if (name.substr(0, kSnapshotDirPrefix.size()) != kSnapshotDirPrefix) return std::nullopt;
  std::string_view digits = name.substr(kSnapshotDirPrefix.size());
  int64_t index = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (index < 1) return std::nullopt;
  return LogIndex(index);
}

struct Digest {
  uint64_t size = 0;
  uint32_t crc32c = 0;
};

Result<Digest> digest(const RandomAccessFile& file) {
  Digest digest;
  for (;;) {
    Result<std::string> chunk = file.read(digest.size, kDigestChunkBytes);
    if (!chunk.ok()) return chunk.status();
    digest.crc32c = crc32c::extend(digest.crc32c, chunk->data(), chunk->size());
    digest.size += chunk->size();
    if (chunk->size() < kDigestChunkBytes) return digest;
  }
}

Result<Digest> digest_path(FileSystem& fs, const std::string& path) {
  Result<std::unique_ptr<RandomAccessFile>> file = fs.open_readable(path);
  if (!file.ok()) return file.status();
  return digest(**file);
}

// OK if what was read from `path` matches `expected`, else ECORRUPTION naming `path`.
Status check_digest(const std::string& path, const SnapshotFile& expected, const Digest& actual) {
  if (actual.size != expected.size) {
    return Status::Corruption("snapshot file " + path + " is " + std::to_string(actual.size) +
                              " bytes, meta says " + std::to_string(expected.size));
  }
  if (actual.crc32c != expected.crc32c) {
    return Status::Corruption("snapshot file " + path + " fails its checksum");
  }
  return Status::OK();
}

// A file named in a published snapshot's meta that is not there is damage, not absence: ENOENT
// would read as "no snapshot" to a caller, which would then start from an empty state.
Status missing_is_corruption(const Status& s, const std::string& what) {
  if (s.is_not_found())
    return Status::Corruption(what + " is missing: " + std::string(s.message()));
  return s;
}

// Makes the bytes of `path` durable, whoever wrote them: sync() of a handle opened for
// appending covers every byte the file holds (FileSystem durability contract).
Status sync_file(FileSystem& fs, const std::string& path, uint64_t* size) {
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(path, FileSystem::OpenMode::kAppend);
  if (!file.ok()) return file.status();
  *size = (*file)->size();
  Status s = (*file)->sync();
  Status closed = (*file)->close();
  return s.ok() ? closed : s;
}

Status write_synced(FileSystem& fs, const std::string& path, std::string_view data) {
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(path, FileSystem::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  Status s = (*file)->append(data);
  if (s.ok()) s = (*file)->sync();
  Status closed = (*file)->close();
  return s.ok() ? closed : s;
}

// The meta of the snapshot directory `snapshot_dir`, which is named after `index`.
Result<snapshot_meta::Record> read_meta(FileSystem& fs, const std::string& snapshot_dir,
                                        LogIndex index) {
  const std::string path = join_path(snapshot_dir, snapshot_meta::kFileName);
  Result<std::string> bytes = read_whole_file(fs, path, snapshot_meta::kMaxFileBytes);
  if (!bytes.ok() && bytes.status().is_invalid_argument()) {
    return Status::Corruption("snapshot meta file " + path + " is longer than any meta file");
  }
  if (!bytes.ok()) return missing_is_corruption(bytes.status(), "snapshot meta file " + path);
  Result<snapshot_meta::Record> record = snapshot_meta::decode(*bytes, path);
  if (!record.ok()) return record.status();
  if (record->meta.last_included.index != index) {
    return Status::Corruption("snapshot meta file " + path + " holds index " +
                              std::to_string(record->meta.last_included.index.value()) +
                              ", its directory says " + std::to_string(index.value()));
  }
  return record;
}

// The indexes of the snapshot directories in `dir`, ascending.
Result<std::vector<LogIndex>> list_snapshots(FileSystem& fs, const std::string& dir) {
  Result<std::vector<std::string>> names = fs.list_dir(dir);
  if (!names.ok()) return names.status();
  std::vector<LogIndex> indexes;
  for (const std::string& name : *names) {
    if (std::optional<LogIndex> index = parse_snapshot_dir_name(name)) indexes.push_back(*index);
  }
  return indexes;  // list_dir sorts names, and zero-padding makes that the index order.
}

// Removes every snapshot directory in `dir` older than `keep`, and makes the removals durable.
Status remove_snapshots_before(FileSystem& fs, const std::string& dir, LogIndex keep) {
  Result<std::vector<LogIndex>> indexes = list_snapshots(fs, dir);
  if (!indexes.ok()) return indexes.status();
  bool removed = false;
  for (LogIndex index : *indexes) {
    if (index >= keep) continue;
    Status s = fs.remove_dir_all(join_path(dir, LocalSnapshotStorage::snapshot_dir_name(index)));
    if (!s.ok()) return s;
    removed = true;
  }
  return removed ? fs.sync_dir(dir) : Status::OK();
}

// One verified file of a published snapshot, kept open: the reader reads the very file it
// verified, even after a newer publish removed its name.
struct OpenFile {
  SnapshotFile meta;
  std::string path;
  std::unique_ptr<RandomAccessFile> file;
};

class LocalSnapshotReader final : public SnapshotReader {
 public:
  LocalSnapshotReader(std::shared_ptr<FileSystem> fs, std::string path, SnapshotMeta meta,
                      std::vector<SnapshotFile> files, std::map<std::string, OpenFile> open_files)
      : fs_(std::move(fs)),
        path_(std::move(path)),
        meta_(std::move(meta)),
        files_(std::move(files)),
        open_files_(std::move(open_files)) {
    PONTOON_CHECK(files_.size() == open_files_.size());
  }

  const std::string& path() const override { return path_; }
  const SnapshotMeta& meta() const override { return meta_; }
  const std::vector<SnapshotFile>& files() const override { return files_; }

  Result<std::string> read_file(const std::string& name) const override {
    Result<const OpenFile*> open = find(name);
    if (!open.ok()) return open.status();
    const OpenFile& f = **open;
    Result<uint64_t> size = f.file->size();
    if (!size.ok()) return size.status();
    // Checked before reading so that a file that grew is not read into memory whole.
    if (*size != f.meta.size) return check_digest(f.path, f.meta, Digest{*size, 0});
    Result<std::string> content = f.file->read(0, static_cast<size_t>(*size));
    if (!content.ok()) return content.status();
    Status s = check_digest(f.path, f.meta, Digest{content->size(), crc32c::value(*content)});
    if (!s.ok()) return s;
    return content;
  }

  Result<std::string> read_chunk(const std::string& name, uint64_t offset,
                                 size_t n) const override {
    Result<const OpenFile*> open = find(name);
    if (!open.ok()) return open.status();
    return (*open)->file->read(offset, n);
  }

 private:
  Result<const OpenFile*> find(const std::string& name) const {
    auto it = open_files_.find(name);
    if (it == open_files_.end()) {
      return Status::NotFound("snapshot " + path_ + " has no file " + name);
    }
    return &it->second;
  }

  // Held so that the file system outlives the open files, whoever else lets it go.
  const std::shared_ptr<FileSystem> fs_;
  const std::string path_;
  const SnapshotMeta meta_;
  const std::vector<SnapshotFile> files_;  // Invariant: sorted by name, one per open_files_.
  const std::map<std::string, OpenFile> open_files_;
};

}  // namespace

// Tracks, per file, what was written through it so that publish need not read those files
// back: the size and the running CRC-32C of the bytes appended since the file was created.
class LocalSnapshotWriter final : public SnapshotWriter {
 public:
  LocalSnapshotWriter(const LocalSnapshotStorage* owner,
                      std::shared_ptr<const std::atomic<uint64_t>> current_writer,
                      uint64_t generation, std::shared_ptr<FileSystem> fs, std::string path)
      : owner_(owner),
        current_writer_(std::move(current_writer)),
        generation_(generation),
        fs_(std::move(fs)),
        path_(std::move(path)) {
    PONTOON_CHECK(owner_ != nullptr);
    PONTOON_CHECK(generation_ > 0);
  }

  const std::string& path() const override { return path_; }

  Status write_file(const std::string& name, std::string_view data) override {
    return write(name, data, FileSystem::OpenMode::kTruncate);
  }

  Status append_file(const std::string& name, std::string_view data) override {
    return write(name, data, FileSystem::OpenMode::kAppend);
  }

  Status add_file(const std::string& name) override {
    Status s = check_usable(name);
    if (!s.ok()) return s;
    const std::string file_path = join_path(path_, name);
    if (!fs_->exists(file_path)) {
      return Status::NotFound("snapshot file " + file_path + " does not exist");
    }
    if (fs_->is_dir(file_path)) {
      return Status::InvalidArgument("snapshot file " + file_path + " is a directory");
    }
    files_[name] = Tracked{};  // Written by someone else: publish reads it back.
    return Status::OK();
  }

  std::vector<std::string> files() const override {
    std::vector<std::string> names;
    for (const auto& [name, tracked] : files_) names.push_back(name);
    return names;
  }

  Result<SnapshotFile> describe_file(const std::string& name) const override {
    auto it = files_.find(name);
    if (it == files_.end()) {
      return Status::NotFound("snapshot writer " + path_ + " has no file " + name);
    }
    if (it->second.known) return SnapshotFile{name, it->second.size, it->second.crc32c};
    // Written behind the writer's back (or by a failed write): read it back.
    Result<Digest> d = digest_path(*fs_, join_path(path_, name));
    if (!d.ok()) return d.status();
    return SnapshotFile{name, d->size, d->crc32c};
  }

  const LocalSnapshotStorage* owner() const { return owner_; }
  uint64_t generation() const { return generation_; }

  // Makes every registered file durable and returns them with their sizes and checksums,
  // sorted by name. EINVAL if path() holds an entry that was not registered.
  Result<std::vector<SnapshotFile>> sync_files() {
    Status s = check_all_registered();
    if (!s.ok()) return s;
    std::vector<SnapshotFile> out;
    for (auto& [name, tracked] : files_) {
      const std::string file_path = join_path(path_, name);
      uint64_t size = 0;
      s = sync_file(*fs_, file_path, &size);
      if (!s.ok()) return s;
      // A size other than the one written means someone else also wrote the file (bytes of
      // the same size written behind the writer's back go unnoticed: REQUIRES in the header).
      if (!tracked.known || size != tracked.size) {
        Result<Digest> d = digest_path(*fs_, file_path);
        if (!d.ok()) return d.status();
        tracked = Tracked{d->size, d->crc32c, true};
      }
      out.push_back(SnapshotFile{name, tracked.size, tracked.crc32c});
    }
    return out;
  }

 private:
  struct Tracked {
    uint64_t size = 0;
    uint32_t crc32c = 0;
    // False when the content is not known from what went through this writer (add_file, or a
    // failed write that may have left part of its bytes).
    bool known = false;
  };

  Status check_usable(const std::string& name) {
    Status s = snapshot_meta::check_file_name(name);
    if (!s.ok()) return s;
    if (current_writer_->load() != generation_) {
      return Status::InvalidArgument("snapshot writer for " + path_ +
                                     " was superseded by a later create_writer()");
    }
    return Status::OK();
  }

  Status write(const std::string& name, std::string_view data, FileSystem::OpenMode mode) {
    Status s = check_usable(name);
    if (!s.ok()) return s;
    Result<std::unique_ptr<WritableFile>> file = fs_->open_writable(join_path(path_, name), mode);
    if (!file.ok()) return file.status();
    // A name seen for the first time is taken to start empty. If the state machine had
    // written it itself, its size gives that away at publish, which then reads it back.
    Tracked& tracked = files_.try_emplace(name, Tracked{0, 0, true}).first->second;
    if (mode == FileSystem::OpenMode::kTruncate) tracked = Tracked{0, 0, true};
    const bool was_known = tracked.known;
    tracked.known = false;  // Until the append succeeded: it may leave part of its bytes.
    s = (*file)->append(data);
    Status closed = (*file)->close();
    if (s.ok()) s = closed;
    if (!s.ok()) return s;
    if (was_known) {
      tracked.size += data.size();
      tracked.crc32c = crc32c::extend(tracked.crc32c, data.data(), data.size());
      tracked.known = true;
    }
    return Status::OK();
  }

  Status check_all_registered() {
    Result<std::vector<std::string>> names = fs_->list_dir(path_);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      if (files_.count(name) == 0) {
        return Status::InvalidArgument("snapshot directory " + path_ + " holds " + name +
                                       ", which was not written or registered with add_file");
      }
    }
    return Status::OK();
  }

  // Only compared, never dereferenced: a writer may outlive its storage (a task holding it can
  // be dropped late), and is then merely unusable.
  const LocalSnapshotStorage* const owner_;
  // The storage's current writer generation, shared so that it stays readable after the
  // storage is gone (then 0: no writer is current).
  const std::shared_ptr<const std::atomic<uint64_t>> current_writer_;
  const uint64_t generation_;
  const std::shared_ptr<FileSystem> fs_;
  const std::string path_;
  std::map<std::string, Tracked> files_;  // Sorted, hence files() and the meta are.
};

std::string LocalSnapshotStorage::snapshot_dir_name(LogIndex index) {
  PONTOON_CHECK(index >= LogIndex(1));
  std::string digits = std::to_string(index.value());
  PONTOON_CHECK(digits.size() <= kIndexDigits);
  return std::string(kSnapshotDirPrefix) + std::string(kIndexDigits - digits.size(), '0') + digits;
}

Result<std::unique_ptr<LocalSnapshotStorage>> LocalSnapshotStorage::open(
    std::shared_ptr<FileSystem> fs, std::string dir) {
  PONTOON_CHECK(fs != nullptr);
  PONTOON_CHECK(!dir.empty());
  // The parent is synced even when `dir` existed: it may have been created just before a
  // crash that lost its name.
  Status s = fs->create_dir(dir);
  if (s.ok()) s = fs->sync_dir(parent_dir(dir));
  if (!s.ok()) return s;
  if (!fs->is_dir(dir)) return Status::IoError("snapshot directory " + dir + " is not a directory");

  // An unpublished snapshot: a crash hit before its rename. Its removal need not be durable;
  // should it come back after another crash, the next open() removes it again.
  s = fs->remove_dir_all(join_path(dir, kTempDirName));
  if (!s.ok()) return s;

  // Older snapshots survive a crash between a publish's rename and its cleanup. The newest is
  // complete whatever the crash (see publish), so it is the one to keep.
  Result<std::vector<LogIndex>> indexes = list_snapshots(*fs, dir);
  if (!indexes.ok()) return indexes.status();
  LogIndex latest = indexes->empty() ? LogIndex(0) : indexes->back();
  s = remove_snapshots_before(*fs, dir, latest);
  if (!s.ok()) return s;
  return std::unique_ptr<LocalSnapshotStorage>(
      new LocalSnapshotStorage(std::move(fs), std::move(dir), latest));
}

LocalSnapshotStorage::LocalSnapshotStorage(std::shared_ptr<FileSystem> fs, std::string dir,
                                           LogIndex latest_index)
    : fs_(std::move(fs)),
      dir_(std::move(dir)),
      temp_dir_(join_path(dir_, kTempDirName)),
      latest_index_(latest_index) {
  PONTOON_CHECK(latest_index_ >= LogIndex(0));
}

LocalSnapshotStorage::~LocalSnapshotStorage() {
  current_writer_->store(0);  // Writers still around become unusable.
}

Result<SnapshotMeta> LocalSnapshotStorage::latest_meta() {
  std::lock_guard<std::mutex> lock(mu_);
  if (latest_index_ == LogIndex(0)) return Status::NotFound("no snapshot in " + dir_);
  Result<snapshot_meta::Record> record =
      read_meta(*fs_, join_path(dir_, snapshot_dir_name(latest_index_)), latest_index_);
  if (!record.ok()) return record.status();
  return std::move(record->meta);
}

Result<std::unique_ptr<SnapshotReader>> LocalSnapshotStorage::open_latest() {
  std::lock_guard<std::mutex> lock(mu_);
  if (latest_index_ == LogIndex(0)) return Status::NotFound("no snapshot in " + dir_);
  const std::string snapshot_dir = join_path(dir_, snapshot_dir_name(latest_index_));
  Result<snapshot_meta::Record> record = read_meta(*fs_, snapshot_dir, latest_index_);
  if (!record.ok()) return record.status();

  Result<std::vector<std::string>> entries = fs_->list_dir(snapshot_dir);
  if (!entries.ok()) return missing_is_corruption(entries.status(), "snapshot " + snapshot_dir);
  std::set<std::string_view> listed;
  for (const SnapshotFile& file : record->files) listed.insert(file.name);
  for (const std::string& entry : *entries) {
    if (entry != snapshot_meta::kFileName && listed.count(entry) == 0) {
      return Status::Corruption("snapshot directory " + snapshot_dir + " holds " + entry +
                                ", which its meta does not list");
    }
  }

  std::map<std::string, OpenFile> open_files;
  for (const SnapshotFile& file : record->files) {
    const std::string path = join_path(snapshot_dir, file.name);
    Result<std::unique_ptr<RandomAccessFile>> opened = fs_->open_readable(path);
    if (!opened.ok()) return missing_is_corruption(opened.status(), "snapshot file " + path);
    // The size first: a truncated or grown file is reported without reading it whole.
    Result<uint64_t> size = (*opened)->size();
    if (!size.ok()) return size.status();
    if (*size != file.size) return check_digest(path, file, Digest{*size, 0});
    Result<Digest> d = digest(**opened);
    if (!d.ok()) return d.status();
    Status s = check_digest(path, file, *d);
    if (!s.ok()) return s;
    open_files.emplace(file.name, OpenFile{file, path, std::move(opened).value()});
  }
  return std::unique_ptr<SnapshotReader>(new LocalSnapshotReader(
      fs_, snapshot_dir, std::move(record->meta), std::move(record->files), std::move(open_files)));
}

Result<std::unique_ptr<SnapshotWriter>> LocalSnapshotStorage::create_writer() {
  std::lock_guard<std::mutex> lock(mu_);
  // Invalidated first, so that a failure below leaves no writer usable on a half-made temp/.
  current_writer_->store(0);
  Status s = fs_->remove_dir_all(temp_dir_);
  if (s.ok()) s = fs_->create_dir(temp_dir_);
  if (!s.ok()) return s;
  current_writer_->store(++writers_created_);
  return std::unique_ptr<SnapshotWriter>(
      new LocalSnapshotWriter(this, current_writer_, current_writer_->load(), fs_, temp_dir_));
}

Status LocalSnapshotStorage::publish(std::unique_ptr<SnapshotWriter> writer,
                                     const SnapshotMeta& meta) {
  std::lock_guard<std::mutex> lock(mu_);
  auto* local = dynamic_cast<LocalSnapshotWriter*>(writer.get());
  if (local == nullptr || local->owner() != this) {
    return Status::InvalidArgument("snapshot writer was not created by the storage in " + dir_);
  }
  if (local->generation() != current_writer_->load()) {
    return Status::InvalidArgument("snapshot writer for " + local->path() +
                                   " was superseded by a later create_writer()");
  }
  const LogIndex index = meta.last_included.index;
  if (index <= latest_index_) {
    return Status::InvalidArgument("snapshot at index " + std::to_string(index.value()) +
                                   " is not newer than the latest, at index " +
                                   std::to_string(latest_index_.value()));
  }
  if (index < LogIndex(1) || meta.last_included.term < Term(1)) {
    return Status::InvalidArgument("snapshot must cover an entry with index and term >= 1");
  }
  if (meta.conf.empty()) return Status::InvalidArgument("snapshot has an empty configuration");

  // This writer's temp/ is spent whatever the outcome; publishing again takes a new writer.
  current_writer_->store(0);
  const LogIndex previous = latest_index_;
  Status s = publish_locked(*local, meta);
  PONTOON_CHECK(latest_index_ >= previous);
  return s;
}

// Each step says what a crash right after it leaves, on a disk that keeps only what was synced.
Status LocalSnapshotStorage::publish_locked(LocalSnapshotWriter& writer, const SnapshotMeta& meta) {
  // 1. Every file's bytes durable. A crash now leaves temp/ (complete or not), which open()
  //    removes: the previous snapshot stays the newest.
  Result<std::vector<SnapshotFile>> files = writer.sync_files();
  if (!files.ok()) return files.status();

  // 2. The meta file durable, listing each file's size and checksum. Same crash outcome.
  Status s = write_synced(*fs_, join_path(temp_dir_, snapshot_meta::kFileName),
                          snapshot_meta::encode(meta, *files));
  if (!s.ok()) return s;

  // 3. The names inside temp/ durable. From here temp/ is a complete snapshot on disk, so any
  //    name it is later reached by shows all of it.
  s = fs_->sync_dir(temp_dir_);
  if (!s.ok()) return s;

  // 4. The atomic switch. A crash now leaves either temp/ (removed by open(), the previous
  //    snapshot stays) or the new name (a complete snapshot newer than the previous one, which
  //    open() then removes): both are states the node can restart from.
  const std::string final_dir = join_path(dir_, snapshot_dir_name(meta.last_included.index));
  s = fs_->rename(temp_dir_, final_dir);
  if (!s.ok()) return s;

  // 5. The rename durable; only now may the caller rely on the snapshot (and drop its log).
  s = fs_->sync_dir(dir_);
  if (!s.ok()) {
    // The rename is visible but not known durable. It is undone so that the previous snapshot
    // stays the latest as promised; a crash may still bring the new one back, which is safe by
    // step 4's reasoning. If even the undo fails, the new snapshot is what the directory
    // shows, so it is the latest: the error still tells the caller not to rely on it.
    if (!fs_->rename(final_dir, temp_dir_).ok()) latest_index_ = meta.last_included.index;
    return s;
  }
  latest_index_ = meta.last_included.index;

  // 6. Older snapshots go. A crash before this is durable leaves some of them, which open()
  //    removes. A failure here is not the publish's: the new snapshot is durable and newest.
  (void)remove_snapshots_before(*fs_, dir_, latest_index_);
  return Status::OK();
}

}  // namespace raft
