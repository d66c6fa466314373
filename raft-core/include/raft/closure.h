// Closure: a completion callback that the framework runs exactly once with a Status.
//
// Subclass it to carry results back to the caller (the state machine can find the closure of
// the entry it is applying through Iterator::done() and fill in fields), or build one from a
// lambda with make_closure(). The framework owns a Closure handed to it (Task::done) and
// destroys it after running it.
//
// Closures may run on the state-machine lane or the node lane; they must not block.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "raft/status.h"

namespace raft {

class Closure {
 public:
  virtual ~Closure() = default;
  // Called exactly once by whoever owns the closure.
  virtual void run(const Status& status) = 0;
};

// A Closure that calls `fn(status)`.
class FunctionClosure final : public Closure {
 public:
  explicit FunctionClosure(std::function<void(const Status&)> fn) : fn_(std::move(fn)) {}
  void run(const Status& status) override {
    if (fn_) fn_(status);
  }

 private:
  std::function<void(const Status&)> fn_;
};

inline std::unique_ptr<Closure> make_closure(std::function<void(const Status&)> fn) {
  return std::make_unique<FunctionClosure>(std::move(fn));
}

// Runs `done` (if any) with `status` and destroys it.
inline void run_closure(std::unique_ptr<Closure> done, const Status& status) {
  if (done) done->run(status);
}

}  // namespace raft
