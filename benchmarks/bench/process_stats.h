// What a process used: CPU seconds (user + system, all threads), context switches and resident
// memory, read from getrusage for this process and from /proc/PID for a child.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "raft/status.h"

namespace bench {

// This process's user + system CPU time so far (getrusage(RUSAGE_SELF)).
double self_cpu_seconds();
// Process `pid`'s user + system CPU time so far: fields 14 and 15 of /proc/PID/stat.
// ENOENT if the process is gone; EIO if the file is unreadable.
raft::Result<double> process_cpu_seconds(pid_t pid);

// Context switches of every live thread of process `pid` (0: this process), voluntary (a
// thread blocked: a wait for work, a lock, the disk) plus involuntary (preempted): the sum of
// the two counters in /proc/PID/task/*/status. Threads that have exited are not counted.
// ENOENT if the process is gone.
raft::Result<uint64_t> process_context_switches(pid_t pid);

struct ResidentMemory {
  double rss_mb = 0;       // VmRSS: resident now
  double peak_rss_mb = 0;  // VmHWM: the high-water mark since the process started
};
// From /proc/PID/status (pid 0: this process). ENOENT if gone, EIO if unreadable.
raft::Result<ResidentMemory> resident_memory(pid_t pid);

}  // namespace bench
