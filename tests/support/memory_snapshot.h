// MemorySnapshotWriter and MemorySnapshotReader: a snapshot held in a map of file contents, for
// unit tests of a state machine's or the FSMCaller's snapshot paths without a SnapshotStorage.
//
// The writer can hold its writes at a gate (hold()/release()), so that a test can observe what
// happens while a state machine's asynchronous write is still under way, and it records the
// thread each write ran on.
//
// Thread-safety: the writer may be written from one thread while the test holds, releases and
// inspects it from another; the reader is used by one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raft/snapshot.h"
#include "raft/storage/crc32c.h"

namespace raft::testing {

class MemorySnapshotWriter final : public SnapshotWriter {
 public:
  const std::string& path() const override { return path_; }
  Status write_file(const std::string& name, std::string_view data) override {
    return put(name, data, /*append=*/false);
  }
  Status append_file(const std::string& name, std::string_view data) override {
    return put(name, data, /*append=*/true);
  }
  Status add_file(const std::string& name) override {
    return Status::NotFound("a memory snapshot has no directory to hold " + name);
  }
  std::vector<std::string> files() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, _] : files_) names.push_back(name);
    return names;
  }
  Result<SnapshotFile> describe_file(const std::string& name) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files_.find(name);
    if (it == files_.end()) return Status::NotFound("no file " + name);
    return SnapshotFile{name, it->second.size(), crc32c::value(it->second)};
  }

  // Writes from now on wait until release() (or, so that a broken test ends, 10 s).
  void hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }
  // Waits up to `limit` for a write to be waiting at the gate.
  bool wait_for_held_write(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return waiting_ > 0; });
  }

  std::map<std::string, std::string> contents() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return files_;
  }
  std::vector<std::thread::id> writer_threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return writer_threads_;
  }
  // A write that gave up waiting at the gate: the test never released it.
  bool gate_timed_out() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return gate_timed_out_;
  }

 private:
  Status put(const std::string& name, std::string_view data, bool append) {
    if (name.empty() || name.find('/') != std::string::npos) {
      return Status::InvalidArgument("bad snapshot file name '" + name + "'");
    }
    std::unique_lock<std::mutex> lock(mutex_);
    writer_threads_.push_back(std::this_thread::get_id());
    ++waiting_;
    changed_.notify_all();
    if (!changed_.wait_for(lock, std::chrono::seconds(10), [&] { return !held_; })) {
      gate_timed_out_ = true;
    }
    --waiting_;
    std::string& file = files_[name];
    if (!append) file.clear();
    file.append(data);
    return Status::OK();
  }

  const std::string path_ = "/memory-snapshot";
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> files_;     // Guarded by mutex_.
  std::vector<std::thread::id> writer_threads_;  // Guarded by mutex_.
  bool held_ = false;                            // Guarded by mutex_.
  int waiting_ = 0;                              // Guarded by mutex_.
  bool gate_timed_out_ = false;                  // Guarded by mutex_.
};

class MemorySnapshotReader final : public SnapshotReader {
 public:
  MemorySnapshotReader(SnapshotMeta meta, std::map<std::string, std::string> contents)
      : meta_(std::move(meta)), contents_(std::move(contents)) {
    for (const auto& [name, data] : contents_) {
      files_.push_back(SnapshotFile{name, data.size(), crc32c::value(data)});
    }
  }

  const std::string& path() const override { return path_; }
  const SnapshotMeta& meta() const override { return meta_; }
  const std::vector<SnapshotFile>& files() const override { return files_; }
  Result<std::string> read_file(const std::string& name) const override {
    auto it = contents_.find(name);
    if (it == contents_.end()) return Status::NotFound("the snapshot has no file " + name);
    return it->second;
  }
  Result<std::string> read_chunk(const std::string& name, uint64_t offset,
                                 size_t n) const override {
    Result<std::string> whole = read_file(name);
    if (!whole.ok()) return whole;
    if (offset >= whole->size()) return std::string();
    return whole->substr(offset, n);
  }

 private:
  const std::string path_ = "/memory-snapshot";
  SnapshotMeta meta_;
  std::map<std::string, std::string> contents_;
  std::vector<SnapshotFile> files_;
};

}  // namespace raft::testing
