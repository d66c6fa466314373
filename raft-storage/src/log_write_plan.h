// plan_log_write: the validation every LogStorage in raft-storage applies to a LogWrite
// before touching anything, so that a rejected write changes nothing.
#pragma once

#include "raft/log_storage.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

// What a valid LogWrite does to a log holding [first, last].
struct LogWritePlan {
  // Entries (keep_last, last] are removed. Invariant: first - 1 <= keep_last <= last.
  LogIndex keep_last;
  // The log's last index once the write is applied: keep_last + entries.size().
  LogIndex new_last;
};

// Returns the plan for applying `write` to the log [first, last] of `group`, or EINVAL naming
// the group and the problem if: truncate_after < first - 1 (those entries were compacted), an
// entry is null, is not at keep_last + 1 + its position, has a term < 1 or lower than the
// entry before it in the write, an invalid type, or data too large for a record.
// REQUIRES: first >= 1, last >= first - 1.
Result<LogWritePlan> plan_log_write(const LogWrite& write, const GroupId& group, LogIndex first,
                                    LogIndex last);

}  // namespace raft
