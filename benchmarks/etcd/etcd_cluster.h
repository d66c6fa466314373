// EtcdCluster: a local etcd cluster of N members on 127.0.0.1 for benchmarking, started as
// child processes and removed again.
//
// Member i listens for clients on base_port + 2i and for peers on base_port + 2i + 1, keeps
// its data in <work_dir>/member-i and logs to <work_dir>/member-i.log. etcd runs with its
// default fsync behaviour (every WAL write synced) and the given backend quota.
//
// Ownership and cleanup: the cluster owns its processes and its work directory. stop() (also
// run by the destructor) sends SIGTERM, waits up to 10 s, then SIGKILLs, and removes the work
// directory. Children are also told to die with this process (PR_SET_PDEATHSIG), so a killed
// benchmark leaves no etcd behind; they run in their own process group, so a Ctrl-C reaches the
// benchmark only, which then stops them itself.
//
// Thread-safety: not thread-safe; one thread starts, samples and stops the cluster.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "raft/status.h"

namespace bench::etcd {

struct EtcdClusterOptions {
  std::string etcd_binary = "etcd";
  int members = 3;
  int base_port = 17300;
  int64_t quota_backend_bytes = int64_t{4} << 30;
  // The parent of the work directory (a fresh mkdtemp directory is made inside).
  std::string temp_parent = "/tmp";
};

// CPU time and resident memory of one process, from /proc.
struct ProcessSample {
  double cpu_s = 0;  // utime + stime
  double rss_mb = 0;
};

class EtcdCluster {
 public:
  explicit EtcdCluster(EtcdClusterOptions options) : options_(std::move(options)) {}
  ~EtcdCluster() { stop(); }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Makes the work directory and starts every member. EINVAL if a port is outside
  // [1024, 32767]; EIO if a directory or a process cannot be made.
  raft::Status start();

  // Stops the members and removes the work directory; idempotent.
  void stop();

  // True if member `i` has exited (e.g. its port was taken); reaps it.
  bool exited(int i);

  int client_port(int i) const { return options_.base_port + 2 * i; }
  int members() const { return options_.members; }
  const std::string& work_dir() const { return work_dir_; }
  // The last lines of member `i`'s log, for error messages.
  std::string log_tail(int i) const;

  // REQUIRES: started. One sample per member, in member order; zeros for a member whose
  // /proc entry cannot be read.
  std::vector<ProcessSample> sample() const;

 private:
  std::string member_name(int i) const { return "member-" + std::to_string(i); }

  const EtcdClusterOptions options_;
  std::string work_dir_;
  std::vector<pid_t> pids_;  // 0 once reaped.
};

}  // namespace bench::etcd
