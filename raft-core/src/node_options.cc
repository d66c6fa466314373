#include "raft/node_options.h"

#include <string>

namespace raft {
namespace {

Status bad(const char* option, const std::string& why) {
  return Status::InvalidArgument(std::string("NodeOptions.") + option + " " + why);
}

bool is_power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

Status NodeOptions::validate() const {
  if (election_timeout_ms < 10 || election_timeout_ms > 600000) {
    return bad("election_timeout_ms",
               "must be in [10, 600000], got " + std::to_string(election_timeout_ms));
  }
  if (max_election_delay_ms < 0 || max_election_delay_ms > 600000) {
    return bad("max_election_delay_ms",
               "must be in [0, 600000], got " + std::to_string(max_election_delay_ms));
  }
  if (heartbeat_interval_ms < 1 || heartbeat_interval_ms >= election_timeout_ms) {
    return bad("heartbeat_interval_ms",
               "must be in [1, election_timeout_ms), got " + std::to_string(heartbeat_interval_ms));
  }
  if (rpc_timeout_ms < 1 || rpc_timeout_ms > 600000) {
    return bad("rpc_timeout_ms", "must be in [1, 600000], got " + std::to_string(rpc_timeout_ms));
  }
  if (fsm == nullptr) return bad("fsm", "must be set");
  if (!log_storage) return bad("log_storage", "must be set");
  if (!meta_storage) return bad("meta_storage", "must be set");
  if (!transport) return bad("transport", "must be set");
  struct RingOption {
    const char* name;
    size_t value;
  };
  for (RingOption ring : {RingOption{"apply_queue_capacity", apply_queue_capacity},
                          RingOption{"disk_queue_capacity", disk_queue_capacity},
                          RingOption{"fsm_queue_capacity", fsm_queue_capacity},
                          RingOption{"read_queue_capacity", read_queue_capacity}}) {
    if (!is_power_of_two(ring.value) || ring.value < 16 || ring.value > (size_t(1) << 24)) {
      return bad(ring.name,
                 "must be a power of two in [16, 16777216], got " + std::to_string(ring.value));
    }
  }
  struct PositiveOption {
    const char* name;
    size_t value;
  };
  for (PositiveOption limit : {PositiveOption{"apply_batch_max", apply_batch_max},
                               PositiveOption{"read_batch_max", read_batch_max},
                               PositiveOption{"fsm_batch_max_entries", fsm_batch_max_entries},
                               PositiveOption{"disk_batch_max_ops", disk_batch_max_ops},
                               PositiveOption{"max_entries_per_append", max_entries_per_append},
                               PositiveOption{"max_bytes_per_append", max_bytes_per_append},
                               PositiveOption{"max_inflight_msgs", max_inflight_msgs},
                               PositiveOption{"max_uncommitted_entries", max_uncommitted_entries},
                               PositiveOption{"max_uncommitted_bytes", max_uncommitted_bytes}}) {
    if (limit.value == 0) return bad(limit.name, "must be positive");
  }
  if (coalesce_after_inflight_msgs > max_inflight_msgs) {
    return bad("coalesce_after_inflight_msgs", "must be at most max_inflight_msgs (" +
                                                   std::to_string(max_inflight_msgs) + "), got " +
                                                   std::to_string(coalesce_after_inflight_msgs));
  }
  if (append_reorder_timeout_ms < 1 || append_reorder_timeout_ms > 600000) {
    return bad("append_reorder_timeout_ms",
               "must be in [1, 600000], got " + std::to_string(append_reorder_timeout_ms));
  }
  if (catchup_margin_entries < 0) {
    return bad("catchup_margin_entries",
               "must not be negative, got " + std::to_string(catchup_margin_entries));
  }
  if (!(leader_lease_ratio > 0.0 && leader_lease_ratio <= 1.0)) {
    return bad("leader_lease_ratio",
               "must be in (0, 1], got " + std::to_string(leader_lease_ratio));
  }
  if (max_clock_drift_ms < 0 || static_cast<double>(election_timeout_ms) * leader_lease_ratio -
                                        static_cast<double>(max_clock_drift_ms) <
                                    1.0) {
    return bad("max_clock_drift_ms",
               "must be >= 0 and leave a lease of at least 1 ms (election_timeout_ms * "
               "leader_lease_ratio - max_clock_drift_ms), got " +
                   std::to_string(max_clock_drift_ms));
  }
  if (decay_priority_gap < 1 || decay_priority_gap > Configuration::kMaxPriority) {
    return bad("decay_priority_gap", "must be in [1, " +
                                         std::to_string(Configuration::kMaxPriority) + "], got " +
                                         std::to_string(decay_priority_gap));
  }
  if (catchup_timeout_ms < 1 || catchup_timeout_ms > 86400000) {
    return bad("catchup_timeout_ms",
               "must be in [1, 86400000], got " + std::to_string(catchup_timeout_ms));
  }
  if (snapshot_interval_s < 0 || snapshot_interval_s > 10 * 365 * 86400) {
    return bad("snapshot_interval_s",
               "must be in [0, 315360000], got " + std::to_string(snapshot_interval_s));
  }
  if (snapshot_log_index_margin < 0) {
    return bad("snapshot_log_index_margin",
               "must not be negative, got " + std::to_string(snapshot_log_index_margin));
  }
  if (snapshot_log_tail_entries < 0) {
    return bad("snapshot_log_tail_entries",
               "must not be negative, got " + std::to_string(snapshot_log_tail_entries));
  }
  if (snapshot_chunk_bytes < 1 || snapshot_chunk_bytes > (size_t(64) << 20)) {
    return bad("snapshot_chunk_bytes",
               "must be in [1, 67108864], got " + std::to_string(snapshot_chunk_bytes));
  }
  if (install_snapshot_timeout_ms < rpc_timeout_ms || install_snapshot_timeout_ms > 86400000) {
    return bad("install_snapshot_timeout_ms", "must be in [rpc_timeout_ms, 86400000], got " +
                                                  std::to_string(install_snapshot_timeout_ms));
  }
  if (apply_batch_max > apply_queue_capacity) {
    return bad("apply_batch_max", "must not exceed apply_queue_capacity");
  }
  return Status::OK();
}

}  // namespace raft
