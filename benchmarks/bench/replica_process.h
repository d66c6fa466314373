// ReplicaProcess: one `raft-bench replica ...` child of the driver (--topology processes).
//
// The child is this same binary (/proc/self/exe). Its stdin and stdout are pipes to the
// driver: the driver reads its announcements line by line ("LISTEN <port>", "READY") and
// writes it its peers ("PEERS ip:port,..."). The child stops by itself when the driver goes:
// it gets SIGKILL when the driver's thread that spawned it dies (PR_SET_PDEATHSIG), and it
// shuts down cleanly when its stdin reaches EOF, which is how stop() asks it to.
//
// Thread-safety: one thread at a time (the driver's).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "raft/status.h"

namespace bench {

class ReplicaProcess {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // Forks and execs /proc/self/exe with `args` (argv[1..]). The child's stderr is ours.
  // EIO naming the call that failed.
  static raft::Result<std::unique_ptr<ReplicaProcess>> spawn(const std::vector<std::string>& args);
  // stop() with a 10 s deadline, if not done yet.
  ~ReplicaProcess();

  ReplicaProcess(const ReplicaProcess&) = delete;
  ReplicaProcess& operator=(const ReplicaProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line the child printed, without the newline. ETIMEDOUT at the deadline; EIO if
  // the child closed its stdout (it exited) first.
  raft::Result<std::string> read_line(Deadline deadline);
  // Writes `line` and a newline to the child's stdin. EIO if the child is gone.
  raft::Status write_line(const std::string& line);

  // Closes the child's stdin and waits for it to exit until `deadline`, then kills it
  // (SIGKILL) and reaps it. OK if it exited with status 0 by itself, else EIO describing how
  // it ended. Idempotent (later calls return the first outcome).
  raft::Status stop(Deadline deadline);

 private:
  ReplicaProcess(pid_t pid, int stdin_fd, int stdout_fd);

  const pid_t pid_;
  int stdin_fd_;
  int stdout_fd_;
  std::string buffered_;  // Read from stdout_fd_, not yet returned as a line.
  bool reaped_ = false;
  raft::Status exit_status_;  // Valid once reaped_.
};

}  // namespace bench
