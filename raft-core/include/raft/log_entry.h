// LogEntry: one record of the replicated log.
//
// Entries are immutable once built and shared by pointer between the in-memory log, the
// disk queue, AppendEntries messages and the state machine, so a payload is never copied
// on the write path. Thread-safety: immutable after construction, shareable across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "raft/types.h"

namespace raft {

enum class EntryType : uint8_t {
  kData = 1,           // A user Task's payload, handed to StateMachine::on_apply.
  kNoOp = 2,           // Carries nothing; lets a new leader commit earlier terms (Raft §8).
  kConfiguration = 3,  // data holds Configuration::to_string() of the group's voters.
};

// Returns true for the values above; storage and RPC decoders reject anything else.
inline bool is_valid_entry_type(uint8_t t) { return t >= 1 && t <= 3; }

struct LogEntry {
  EntryType type = EntryType::kData;
  LogId id;
  std::string data;
};

using LogEntryPtr = std::shared_ptr<const LogEntry>;

// What one entry costs in memory while a log cache or queue holds it, as close as is cheap to
// know: the entry and its shared_ptr control block (one make_shared allocation), the payload's
// heap buffer when it does not fit the string's inline storage, each allocation's malloc
// header and rounding, and the pointer slot of the container that keeps it. Byte bounds count
// this, not the payload alone: a 9-byte increment costs ~100 bytes.
inline size_t memory_footprint(const LogEntry& entry) {
  constexpr size_t kAllocationOverhead = 16;  // glibc: 8-byte header, 16-byte rounding.
  constexpr size_t kControlBlock = 16;        // Use and weak counts (the vtable pointer is
                                              // offset by the empty deleter).
  constexpr size_t kInlineCapacity = 15;      // libstdc++'s short-string buffer.
  size_t bytes = sizeof(LogEntry) + kControlBlock + kAllocationOverhead + sizeof(LogEntryPtr);
  if (entry.data.capacity() > kInlineCapacity) {
    bytes += entry.data.capacity() + 1 + kAllocationOverhead;
  }
  return bytes;
}

inline LogEntryPtr make_entry(EntryType type, LogIndex index, Term term, std::string data) {
  return std::make_shared<const LogEntry>(LogEntry{type, LogId{index, term}, std::move(data)});
}

}  // namespace raft
