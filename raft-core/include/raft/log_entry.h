// LogEntry: one record of the replicated log.
//
// Entries are immutable once built and shared by pointer between the in-memory log, the
// disk queue, AppendEntries messages and the state machine, so a payload is never copied
// on the write path. Thread-safety: immutable after construction, shareable across threads.
#pragma once

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

inline LogEntryPtr make_entry(EntryType type, LogIndex index, Term term, std::string data) {
  return std::make_shared<const LogEntry>(LogEntry{type, LogId{index, term}, std::move(data)});
}

}  // namespace raft
