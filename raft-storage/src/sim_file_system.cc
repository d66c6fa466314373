// SimFileSystem: the in-memory disk of the simulation. See the model in the header.
//
// Namespace durability is kept per directory entry rather than as a replayable log: every
// directory inode holds, for each name, the latest durable operation on that name (its sequence
// number and the inode the name then held, or none). Making an operation durable writes its
// names' entries if it is newer than what they hold. That stays well defined when sync_dir
// makes operations durable out of issue order, which a replayed log would not.
#include "raft/storage/sim_file_system.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "raft/check.h"

namespace raft {
namespace {

struct Inode;

// The latest durable operation on one name of a directory.
struct Version {
  uint64_t seq = 0;
  std::shared_ptr<Inode> target;  // Null: the operation removed the name.
};

struct Inode {
  explicit Inode(bool dir) : is_dir(dir) {}
  const bool is_dir;
  // Files only. Invariant: durable_size <= data.size().
  std::string data;
  uint64_t durable_size = 0;
  // Durable bytes write_at() replaced since the last sync, oldest first: where, and what they
  // held. A crash puts each sector they touched back to how it was after some of them.
  struct Overwrite {
    uint64_t seq = 0;
    uint64_t offset = 0;
    std::string old_bytes;
  };
  std::vector<Overwrite> unsynced_overwrites;
  uint64_t next_overwrite_seq = 1;
  // fsyncs still "running" in virtual time: when each completes, the size it makes durable and
  // the overwrites (seq below `overwrites_before`) it makes durable. A crash before a
  // completion leaves those bytes unsynced.
  struct SyncInFlight {
    TimePoint done_at;
    uint64_t size = 0;
    uint64_t overwrites_before = 0;
  };
  std::vector<SyncInFlight> syncs_in_flight;

  // Overwrites with seq below `before` are durable.
  void overwrites_durable(uint64_t before) {
    std::erase_if(unsynced_overwrites, [before](const Overwrite& w) { return w.seq < before; });
  }
  // Directories only: the names visible now, and per name what a crash keeps for sure.
  std::map<std::string, std::shared_ptr<Inode>> entries;
  std::map<std::string, Version> durable;
};

// One name change of a metadata operation: `name` in `dir` now holds `target` (null: nothing).
struct NameChange {
  std::shared_ptr<Inode> dir;
  std::string name;
  std::shared_ptr<Inode> target;
};

// A metadata operation not yet durable. sync_dir of `sync_dir` makes it durable, once that
// sync completes in virtual time (`durable_at`; unset while no sync covers it).
struct PendingOp {
  uint64_t seq = 0;
  std::shared_ptr<Inode> sync_dir;
  std::vector<NameChange> changes;
  std::optional<TimePoint> durable_at;
  // When the operation happens in virtual time: a simulation task that synced first and then
  // renamed has its rename only after the sync's latency, so a crash before then must not keep
  // it (nullopt without a scheduler: at once).
  std::optional<TimePoint> issued_at;
};

// Where a path leads: its parent directory and its last name (both empty for the root), the
// inode there (null if the name does not exist) and every directory walked through on the way.
struct Location {
  std::shared_ptr<Inode> parent;
  std::string name;
  std::shared_ptr<Inode> node;
  std::vector<const Inode*> walked;
};

Status io_error(std::string_view what, std::string_view path, std::string_view reason) {
  return Status::IoError(std::string(what) + " " + std::string(path) + ": " + std::string(reason));
}

Status not_found(std::string_view what, std::string_view path) {
  return Status::NotFound(std::string(what) + " " + std::string(path) +
                          ": no such file or directory");
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string name = path.substr(start, slash - start);
    if (!name.empty() && name != ".") names.push_back(std::move(name));
    start = slash + 1;
  }
  return names;
}

void make_durable(const PendingOp& op) {
  for (const NameChange& change : op.changes) {
    auto [it, inserted] = change.dir->durable.try_emplace(change.name);
    if (inserted || it->second.seq < op.seq) it->second = Version{op.seq, change.target};
  }
}

}  // namespace

struct SimFileSystem::Disk {
  Disk(uint64_t seed, Options options, std::weak_ptr<SimScheduler> scheduler)
      : rng(seed),
        options(std::move(options)),
        scheduler(std::move(scheduler)),
        root(std::make_shared<Inode>(true)) {
    dirs.push_back(root);
  }
  ~Disk() {
    // Directory entries may form cycles of shared pointers (a durable entry naming a directory
    // that was moved below itself and then lost); empty every directory to free them.
    for (const auto& weak : dirs) {
      if (auto dir = weak.lock()) {
        dir->entries.clear();
        dir->durable.clear();
      }
    }
  }

  // Every helper below REQUIRES: mu held.

  // Charges `op`'s latency to the running simulation task, then fails it if a fault is
  // injected. Every operation that reaches the disk starts here.
  Status begin(OpClass op, std::string_view what, std::string_view path);
  Result<Location> locate(std::string_view what, const std::string& path) const;
  // locate(), and ENOENT unless `path` names a file or directory.
  Result<Location> locate_existing(std::string_view what, const std::string& path) const;
  // begin() then locate() or locate_existing(): the prologue of most operations.
  Result<Location> start(OpClass op, std::string_view what, const std::string& path);
  Result<Location> start_existing(OpClass op, std::string_view what, const std::string& path);
  std::shared_ptr<Inode> new_dir();
  void record(std::shared_ptr<Inode> sync_dir, std::vector<NameChange> changes);
  uint64_t used_bytes() const;
  // Makes the fsyncs completed by `now` durable and forgets the others (crash() first step).
  void settle_file_syncs(std::optional<TimePoint> now);
  // crash() in steps: which inode each surviving name holds, then how much of each file.
  void rebuild_namespace();
  void cut_unsynced(Inode& file, CrashMode mode);

  std::mutex mu;
  // Everything below is guarded by mu.
  std::mt19937_64 rng;
  Options options;
  const std::weak_ptr<SimScheduler> scheduler;
  const std::shared_ptr<Inode> root;
  // In issue order.
  std::deque<PendingOp> pending;
  // When an fsync issued now completes: the end of the running simulation task (its charged
  // latency included), or nullopt without a scheduler (then it completes at once).
  std::optional<TimePoint> sync_completion() const {
    auto sim = scheduler.lock();
    if (!sim) return std::nullopt;
    return sim->current_task_end();
  }
  // The scheduler's time now, or nullopt without one.
  std::optional<TimePoint> now() const {
    auto sim = scheduler.lock();
    if (!sim) return std::nullopt;
    return sim->now();
  }
  uint64_t next_seq = 1;
  // Bumped by every crash; a file opened under an older generation is dead.
  uint64_t generation = 0;
  std::array<int64_t, kOpClasses> fail_next{};
  std::array<double, kOpClasses> failure_probability{};
  Stats stats;
  // Every directory inode made, so the destructor can break cycles among them.
  std::vector<std::weak_ptr<Inode>> dirs;
};

Status SimFileSystem::Disk::begin(OpClass op, std::string_view what, std::string_view path) {
  const auto i = static_cast<size_t>(op);
  Duration latency = options.latency[i];
  if (latency > Duration::zero()) {
    if (auto sim = scheduler.lock()) {
      if (options.latency_jitter > Duration::zero()) {
        latency += Duration(
            std::uniform_int_distribution<Duration::rep>(0, options.latency_jitter.count())(rng));
      }
      sim->delay_current_task(latency);
    }
  }
  bool fail = false;
  if (fail_next[i] > 0) {
    --fail_next[i];
    fail = true;
  } else if (failure_probability[i] > 0) {
    fail = std::bernoulli_distribution(failure_probability[i])(rng);
  }
  if (!fail) return Status::OK();
  ++stats.injected_failures;
  return io_error(what, path, "injected I/O error");
}

Result<Location> SimFileSystem::Disk::locate(std::string_view what, const std::string& path) const {
  std::vector<std::string> names = split_path(path);
  Location location;
  if (names.empty()) {
    location.node = root;
    return location;
  }
  std::shared_ptr<Inode> dir = root;
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    location.walked.push_back(dir.get());
    auto it = dir->entries.find(names[i]);
    if (it == dir->entries.end()) return not_found(what, path);
    if (!it->second->is_dir) return io_error(what, path, "not a directory");
    dir = it->second;
  }
  location.walked.push_back(dir.get());
  location.name = names.back();
  auto it = dir->entries.find(location.name);
  if (it != dir->entries.end()) location.node = it->second;
  location.parent = std::move(dir);
  return location;
}

Result<Location> SimFileSystem::Disk::locate_existing(std::string_view what,
                                                      const std::string& path) const {
  Result<Location> at = locate(what, path);
  if (at.ok() && at->node == nullptr) return not_found(what, path);
  return at;
}

Result<Location> SimFileSystem::Disk::start(OpClass op, std::string_view what,
                                            const std::string& path) {
  if (Status s = begin(op, what, path); !s.ok()) return s;
  return locate(what, path);
}

Result<Location> SimFileSystem::Disk::start_existing(OpClass op, std::string_view what,
                                                     const std::string& path) {
  if (Status s = begin(op, what, path); !s.ok()) return s;
  return locate_existing(what, path);
}

std::shared_ptr<Inode> SimFileSystem::Disk::new_dir() {
  auto dir = std::make_shared<Inode>(true);
  std::erase_if(dirs, [](const std::weak_ptr<Inode>& weak) { return weak.expired(); });
  dirs.push_back(dir);
  return dir;
}

void SimFileSystem::Disk::record(std::shared_ptr<Inode> sync_dir, std::vector<NameChange> changes) {
  pending.push_back(PendingOp{next_seq++, std::move(sync_dir), std::move(changes), std::nullopt,
                              sync_completion()});
}

uint64_t SimFileSystem::Disk::used_bytes() const {
  uint64_t total = 0;
  std::vector<const Inode*> stack{root.get()};
  while (!stack.empty()) {
    const Inode* dir = stack.back();
    stack.pop_back();
    for (const auto& [name, node] : dir->entries) {
      if (node->is_dir) {
        stack.push_back(node.get());
      } else {
        total += node->data.size();
      }
    }
  }
  return total;
}

void SimFileSystem::Disk::rebuild_namespace() {
  // Operations made durable out of order can leave an inode named in two places (moved twice,
  // only the second move synced) or a directory below itself. Keep each inode only under its
  // newest durable name, reachable from the root; everything else is lost.
  std::unordered_map<const Inode*, uint64_t> newest;
  std::unordered_set<Inode*> seen{root.get()};
  std::vector<Inode*> stack{root.get()};
  while (!stack.empty()) {
    Inode* dir = stack.back();
    stack.pop_back();
    for (const auto& [name, version] : dir->durable) {
      if (version.target == nullptr) continue;
      uint64_t& seq = newest[version.target.get()];
      seq = std::max(seq, version.seq);
      if (version.target->is_dir && seen.insert(version.target.get()).second) {
        stack.push_back(version.target.get());
      }
    }
  }
  std::unordered_set<const Inode*> placed{root.get()};
  std::vector<Inode*> order{root.get()};
  for (size_t i = 0; i < order.size(); ++i) {
    Inode* dir = order[i];
    std::map<std::string, Version> kept;
    for (auto& [name, version] : dir->durable) {
      if (version.target == nullptr || newest[version.target.get()] != version.seq) continue;
      if (!placed.insert(version.target.get()).second) continue;
      if (version.target->is_dir) order.push_back(version.target.get());
      kept.emplace(name, std::move(version));
    }
    dir->durable = std::move(kept);
    dir->entries.clear();
    for (const auto& [name, version] : dir->durable) dir->entries.emplace(name, version.target);
  }
  // Directories seen but not placed are gone; empty them so no cycle of them outlives us.
  for (Inode* dir : seen) {
    if (placed.count(dir) != 0) continue;
    dir->entries.clear();
    dir->durable.clear();
  }
}

void SimFileSystem::Disk::settle_file_syncs(std::optional<TimePoint> now) {
  // Every inode a name visible now or a durable name leads to: a file renamed or removed since
  // its sync still settles, as its durable name may bring it back.
  std::vector<Inode*> stack{root.get()};
  std::unordered_set<Inode*> seen;
  auto settle = [now](Inode& file) {
    for (const Inode::SyncInFlight& sync : file.syncs_in_flight) {
      if (now && sync.done_at > *now) continue;
      file.durable_size =
          std::max(file.durable_size, std::min<uint64_t>(sync.size, file.data.size()));
      file.overwrites_durable(sync.overwrites_before);
    }
    file.syncs_in_flight.clear();
  };
  auto visit = [&](const std::shared_ptr<Inode>& node) {
    if (!node || !seen.insert(node.get()).second) return;
    if (node->is_dir) {
      stack.push_back(node.get());
    } else {
      settle(*node);
    }
  };
  seen.insert(root.get());
  while (!stack.empty()) {
    Inode* dir = stack.back();
    stack.pop_back();
    for (const auto& [name, node] : dir->entries) visit(node);
    for (const auto& [name, version] : dir->durable) visit(version.target);
  }
}

void SimFileSystem::Disk::cut_unsynced(Inode& file, CrashMode mode) {
  // Each sector an unsynced overwrite touched ends up as it was at one moment since the last
  // sync, drawn per sector: after the first `kept` of the overwrites that touched it.
  std::map<uint64_t, std::vector<const Inode::Overwrite*>> by_sector;  // Oldest first.
  for (const Inode::Overwrite& w : file.unsynced_overwrites) {
    const uint64_t end = w.offset + w.old_bytes.size();
    for (uint64_t sector = w.offset / kSectorBytes; sector * kSectorBytes < end; ++sector) {
      by_sector[sector].push_back(&w);
    }
  }
  for (const auto& [sector, writes] : by_sector) {
    const size_t kept = mode == CrashMode::kRandom
                            ? std::uniform_int_distribution<size_t>(0, writes.size())(rng)
                            : 0;
    const uint64_t sector_start = sector * kSectorBytes;
    const uint64_t sector_end = sector_start + kSectorBytes;
    // Newest first, so that each put back restores what the older writes had left.
    for (size_t i = writes.size(); i > kept; --i) {
      const Inode::Overwrite& w = *writes[i - 1];
      const uint64_t from = std::max(sector_start, w.offset);
      const uint64_t to = std::min(sector_end, w.offset + w.old_bytes.size());
      file.data.replace(static_cast<size_t>(from), static_cast<size_t>(to - from), w.old_bytes,
                        static_cast<size_t>(from - w.offset), static_cast<size_t>(to - from));
    }
  }
  file.unsynced_overwrites.clear();
  PONTOON_CHECK(file.durable_size <= file.data.size());
  const uint64_t unsynced = file.data.size() - file.durable_size;
  uint64_t kept = 0;
  if (unsynced > 0 && mode == CrashMode::kRandom) {
    // Losing everything and keeping everything are the interesting edges, so each gets a third
    // of the draws; the last third tears the unsynced bytes at a uniform point.
    switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
      case 0:
        kept = 0;
        break;
      case 1:
        kept = unsynced;
        break;
      default:
        kept = std::uniform_int_distribution<uint64_t>(0, unsynced)(rng);
        break;
    }
  }
  file.data.resize(file.durable_size + kept);
  file.durable_size = file.data.size();
}

// A file open for appending. The inode stays alive as long as the file, as on POSIX.
class SimFileSystem::SimWritableFile final : public WritableFile {
 public:
  SimWritableFile(std::shared_ptr<Disk> disk, std::shared_ptr<Inode> inode, std::string path,
                  uint64_t generation)
      : disk_(std::move(disk)),
        inode_(std::move(inode)),
        path_(std::move(path)),
        generation_(generation) {}
  ~SimWritableFile() override { (void)close(); }

  Status append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    return write_locked("append to", inode_->data.size(), data);
  }

  Status write_at(uint64_t offset, std::string_view data) override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    PONTOON_CHECK(offset <= inode_->data.size());
    return write_locked("write to", offset, data);
  }

  Status sync() override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    if (Status s = usable("sync"); !s.ok()) return s;
    if (Status s = disk_->begin(OpClass::kSync, "sync", path_); !s.ok()) return s;
    if (std::optional<TimePoint> done_at = disk_->sync_completion()) {
      inode_->syncs_in_flight.push_back(
          Inode::SyncInFlight{*done_at, inode_->data.size(), inode_->next_overwrite_seq});
    } else {
      inode_->durable_size = inode_->data.size();
      inode_->unsynced_overwrites.clear();
    }
    ++disk_->stats.file_syncs;
    return Status::OK();
  }

  uint64_t size() const override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    return inode_->data.size();
  }

  Status close() override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    if (closed_) return Status::OK();
    closed_ = true;
    if (generation_ != disk_->generation) return io_error("close", path_, "file system crashed");
    return Status::OK();
  }

 private:
  // REQUIRES: disk_->mu held, offset <= the file's size.
  Status write_locked(std::string_view what, uint64_t offset, std::string_view data) {
    if (Status s = usable(what); !s.ok()) return s;
    if (Status s = disk_->begin(OpClass::kWrite, what, path_); !s.ok()) return s;
    std::string& bytes = inode_->data;
    const auto inside = static_cast<size_t>(std::min<uint64_t>(data.size(), bytes.size() - offset));
    const uint64_t growth = data.size() - inside;
    const uint64_t capacity = disk_->options.capacity_bytes;
    if (capacity != std::numeric_limits<uint64_t>::max()) {
      const uint64_t used = disk_->used_bytes();
      if (used > capacity || growth > capacity - used) {
        return io_error(what, path_, "no space left on device");
      }
    }
    if (offset < inode_->durable_size) {
      const auto replaced =
          static_cast<size_t>(std::min<uint64_t>(inside, inode_->durable_size - offset));
      inode_->unsynced_overwrites.push_back(
          Inode::Overwrite{inode_->next_overwrite_seq++, offset,
                           bytes.substr(static_cast<size_t>(offset), replaced)});
    }
    bytes.replace(static_cast<size_t>(offset), inside, data.substr(0, inside));
    bytes.append(data.substr(inside));
    disk_->stats.bytes_appended += growth;
    disk_->stats.bytes_overwritten += inside;
    return Status::OK();
  }

  // REQUIRES: disk_->mu held.
  Status usable(std::string_view what) const {
    if (closed_) return io_error(what, path_, "file is closed");
    if (generation_ != disk_->generation) return io_error(what, path_, "file system crashed");
    return Status::OK();
  }

  const std::shared_ptr<Disk> disk_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t generation_;
  bool closed_ = false;  // Guarded by disk_->mu.
};

class SimFileSystem::SimRandomAccessFile final : public RandomAccessFile {
 public:
  SimRandomAccessFile(std::shared_ptr<Disk> disk, std::shared_ptr<Inode> inode, std::string path,
                      uint64_t generation)
      : disk_(std::move(disk)),
        inode_(std::move(inode)),
        path_(std::move(path)),
        generation_(generation) {}

  Result<std::string> read(uint64_t offset, size_t n) const override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    if (generation_ != disk_->generation) return io_error("read", path_, "file system crashed");
    if (Status s = disk_->begin(OpClass::kRead, "read", path_); !s.ok()) return s;
    if (offset >= inode_->data.size()) return std::string();
    return inode_->data.substr(static_cast<size_t>(offset), n);
  }

  Result<uint64_t> size() const override {
    std::lock_guard<std::mutex> lock(disk_->mu);
    if (generation_ != disk_->generation) return io_error("stat", path_, "file system crashed");
    return static_cast<uint64_t>(inode_->data.size());
  }

 private:
  const std::shared_ptr<Disk> disk_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t generation_;
};

SimFileSystem::SimFileSystem(uint64_t seed, Options options, std::weak_ptr<SimScheduler> scheduler)
    : disk_(std::make_shared<Disk>(seed, std::move(options), std::move(scheduler))) {}

SimFileSystem::SimFileSystem(uint64_t seed) : SimFileSystem(seed, Options()) {}

SimFileSystem::~SimFileSystem() = default;

Result<std::unique_ptr<WritableFile>> SimFileSystem::open_writable(const std::string& path,
                                                                   OpenMode mode) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start(OpClass::kMetadata, "open", path);
  if (!at.ok()) return at.status();
  std::shared_ptr<Inode> file = at->node;
  if (file != nullptr && file->is_dir) return io_error("open", path, "is a directory");
  if (file == nullptr) {
    file = std::make_shared<Inode>(false);
    at->parent->entries.emplace(at->name, file);
    disk_->record(at->parent, {NameChange{at->parent, at->name, file}});
  } else if (mode == OpenMode::kTruncate) {
    file->data.clear();
    file->durable_size = 0;
    file->unsynced_overwrites.clear();
  }
  return std::unique_ptr<WritableFile>(
      new SimWritableFile(disk_, std::move(file), path, disk_->generation));
}

Result<std::unique_ptr<RandomAccessFile>> SimFileSystem::open_readable(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start_existing(OpClass::kMetadata, "open", path);
  if (!at.ok()) return at.status();
  if (at->node->is_dir) return io_error("open", path, "is a directory");
  return std::unique_ptr<RandomAccessFile>(
      new SimRandomAccessFile(disk_, at->node, path, disk_->generation));
}

Status SimFileSystem::truncate_file(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start_existing(OpClass::kMetadata, "truncate", path);
  if (!at.ok()) return at.status();
  Inode& file = *at->node;
  if (file.is_dir) return io_error("truncate", path, "is a directory");
  if (size > file.data.size()) {
    return io_error("truncate", path,
                    "cannot grow a file of " + std::to_string(file.data.size()) + " bytes to " +
                        std::to_string(size));
  }
  // Like PosixFileSystem (ftruncate then fdatasync), the bytes kept become durable too.
  file.data.resize(static_cast<size_t>(size));
  file.durable_size = size;
  file.unsynced_overwrites.clear();
  return Status::OK();
}

Status SimFileSystem::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  const std::string what = "rename " + from + " to";
  if (Status s = disk_->begin(OpClass::kMetadata, what, to); !s.ok()) return s;
  Result<Location> source = disk_->locate(what, from);
  if (!source.ok()) return source.status();
  if (source->node == nullptr) return not_found(what, to);
  Result<Location> target = disk_->locate(what, to);
  if (!target.ok()) return target.status();
  if (source->parent == nullptr || target->parent == nullptr) {
    return io_error(what, to, "cannot rename the root directory");
  }
  if (target->node == source->node) return Status::OK();  // Both names are one file already.
  const std::shared_ptr<Inode>& moved = source->node;
  if (target->node != nullptr) {
    if (!moved->is_dir && target->node->is_dir) return io_error(what, to, "is a directory");
    if (moved->is_dir && !target->node->is_dir) return io_error(what, to, "not a directory");
    if (target->node->is_dir && !target->node->entries.empty()) {
      return io_error(what, to, "directory not empty");
    }
  }
  if (std::find(target->walked.begin(), target->walked.end(), moved.get()) !=
      target->walked.end()) {
    return io_error(what, to, "cannot move a directory below itself");
  }
  target->parent->entries[target->name] = moved;
  source->parent->entries.erase(source->name);
  disk_->record(target->parent, {NameChange{target->parent, target->name, moved},
                                 NameChange{source->parent, source->name, nullptr}});
  return Status::OK();
}

Status SimFileSystem::remove_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start_existing(OpClass::kMetadata, "remove", path);
  if (!at.ok()) return at.status();
  if (at->node->is_dir) return io_error("remove", path, "is a directory");
  at->parent->entries.erase(at->name);
  disk_->record(at->parent, {NameChange{at->parent, at->name, nullptr}});
  return Status::OK();
}

Status SimFileSystem::create_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start(OpClass::kMetadata, "create directory", path);
  if (!at.ok()) return at.status();
  if (at->node != nullptr) {
    if (at->node->is_dir) return Status::OK();
    return io_error("create directory", path, "file exists");
  }
  std::shared_ptr<Inode> dir = disk_->new_dir();
  at->parent->entries.emplace(at->name, dir);
  disk_->record(at->parent, {NameChange{at->parent, at->name, dir}});
  return Status::OK();
}

Status SimFileSystem::remove_dir_all(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start(OpClass::kMetadata, "remove", path);
  if (!at.ok() && at.status().is_not_found()) return Status::OK();
  if (!at.ok()) return at.status();
  if (at->node == nullptr) return Status::OK();
  if (at->parent == nullptr) return io_error("remove", path, "cannot remove the root directory");
  // Only the name goes; the subtree below it becomes unreachable, durably so once the parent is
  // synced, which is what a crash then shows.
  at->parent->entries.erase(at->name);
  disk_->record(at->parent, {NameChange{at->parent, at->name, nullptr}});
  return Status::OK();
}

Status SimFileSystem::sync_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->start_existing(OpClass::kSync, "sync directory", path);
  if (!at.ok()) return at.status();
  if (!at->node->is_dir) return io_error("sync directory", path, "not a directory");
  const Inode* dir = at->node.get();
  const std::optional<TimePoint> done_at = disk_->sync_completion();
  std::erase_if(disk_->pending, [dir, done_at](PendingOp& op) {
    if (op.sync_dir.get() != dir) return false;
    if (done_at) {
      // Durable once this sync completes in virtual time; a crash before then may lose it.
      if (!op.durable_at || *done_at < *op.durable_at) op.durable_at = done_at;
      return false;
    }
    make_durable(op);
    return true;
  });
  ++disk_->stats.dir_syncs;
  return Status::OK();
}

Result<std::vector<std::string>> SimFileSystem::list_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->locate_existing("list", path);
  if (!at.ok()) return at.status();
  if (!at->node->is_dir) return io_error("list", path, "not a directory");
  std::vector<std::string> names;
  names.reserve(at->node->entries.size());
  for (const auto& [name, node] : at->node->entries) names.push_back(name);
  return names;  // Sorted: entries is an ordered map.
}

bool SimFileSystem::exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->locate("stat", path);
  return at.ok() && at->node != nullptr;
}

bool SimFileSystem::is_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  Result<Location> at = disk_->locate("stat", path);
  return at.ok() && at->node != nullptr && at->node->is_dir;
}

void SimFileSystem::crash(CrashMode mode) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  // First settle what had finished by the time of the crash: directory syncs and fsyncs whose
  // latency had run out are durable; the rest are as if never synced.
  const std::optional<TimePoint> now = disk_->now();
  std::erase_if(disk_->pending, [now](const PendingOp& op) {
    if (!op.durable_at || (now && *op.durable_at > *now)) return false;
    make_durable(op);
    return true;
  });
  disk_->settle_file_syncs(now);
  // Operations issued after the crash's moment never happened; they come last in issue order.
  size_t happened = disk_->pending.size();
  while (happened > 0 && now && disk_->pending[happened - 1].issued_at &&
         *disk_->pending[happened - 1].issued_at > *now) {
    --happened;
  }
  size_t kept_ops = 0;
  if (mode == CrashMode::kRandom) {
    kept_ops = std::uniform_int_distribution<size_t>(0, happened)(disk_->rng);
  }
  for (size_t i = 0; i < kept_ops; ++i) make_durable(disk_->pending[i]);
  disk_->pending.clear();
  disk_->rebuild_namespace();
  // Walk the surviving tree in name order so the draws, and so the outcome, follow the seed.
  std::vector<Inode*> stack{disk_->root.get()};
  while (!stack.empty()) {
    Inode* dir = stack.back();
    stack.pop_back();
    for (const auto& [name, node] : dir->entries) {
      if (node->is_dir) {
        stack.push_back(node.get());
      } else {
        disk_->cut_unsynced(*node, mode);
      }
    }
  }
  ++disk_->generation;
  ++disk_->stats.crashes;
}

void SimFileSystem::fail_next(OpClass op, int count) {
  PONTOON_CHECK(count >= 0);
  std::lock_guard<std::mutex> lock(disk_->mu);
  disk_->fail_next[static_cast<size_t>(op)] += count;
}

void SimFileSystem::set_failure_probability(OpClass op, double p) {
  PONTOON_CHECK(p >= 0.0);
  PONTOON_CHECK(p <= 1.0);
  std::lock_guard<std::mutex> lock(disk_->mu);
  disk_->failure_probability[static_cast<size_t>(op)] = p;
}

void SimFileSystem::set_capacity_bytes(uint64_t capacity_bytes) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  disk_->options.capacity_bytes = capacity_bytes;
}

void SimFileSystem::set_latency(OpClass op, Duration latency) {
  std::lock_guard<std::mutex> lock(disk_->mu);
  disk_->options.latency[static_cast<size_t>(op)] = latency;
}

SimFileSystem::Stats SimFileSystem::stats() const {
  std::lock_guard<std::mutex> lock(disk_->mu);
  return disk_->stats;
}

uint64_t SimFileSystem::used_bytes() const {
  std::lock_guard<std::mutex> lock(disk_->mu);
  return disk_->used_bytes();
}

}  // namespace raft
