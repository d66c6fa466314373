#include "raft/log_storage.h"

#include "raft/check.h"

namespace raft {

Result<std::vector<LogEntryPtr>> LogStorage::get_entries(LogIndex first, size_t max_count,
                                                         size_t max_bytes) const {
  PONTOON_CHECK(max_count >= 1);
  std::vector<LogEntryPtr> entries;
  size_t bytes = 0;
  const LogIndex last = last_log_index();
  for (LogIndex index = first; entries.empty() || (index <= last && entries.size() < max_count);
       ++index) {
    Result<LogEntryPtr> entry = get_entry(index);
    if (!entry.ok()) {
      if (!entries.empty() && entry.status().is_not_found()) break;
      return entry.status();
    }
    if (!entries.empty() && bytes + (*entry)->data.size() > max_bytes) break;
    bytes += (*entry)->data.size();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

}  // namespace raft
