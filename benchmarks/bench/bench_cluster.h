// BenchCluster: the replicas under test, in one of the two topologies (--topology):
// InProcessCluster (every replica in this process) or ProcessCluster (one replica process each,
// driven over the bench service). The driver sees only this interface.
//
// Thread-safety: target() is used by the client threads; everything else runs on the driver's
// thread.
#pragma once

#include <cstdint>
#include <vector>

#include "bench_target.h"
#include "raft/status.h"

namespace bench {

// Cumulative since the cluster started; the driver takes differences over the measured window.
struct ClusterUsage {
  // CPU time of every process involved: this one (clients included) and the replica processes.
  double cpu_seconds = 0;
  // Context switches of every thread of the same processes (process_stats.h).
  uint64_t context_switches = 0;
  // Sums over all replicas of their CountingLogStorage counters.
  uint64_t synced_writes = 0;
  uint64_t synced_entries = 0;
};

class BenchCluster {
 public:
  virtual ~BenchCluster() = default;

  virtual BenchTarget* target() = 0;
  virtual LeaderTable& leaders() = 0;
  // Asks the replicas once who leads each group and updates leaders(); groups without a known
  // leader stay as they were. EHOSTDOWN-like errors if a replica cannot be asked.
  virtual raft::Status refresh_leaders() = 0;
  virtual raft::Result<ClusterUsage> usage() = 0;
  // VmHWM of each process hosting replicas, in MB.
  virtual std::vector<double> peak_rss_mb() = 0;
  // Stops every replica (and reaps the processes). Idempotent.
  virtual void shutdown() = 0;
};

}  // namespace bench
