// BenchTarget: what a benchmark client talks to — the cluster's groups, in one process
// (Node calls) or in replica processes (the bench service over RpcClient) — and LeaderTable,
// which group each one's leader is on.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/status.h"

namespace bench {

// Thread-safety: write() and read() from any thread, concurrently.
class BenchTarget {
 public:
  // Runs exactly once, on any thread (possibly inline), with the outcome of one operation.
  // Must not block.
  using Done = std::function<void(const raft::Status&)>;

  virtual ~BenchTarget() = default;
  // Replicates `payload` in `group`; OK once applied on the group's leader.
  virtual void write(int group, const std::string& payload, Done done) = 0;
  // A linearizable read of `group` (the mode and replica were chosen when the target was
  // made); `sequence` spreads follower reads over the followers.
  virtual void read(int group, uint64_t sequence, Done done) = 0;
  // The IO pool whose threads complete this target's operations, if they all complete there
  // (replies read off sockets), else null. The load then hosts its client fibers on that pool
  // (FiberThreads), so that a reply resumes its client on the thread that read it instead of
  // waking a client thread. REQUIRES of the pool: it runs while the load does.
  virtual raft::rpc::IoContextPool* reply_host() { return nullptr; }
};

// Which replica leads each group, as last seen. Clients use it without locks; the driver
// refreshes it when an operation reported that it went to a replica that was not the leader.
//
// Thread-safety: every method from any thread.
class LeaderTable {
 public:
  LeaderTable(int groups, int replicas);

  // The replica last seen leading `group`, or -1.
  int leader(int group) const;
  void set_leader(int group, int replica);
  // Where the `sequence`-th read of `group` goes: its leader, or with kFollowers one of the
  // other replicas in turn; -1 while no leader is known. REQUIRES for kFollowers:
  // replicas() >= 2.
  int read_replica(int group, uint64_t sequence, ReadOn read_on) const;

  int replicas() const { return replicas_; }
  int groups() const { return static_cast<int>(leaders_.size()); }
  bool all_known() const;

  // Called with an operation's status: EPERM (not the leader) marks the table stale.
  void note(const raft::Status& status);
  // True (and cleared) if something was marked stale since the last call.
  bool take_stale() { return stale_.exchange(false, std::memory_order_acq_rel); }

 private:
  const int replicas_;
  std::vector<std::atomic<int>> leaders_;
  std::atomic<bool> stale_{false};
};

}  // namespace bench
