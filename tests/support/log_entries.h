// Helpers shared by the LogStorage tests: entries whose data names their identity, writes built
// from them, and a check that a log holds exactly a given range of whole entries.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/log_entry.h"
#include "raft/log_storage.h"

namespace raft::testing {

// The data of an entry names its identity, so a reader can tell a torn or misplaced read.
inline std::string data_for(int64_t index, int64_t term) {
  return "entry " + std::to_string(index) + " of term " + std::to_string(term);
}

inline LogEntryPtr entry(int64_t index, int64_t term, EntryType type = EntryType::kData) {
  return make_entry(type, LogIndex(index), Term(term), data_for(index, term));
}

// Entries [from, to], all of `term`.
inline std::vector<LogEntryPtr> entries(int64_t from, int64_t to, int64_t term) {
  std::vector<LogEntryPtr> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(entry(i, term));
  return out;
}

inline LogWrite append(std::vector<LogEntryPtr> batch, std::optional<int64_t> truncate_after = {}) {
  LogWrite write;
  if (truncate_after) write.truncate_after = LogIndex(*truncate_after);
  write.entries = std::move(batch);
  return write;
}

// Checks that `log` holds exactly [first, last] and that every entry in it reads back whole.
inline void check_log(const LogStorage& log, int64_t first, int64_t last) {
  REQUIRE(log.first_log_index() == LogIndex(first));
  REQUIRE(log.last_log_index() == LogIndex(last));
  for (int64_t i = first; i <= last; ++i) {
    Result<LogEntryPtr> e = log.get_entry(LogIndex(i));
    REQUIRE(e.ok());
    CHECK((*e)->id.index == LogIndex(i));
    CHECK((*e)->data == data_for(i, (*e)->id.term.value()));
    Result<Term> t = log.get_term(LogIndex(i));
    REQUIRE(t.ok());
    CHECK(*t == (*e)->id.term);
  }
  // The range read returns the same run in one call.
  if (last >= first) {
    Result<std::vector<LogEntryPtr>> run = log.get_entries(LogIndex(first), SIZE_MAX, SIZE_MAX);
    REQUIRE(run.ok());
    REQUIRE(run->size() == static_cast<size_t>(last - first + 1));
    for (int64_t i = first; i <= last; ++i) {
      const LogEntry& e = *(*run)[static_cast<size_t>(i - first)];
      CHECK(e.id.index == LogIndex(i));
      CHECK(e.data == data_for(i, e.id.term.value()));
    }
  }
  CHECK(log.get_entries(LogIndex(first - 1), 1, SIZE_MAX).status().is_not_found());
  CHECK(log.get_entries(LogIndex(last + 1), 1, SIZE_MAX).status().is_not_found());
  CHECK(log.get_entry(LogIndex(first - 1)).status().is_not_found());
  CHECK(log.get_entry(LogIndex(last + 1)).status().is_not_found());
  CHECK(log.get_term(LogIndex(first - 1)).status().is_not_found());
  CHECK(log.get_term(LogIndex(last + 1)).status().is_not_found());
}

inline Term term_at(const LogStorage& log, int64_t index) {
  Result<Term> t = log.get_term(LogIndex(index));
  REQUIRE(t.ok());
  return *t;
}

}  // namespace raft::testing
