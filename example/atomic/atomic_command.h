// AtomicCommand: what one entry of the atomic register service's replicated log says.
//
// Entry payload format (the bytes of raft::Task::data), fixed so that replicas of different
// builds agree. Integers are little-endian; int64 values two's complement.
//
//   command := tag:1 key_length:uint16 key:key_length operands
//   get              'G'  (no operands)
//   set              'S'  value:int64
//   compare_and_set  'C'  expected:int64 new_value:int64
//   fetch_add        'A'  delta:int64
//
// A key is 1..kMaxKeyBytes bytes, any bytes. A "get" changes nothing; it goes through the log so
// that the read is linearizable. Thread-safety: a value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raft/status.h"

namespace atomic {

inline constexpr size_t kMaxKeyBytes = 256;

// OK if `key` is 1..kMaxKeyBytes bytes; otherwise EINVAL saying why.
raft::Status validate_key(std::string_view key);

struct AtomicCommand {
  enum class Kind : char {
    kGet = 'G',
    kSet = 'S',
    kCompareAndSet = 'C',
    kFetchAdd = 'A',
  };

  static AtomicCommand get(std::string key) { return {Kind::kGet, std::move(key), 0, 0}; }
  static AtomicCommand set(std::string key, int64_t value) {
    return {Kind::kSet, std::move(key), value, 0};
  }
  static AtomicCommand compare_and_set(std::string key, int64_t expected, int64_t new_value) {
    return {Kind::kCompareAndSet, std::move(key), expected, new_value};
  }
  static AtomicCommand fetch_add(std::string key, int64_t delta) {
    return {Kind::kFetchAdd, std::move(key), delta, 0};
  }

  // REQUIRES: validate_key(key) is OK.
  std::string encode() const;
  // ECORRUPTION saying what is wrong if `data` is not an encoded command.
  static raft::Result<AtomicCommand> decode(std::string_view data);

  Kind kind = Kind::kGet;
  std::string key;
  // set: the value; compare_and_set: the expected value; fetch_add: the delta; get: 0.
  int64_t operand = 0;
  // compare_and_set: the new value. Invariant: 0 unless kind == kCompareAndSet.
  int64_t new_value = 0;

  bool operator==(const AtomicCommand&) const = default;
};

}  // namespace atomic
