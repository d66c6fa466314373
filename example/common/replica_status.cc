#include "replica_status.h"

#include <sstream>

namespace example {

std::string describe(const ReplicaStatus& s) {
  std::ostringstream line;
  line << s.endpoint << "  ";
  if (!s.error.ok()) {
    line << "unreachable (" << s.error << ")";
    return line.str();
  }
  line << "role=" << s.role << " term=" << s.term
       << " leader=" << (s.leader.empty() ? "none" : s.leader) << " last=" << s.last_log_index
       << " commit=" << s.commit_index << " applied=" << s.applied_index
       << " first=" << s.first_log_index << " snapshot=" << s.last_snapshot_index;
  return line.str();
}

}  // namespace example
