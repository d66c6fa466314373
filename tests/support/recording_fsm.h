// RecordingStateMachine: a test state machine that remembers everything it was told.
//
// It keeps every applied (index, data) in order, a running hash over them, and the role
// events, and checks as it goes that indexes only grow and that callbacks never overlap.
// Thread-safety: the callbacks run on the node's fsm lane; the accessors may be called from
// any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
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

 private:
  void mix(uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash_ ^= (value >> (8 * i)) & 0xff;
      hash_ *= 1099511628211ull;
    }
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
};

}  // namespace raft::testing
