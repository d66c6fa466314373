// ReadIndexClosure: the completion of Node::read_index, carrying the read index.
//
// The framework sets read_index() before run(OK). Build one from a lambda with
// make_read_index_closure(). Like every Closure it runs exactly once and must not block.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "raft/closure.h"
#include "raft/types.h"

namespace raft {

class ReadIndexClosure : public Closure {
 public:
  // Valid when run() gets OK: this node's state machine has applied at least this index.
  LogIndex read_index() const { return read_index_; }
  void set_read_index(LogIndex index) { read_index_ = index; }

 private:
  LogIndex read_index_;
};

// A ReadIndexClosure that calls `fn(status, read_index)`.
class FunctionReadIndexClosure final : public ReadIndexClosure {
 public:
  explicit FunctionReadIndexClosure(std::function<void(const Status&, LogIndex)> fn)
      : fn_(std::move(fn)) {}
  void run(const Status& status) override {
    if (fn_) fn_(status, read_index());
  }

 private:
  std::function<void(const Status&, LogIndex)> fn_;
};

inline std::unique_ptr<ReadIndexClosure> make_read_index_closure(
    std::function<void(const Status&, LogIndex)> fn) {
  return std::make_unique<FunctionReadIndexClosure>(std::move(fn));
}

}  // namespace raft
