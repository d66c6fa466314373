#include "counter_state_machine.h"

#include "counter_command.h"
#include "raft/check.h"
#include "raft/logging.h"

namespace counter {
namespace {

// Wrapping addition: signed overflow is undefined in C++, and every replica must compute the
// same result for the same log.
int64_t add_wrapping(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

}  // namespace

void CounterClosure::set_value(int64_t value) {
  PONTOON_CHECK_MSG(!value_.has_value(), "a counter entry was applied twice");
  value_ = value;
}

void CounterClosure::run(const raft::Status& status) {
  // The framework runs a closure with OK only after the state machine has passed its entry,
  // and this state machine fills every CounterClosure it passes.
  if (status.ok()) PONTOON_CHECK_MSG(value_.has_value(), "closure ran OK without a value");
  if (done_) done_(status, status.ok() ? *value_ : 0);
}

void CounterStateMachine::on_apply(raft::Iterator& iter) {
  int64_t value = value_.load(std::memory_order_relaxed);
  for (; iter.valid(); iter.next()) {
    raft::Result<CounterCommand> command = CounterCommand::decode(iter.data());
    if (!command.ok()) {
      PONTOON_LOG(kError) << name() << ": refusing entry " << iter.index() << ": "
                          << command.status();
      iter.set_error_and_rollback(
          1, raft::Status::Corruption("counter entry " + std::to_string(iter.index().value()) +
                                      ": " + std::string(command.status().message())));
      return;
    }
    const int64_t previous_index = applied_index_.load(std::memory_order_relaxed);
    PONTOON_CHECK_MSG(iter.index().value() > previous_index, "entries applied out of order");
    if (command->kind == CounterCommand::Kind::kIncrement)
      value = add_wrapping(value, command->delta);
    // Publish the value before the index, so a reader that sees the index sees the value too.
    value_.store(value, std::memory_order_release);
    applied_index_.store(iter.index().value(), std::memory_order_release);
    if (auto* done = dynamic_cast<CounterClosure*>(iter.done())) done->set_value(value);
  }
}

std::string CounterStateMachine::describe_state() const {
  return "value " + std::to_string(value()) + " at applied index " +
         std::to_string(applied_index().value());
}

}  // namespace counter
