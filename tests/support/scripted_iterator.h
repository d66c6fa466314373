// ScriptedIterator: a raft::Iterator over a scripted batch of entries, for unit tests of a
// StateMachine's on_apply() without a node.
//
// It runs each entry's closure with OK once it moves past it, as the framework does, and
// records a set_error_and_rollback instead of acting on it. Thread-safety: none; one test.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/closure.h"
#include "raft/iterator.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft::testing {

class ScriptedIterator final : public raft::Iterator {
 public:
  struct Entry {
    std::string data;
    std::unique_ptr<raft::Closure> done;
  };

  ScriptedIterator(raft::LogIndex first, std::vector<Entry> entries)
      : first_(first), entries_(std::move(entries)) {}

  bool valid() const override { return at_ < entries_.size() && !error_; }
  void next() override {
    raft::run_closure(std::move(entries_[at_].done), raft::Status::OK());
    ++at_;
  }
  raft::LogIndex index() const override { return first_ + static_cast<int64_t>(at_); }
  raft::Term term() const override { return raft::Term(1); }
  const std::string& data() const override { return entries_[at_].data; }
  raft::Closure* done() const override { return entries_[at_].done.get(); }
  void set_error_and_rollback(size_t ntail, const raft::Status& status) override {
    rollback_ntail_ = ntail;
    error_ = status;
    error_index_ = index();
  }

  size_t passed() const { return at_; }
  const std::optional<raft::Status>& error() const { return error_; }
  raft::LogIndex error_index() const { return error_index_; }
  size_t rollback_ntail() const { return rollback_ntail_; }

 private:
  const raft::LogIndex first_;
  std::vector<Entry> entries_;
  size_t at_ = 0;
  std::optional<raft::Status> error_;
  raft::LogIndex error_index_;
  size_t rollback_ntail_ = 0;
};

}  // namespace raft::testing
