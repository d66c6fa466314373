// Strong types for the quantities of the Raft paper: Term, LogIndex, LogId, GroupId.
//
// Term and LogIndex are distinct types so that one is never passed where the other is meant.
// Both are 64-bit and start at 0 ("none"): the first real term and the first real log index
// are 1. Thread-safety: values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace raft {

// A 64-bit counter that only compares and counts with values of its own kind.
template <typename Tag>
class StrongCounter {
 public:
  constexpr StrongCounter() = default;
  constexpr explicit StrongCounter(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }

  constexpr auto operator<=>(const StrongCounter&) const = default;

  constexpr StrongCounter operator+(int64_t n) const { return StrongCounter(value_ + n); }
  constexpr StrongCounter operator-(int64_t n) const { return StrongCounter(value_ - n); }
  // The distance between two counters is a plain count.
  constexpr int64_t operator-(StrongCounter other) const { return value_ - other.value_; }
  constexpr StrongCounter& operator++() {
    ++value_;
    return *this;
  }
  constexpr StrongCounter& operator+=(int64_t n) {
    value_ += n;
    return *this;
  }

  friend std::ostream& operator<<(std::ostream& os, StrongCounter c) { return os << c.value_; }

 private:
  int64_t value_ = 0;
};

struct TermTag;
struct LogIndexTag;

// Raft §5.1: terms act as a logical clock.
using Term = StrongCounter<TermTag>;
// Position of an entry in the replicated log; the first entry has index 1.
using LogIndex = StrongCounter<LogIndexTag>;

// An entry's identity: Raft §5.3's Log Matching Property says (index, term) identifies it.
struct LogId {
  LogIndex index;
  Term term;
  constexpr bool operator==(const LogId&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const LogId& id) {
    return os << "(" << id.index << "," << id.term << ")";
  }
};

// Names a Raft group; one process hosts many. Must be non-empty and at most 128 bytes.
using GroupId = std::string;

}  // namespace raft

template <typename Tag>
struct std::hash<raft::StrongCounter<Tag>> {
  size_t operator()(raft::StrongCounter<Tag> c) const noexcept {
    return std::hash<int64_t>()(c.value());
  }
};
