// RecordingStateMachine: a test state machine that remembers everything it was told.
//
// It keeps every applied (index, data) in order, a running hash over them, and the role
// events, and checks as it goes that indexes only grow and that callbacks never overlap.
// Its snapshot is the whole record (one file, "applied"), so a node restored from a snapshot
// reports the same history as one that applied every entry itself.
// Thread-safety: the callbacks run on the node's fsm lane; the accessors may be called from
// any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "raft/check.h"
#include "raft/state_machine.h"

namespace raft::testing {

struct AppliedEntry {
  LogIndex index;
  Term term;
  std::string data;
};

class RecordingStateMachine : public StateMachine {
 public:
  void on_apply(Iterator& iter) override {
    enter();
    if (before_apply_) before_apply_();
    for (; iter.valid(); iter.next()) {
      if (!fail_on_data_.empty() && iter.data() == fail_on_data_) {
        iter.set_error_and_rollback(1, Status::InvalidArgument("refused " + fail_on_data_));
        break;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      PONTOON_CHECK_MSG(iter.index() > last_index_, "entries applied out of order");
      last_index_ = iter.index();
      // FNV-1a over (index, data): equal hashes mean the same entries in the same order.
      mix(static_cast<uint64_t>(iter.index().value()));
      for (unsigned char c : iter.data()) mix(c);
      applied_.push_back({iter.index(), iter.term(), iter.data()});
    }
    leave();
  }
  void on_leader_start(Term term) override {
    std::lock_guard<std::mutex> lock(mutex_);
    leader_terms_.push_back(term);
  }
  void on_leader_stop(const Status&) override { ++leader_stops_; }
  void on_error(const Status& error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(error);
  }
  void on_configuration_committed(const Configuration& conf) override {
    std::lock_guard<std::mutex> lock(mutex_);
    committed_confs_.push_back(conf);
  }
  void on_shutdown() override { shut_down_ = true; }

  void on_snapshot_save(SnapshotWriter& writer, std::unique_ptr<Closure> done) override {
    enter();
    std::string bytes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      put(&bytes, hash_);
      put(&bytes, static_cast<uint64_t>(applied_.size()));
      for (const AppliedEntry& e : applied_) {
        put(&bytes, static_cast<uint64_t>(e.index.value()));
        put(&bytes, static_cast<uint64_t>(e.term.value()));
        put(&bytes, static_cast<uint64_t>(e.data.size()));
        bytes += e.data;
      }
      ++snapshots_saved_;
    }
    Status written = writer.write_file("applied", bytes);
    leave();
    run_closure(std::move(done), written);
  }

  Status on_snapshot_load(SnapshotReader& reader) override {
    enter();
    Result<std::string> bytes = reader.read_file("applied");
    if (!bytes.ok()) {
      leave();
      return bytes.status();
    }
    std::string_view in = *bytes;
    std::vector<AppliedEntry> entries;
    uint64_t hash = get(&in);
    const uint64_t count = get(&in);
    for (uint64_t i = 0; i < count; ++i) {
      AppliedEntry e;
      e.index = LogIndex(static_cast<int64_t>(get(&in)));
      e.term = Term(static_cast<int64_t>(get(&in)));
      const uint64_t size = get(&in);
      PONTOON_CHECK(size <= in.size());
      e.data = std::string(in.substr(0, size));
      in.remove_prefix(size);
      entries.push_back(std::move(e));
    }
    PONTOON_CHECK_MSG(in.empty(), "trailing bytes in a recording snapshot");
    {
      std::lock_guard<std::mutex> lock(mutex_);
      PONTOON_CHECK_MSG(reader.meta().last_included.index >= last_index_,
                        "a snapshot older than what was applied was loaded");
      applied_ = std::move(entries);
      hash_ = hash;
      last_index_ = reader.meta().last_included.index;
      ++snapshots_loaded_;
    }
    leave();
    return Status::OK();
  }

  // Runs `hook` at the start of every on_apply (e.g. to make applying slow in simulated time).
  // Set it before the node starts applying, or from the fsm lane.
  void before_apply(std::function<void()> hook) { before_apply_ = std::move(hook); }
  // Makes on_apply refuse (set_error_and_rollback) the first entry whose data equals `data`.
  void fail_on(std::string data) { fail_on_data_ = std::move(data); }

  size_t applied_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return applied_.size();
  }
  uint64_t hash() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hash_;
  }
  std::vector<AppliedEntry> applied() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return applied_;
  }
  std::vector<Term> leader_terms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return leader_terms_;
  }
  std::vector<Status> errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }
  std::vector<Configuration> committed_confs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return committed_confs_;
  }
  bool shut_down() const { return shut_down_; }
  int snapshots_saved() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshots_saved_;
  }
  int snapshots_loaded() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshots_loaded_;
  }

 private:
  void mix(uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash_ ^= (value >> (8 * i)) & 0xff;
      hash_ *= 1099511628211ull;
    }
  }
  static void put(std::string* out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  static uint64_t get(std::string_view* in) {
    PONTOON_CHECK_MSG(in->size() >= 8, "truncated recording snapshot");
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<uint8_t>((*in)[i])) << (8 * i);
    in->remove_prefix(8);
    return v;
  }
  void enter() { PONTOON_CHECK_MSG(!in_callback_.exchange(true), "callbacks overlapped"); }
  void leave() { in_callback_ = false; }

  mutable std::mutex mutex_;
  std::vector<AppliedEntry> applied_;
  LogIndex last_index_{0};
  uint64_t hash_ = 14695981039346656037ull;
  std::vector<Term> leader_terms_;
  std::vector<Status> errors_;
  std::vector<Configuration> committed_confs_;
  std::atomic<int> leader_stops_{0};
  std::atomic<bool> in_callback_{false};
  std::atomic<bool> shut_down_{false};
  std::string fail_on_data_;
  std::function<void()> before_apply_;
  int snapshots_saved_ = 0;   // Guarded by mutex_.
  int snapshots_loaded_ = 0;  // Guarded by mutex_.
};

}  // namespace raft::testing
