// CounterCommand: what one entry of the counter's replicated log says.
//
// Entry payload format (the bytes of raft::Task::data), fixed so that replicas of different
// builds agree:
//
//   increment := 'I' delta:int64 little-endian two's complement     (9 bytes)
//   get       := 'G'                                                 (1 byte)
//
// A "get" changes nothing; it exists so that a read goes through the log and is therefore
// linearizable (it observes every increment committed before it). Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "raft/status.h"

namespace counter {

struct CounterCommand {
  enum class Kind : char { kIncrement = 'I', kGet = 'G' };

  static CounterCommand increment(int64_t delta) { return {Kind::kIncrement, delta}; }
  static CounterCommand get() { return {Kind::kGet, 0}; }

  std::string encode() const;
  // ECORRUPTION saying what is wrong if `data` is not an encoded command.
  static raft::Result<CounterCommand> decode(std::string_view data);

  Kind kind = Kind::kGet;
  int64_t delta = 0;  // Invariant: 0 unless kind == kIncrement.

  bool operator==(const CounterCommand&) const = default;
};

}  // namespace counter
