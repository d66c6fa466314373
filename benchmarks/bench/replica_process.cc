#include "replica_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace bench {
namespace {

raft::Status errno_status(const std::string& what) {
  return raft::Status::IoError(what + ": " + std::strerror(errno));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

ReplicaProcess::ReplicaProcess(pid_t pid, int stdin_fd, int stdout_fd)
    : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {}

ReplicaProcess::~ReplicaProcess() {
  (void)stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

raft::Result<std::unique_ptr<ReplicaProcess>> ReplicaProcess::spawn(
    const std::vector<std::string>& args) {
  // Everything the child needs is prepared before fork: after it, in a multithreaded parent,
  // the child may only make async-signal-safe calls until exec.
  std::vector<std::string> argv_storage = {"raft-bench"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return errno_status("pipe");
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return errno_status("pipe");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return errno_status("fork");
  if (pid == 0) {
    // The child: die with the parent, even if the parent is killed with SIGKILL. If the parent
    // died before prctl took effect, the check after it notices.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);
    // dup2 clears O_CLOEXEC on the copies.
    if (::dup2(to_child[0], STDIN_FILENO) < 0 || ::dup2(from_child[1], STDOUT_FILENO) < 0) {
      ::_exit(126);
    }
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  return std::unique_ptr<ReplicaProcess>(new ReplicaProcess(pid, to_child[1], from_child[0]));
}

raft::Result<std::string> ReplicaProcess::read_line(Deadline deadline) {
  for (;;) {
    if (size_t newline = buffered_.find('\n'); newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return raft::Status::TimedOut("replica process " + std::to_string(pid_) +
                                    " printed no line in time");
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return errno_status("poll");
    if (ready <= 0) continue;
    char chunk[512];
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return raft::Status::IoError("replica process " + std::to_string(pid_) +
                                   " closed its output (it exited; see its messages above)");
    }
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

raft::Status ReplicaProcess::write_line(const std::string& line) {
  const std::string data = line + "\n";
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(stdin_fd_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("writing to replica process " + std::to_string(pid_));
    written += static_cast<size_t>(n);
  }
  return raft::Status::OK();
}

raft::Status ReplicaProcess::stop(Deadline deadline) {
  if (reaped_) return exit_status_;
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
  int status = 0;
  pid_t waited = 0;
  // Polled: a child that does not exit in time is killed, so this cannot hang.
  while ((waited = ::waitpid(pid_, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bool killed = false;
  if (waited == 0) {
    ::kill(pid_, SIGKILL);
    killed = true;
    waited = ::waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  reaped_ = true;
  if (waited < 0) {
    exit_status_ = errno_status("waiting for replica process " + std::to_string(pid_));
  } else if (killed) {
    exit_status_ = raft::Status::IoError("replica process " + std::to_string(pid_) +
                                         " did not stop in time and was killed");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    exit_status_ = raft::Status::IoError("replica process " + std::to_string(pid_) + " " +
                                         describe_wait_status(status));
  }
  return exit_status_;
}

}  // namespace bench
