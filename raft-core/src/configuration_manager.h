// ConfigurationManager: the configurations a replica's log and snapshot hold, by index.
//
// Raft §6: a server uses the latest configuration in its log, committed or not, so a follower
// whose log is truncated must fall back to the configuration before the cut. This keeps every
// configuration entry still in the log (plus the snapshot's, as the base) so that `current()`
// is always the newest at or below the log's end.
//
// Thread-safety: none; the node lane owns it.
#pragma once

#include <deque>
#include <utility>

#include "raft/configuration.h"
#include "raft/types.h"

namespace raft {

class ConfigurationManager {
 public:
  // The configuration of a snapshot (or the initial one, at index 0): everything before the
  // log, and the fallback once the log's configuration entries are truncated.
  void set_base(LogId id, ConfigurationEntry conf);
  // A configuration entry was appended at `id`. REQUIRES: id.index above every one held.
  void add(LogId id, ConfigurationEntry conf);
  // The log was cut after `last_kept`: entries above it are gone.
  void truncate_after(LogIndex last_kept);
  // The log now starts at `first_kept`: the newest entry below becomes the base.
  void truncate_before(LogIndex first_kept);

  // The newest configuration: what the replica uses now.
  const ConfigurationEntry& current() const;
  LogId current_id() const;
  // The newest configuration at or below `index`.
  const ConfigurationEntry& at(LogIndex index) const;

 private:
  std::pair<LogId, ConfigurationEntry> base_;
  // Invariant: indexes strictly increasing, all above base_.first.index.
  std::deque<std::pair<LogId, ConfigurationEntry>> entries_;
};

}  // namespace raft
