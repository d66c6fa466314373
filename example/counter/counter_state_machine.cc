#include "counter_state_machine.h"

#include <sstream>

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

CounterStateMachine::~CounterStateMachine() {
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
}

std::string CounterStateMachine::encode_snapshot(int64_t value, int64_t applied_index) {
  return "pontoon-counter 1 " + std::to_string(value) + " " + std::to_string(applied_index) + "\n";
}

raft::Status CounterStateMachine::decode_snapshot(const std::string& bytes, int64_t* value,
                                                  int64_t* applied_index) {
  std::istringstream in(bytes);
  std::string magic, version, rest;
  long long v = 0, index = 0;
  // Only the exact line encode_snapshot() writes is accepted: stream extraction alone skips
  // any whitespace and takes a line cut short after a digit ("... 1234 56" for "... 1234 5678")
  // as a different applied index.
  if (!(in >> magic >> version >> v >> index) || magic != "pontoon-counter" || version != "1" ||
      index < 0 || (in >> rest) || encode_snapshot(v, index) != bytes) {
    return raft::Status::InvalidArgument(
        "counter snapshot is not \"pontoon-counter 1 <value> "
        "<applied index>\"");
  }
  *value = v;
  *applied_index = index;
  return raft::Status::OK();
}

void CounterStateMachine::on_snapshot_save(raft::SnapshotWriter& writer,
                                           std::unique_ptr<raft::Closure> done) {
  // Capture synchronously: nothing is applied while this runs, so the two numbers belong to
  // the same point of the log.
  const std::string bytes = encode_snapshot(value(), applied_index().value());
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  // Write asynchronously: applying continues as soon as this returns. The framework keeps the
  // writer alive until `done` runs.
  auto holder = std::make_shared<std::unique_ptr<raft::Closure>>(std::move(done));
  snapshot_writer_ = std::thread([&writer, bytes, holder] {
    raft::run_closure(std::move(*holder), writer.write_file("counter", bytes));
  });
}

raft::Status CounterStateMachine::on_snapshot_load(raft::SnapshotReader& reader) {
  raft::Result<std::string> bytes = reader.read_file("counter");
  if (!bytes.ok()) return bytes.status();
  int64_t value = 0, index = 0;
  raft::Status decoded = decode_snapshot(*bytes, &value, &index);
  if (!decoded.ok()) return decoded;
  value_.store(value, std::memory_order_release);
  applied_index_.store(index, std::memory_order_release);
  PONTOON_LOG(kInfo) << name() << ": loaded the snapshot at index "
                     << reader.meta().last_included.index << " (value " << value << ")";
  return raft::Status::OK();
}

void CounterStateMachine::on_shutdown() {
  // A snapshot still being written finishes (and runs its closure) before the node stops.
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
  LoggedStateMachine::on_shutdown();
}

std::string CounterStateMachine::describe_state() const {
  return "value " + std::to_string(value()) + " at applied index " +
         std::to_string(applied_index().value());
}

}  // namespace counter
