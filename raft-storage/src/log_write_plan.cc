#include "log_write_plan.h"

#include <algorithm>
#include <string>

#include "raft/check.h"
#include "raft/storage/log_record.h"

namespace raft {
namespace {

std::string str(LogIndex i) { return std::to_string(i.value()); }

}  // namespace

Result<LogWritePlan> plan_log_write(const LogWrite& write, const GroupId& group, LogIndex first,
                                    LogIndex last) {
  PONTOON_CHECK(first >= LogIndex(1));
  PONTOON_CHECK(last >= first - 1);

  LogWritePlan plan{last, last};
  if (write.truncate_after.has_value()) {
    LogIndex truncate_after = *write.truncate_after;
    if (truncate_after < first - 1) {
      return Status::InvalidArgument("group " + group + ": cannot truncate after index " +
                                     str(truncate_after) + ", entries before " + str(first) +
                                     " are compacted");
    }
    plan.keep_last = std::min(last, truncate_after);
  }

  LogIndex expected = plan.keep_last + 1;
  Term previous_term(0);
  for (size_t i = 0; i < write.entries.size(); ++i, ++expected) {
    const LogEntryPtr& entry = write.entries[i];
    if (entry == nullptr) {
      return Status::InvalidArgument("group " + group + ": entry " + std::to_string(i) +
                                     " of the write is null");
    }
    if (entry->id.index != expected) {
      return Status::InvalidArgument(
          "group " + group + ": entries must be contiguous with the log: entry " +
          std::to_string(i) + " of the write has index " + str(entry->id.index) + ", expected " +
          str(expected) + " (log is [" + str(first) + ", " + str(plan.keep_last) +
          "] after truncation)");
    }
    Status valid = log_record::validate_entry(*entry, group);
    if (!valid.ok()) return valid;
    // Raft §5.3: terms never decrease along a log.
    if (entry->id.term < previous_term) {
      return Status::InvalidArgument("group " + group + " entry " + str(entry->id.index) +
                                     ": term " + std::to_string(entry->id.term.value()) +
                                     " is lower than the previous entry's term " +
                                     std::to_string(previous_term.value()));
    }
    previous_term = entry->id.term;
  }
  plan.new_last = plan.keep_last + static_cast<int64_t>(write.entries.size());

  PONTOON_CHECK(plan.keep_last >= first - 1);
  PONTOON_CHECK(plan.keep_last <= last);
  PONTOON_CHECK(plan.new_last >= plan.keep_last);
  return plan;
}

}  // namespace raft
