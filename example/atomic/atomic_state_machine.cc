#include "atomic_state_machine.h"

#include <mutex>
#include <shared_mutex>

#include "raft/check.h"
#include "raft/logging.h"

namespace atomic {
namespace {

// Wrapping addition: signed overflow is undefined in C++, and every replica must compute the
// same result for the same log.
int64_t add_wrapping(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

}  // namespace

AtomicResult apply_command(const AtomicCommand& command,
                           std::map<std::string, int64_t>* registers) {
  PONTOON_CHECK(registers != nullptr);
  auto it = registers->find(command.key);
  const int64_t current = it == registers->end() ? 0 : it->second;
  switch (command.kind) {
    case AtomicCommand::Kind::kGet:
      return {current, true};
    case AtomicCommand::Kind::kSet:
      (*registers)[command.key] = command.operand;
      return {command.operand, true};
    case AtomicCommand::Kind::kCompareAndSet:
      if (current != command.operand) return {current, false};
      (*registers)[command.key] = command.new_value;
      return {command.new_value, true};
    case AtomicCommand::Kind::kFetchAdd:
      (*registers)[command.key] = add_wrapping(current, command.operand);
      return {current, true};
  }
  PONTOON_CHECK_MSG(false, "unknown atomic command kind");
  return {};
}

void AtomicClosure::set_result(const AtomicResult& result) {
  PONTOON_CHECK_MSG(!result_.has_value(), "an atomic entry was applied twice");
  result_ = result;
}

void AtomicClosure::run(const raft::Status& status) {
  // The framework runs a closure with OK only after the state machine has passed its entry,
  // and this state machine fills every AtomicClosure it passes.
  if (status.ok()) PONTOON_CHECK_MSG(result_.has_value(), "closure ran OK without a result");
  if (done_) done_(status, status.ok() ? *result_ : AtomicResult{});
}

void AtomicStateMachine::on_apply(raft::Iterator& iter) {
  for (; iter.valid(); iter.next()) {
    raft::Result<AtomicCommand> command = AtomicCommand::decode(iter.data());
    if (!command.ok()) {
      PONTOON_LOG(kError) << name() << ": refusing entry " << iter.index() << ": "
                          << command.status();
      iter.set_error_and_rollback(
          1, raft::Status::Corruption("atomic entry " + std::to_string(iter.index().value()) +
                                      ": " + std::string(command.status().message())));
      return;
    }
    const int64_t previous_index = applied_index_.load(std::memory_order_relaxed);
    PONTOON_CHECK_MSG(iter.index().value() > previous_index, "entries applied out of order");
    AtomicResult result;
    {
      std::unique_lock<std::shared_mutex> lock(mu_);
      result = apply_command(*command, &registers_);
    }
    applied_index_.store(iter.index().value(), std::memory_order_release);
    if (auto* done = dynamic_cast<AtomicClosure*>(iter.done())) done->set_result(result);
  }
}

int64_t AtomicStateMachine::value(const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = registers_.find(key);
  return it == registers_.end() ? 0 : it->second;
}

size_t AtomicStateMachine::key_count() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return registers_.size();
}

std::string AtomicStateMachine::describe_state() const {
  return std::to_string(key_count()) + " register(s) at applied index " +
         std::to_string(applied_index().value());
}

}  // namespace atomic
