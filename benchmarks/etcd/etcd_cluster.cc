#include "etcd/etcd_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace bench::etcd {

namespace {

std::string peer_url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

// In the child, between fork and exec: only async-signal-safe calls (other threads may have
// held the allocator's locks at the fork), so everything it needs is prepared by the parent.
[[noreturn]] void exec_member(char* const* argv, const char* log_path, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before prctl took effect.
  if (getppid() != parent) _exit(127);
  const int log = ::open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (log >= 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
  }
  execvp(argv[0], argv);
  _exit(127);
}

}  // namespace

raft::Status EtcdCluster::start() {
  const int last_port = options_.base_port + 2 * options_.members - 1;
  if (options_.base_port < 1024 || last_port > 32767) {
    return raft::Status::InvalidArgument("--base-port: ports " +
                                         std::to_string(options_.base_port) + ".." +
                                         std::to_string(last_port) + " leave [1024, 32767]");
  }
  std::string pattern = options_.temp_parent + "/etcd-bench.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return raft::Status::IoError("cannot create a directory from " + pattern + ": " +
                                 std::strerror(errno));
  }
  work_dir_ = pattern;
  std::string initial_cluster;
  for (int i = 0; i < options_.members; ++i) {
    if (i > 0) initial_cluster += ",";
    initial_cluster += member_name(i) + "=" + peer_url(client_port(i) + 1);
  }
  const pid_t self = getpid();
  for (int i = 0; i < options_.members; ++i) {
    const std::string client = peer_url(client_port(i));
    const std::string peer = peer_url(client_port(i) + 1);
    const std::vector<std::string> args = {
        options_.etcd_binary,
        "--name=" + member_name(i),
        "--data-dir=" + work_dir_ + "/" + member_name(i),
        "--listen-client-urls=" + client,
        "--advertise-client-urls=" + client,
        "--listen-peer-urls=" + peer,
        "--initial-advertise-peer-urls=" + peer,
        "--initial-cluster=" + initial_cluster,
        "--initial-cluster-state=new",
        "--initial-cluster-token=etcd-bench-" + std::to_string(self),
        "--quota-backend-bytes=" + std::to_string(options_.quota_backend_bytes),
        "--logger=zap",
        "--log-level=warn",
    };
    const std::string log_path = work_dir_ + "/" + member_name(i) + ".log";
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      return raft::Status::IoError(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) exec_member(argv.data(), log_path.c_str(), self);
    pids_.push_back(pid);
  }
  return raft::Status::OK();
}

bool EtcdCluster::exited(int i) {
  if (pids_[i] == 0) return true;
  int status = 0;
  if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
    pids_[i] = 0;
    return true;
  }
  return false;
}

void EtcdCluster::stop() {
  for (pid_t pid : pids_) {
    if (pid != 0) kill(pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (size_t i = 0; i < pids_.size(); ++i) {
    while (!exited(static_cast<int>(i)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pids_[i] != 0) {
      kill(pids_[i], SIGKILL);
      waitpid(pids_[i], nullptr, 0);
      pids_[i] = 0;
    }
  }
  pids_.clear();
  if (!work_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(work_dir_, ignored);
    work_dir_.clear();
  }
}

std::string EtcdCluster::log_tail(int i) const {
  std::ifstream log(work_dir_ + "/" + member_name(i) + ".log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) {
    lines.push_back(line);
    if (lines.size() > 5) lines.erase(lines.begin());
  }
  std::string tail;
  for (const std::string& line : lines) tail += "  " + line + "\n";
  return tail;
}

std::vector<ProcessSample> EtcdCluster::sample() const {
  static const double ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page_mb = static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
  std::vector<ProcessSample> samples;
  for (pid_t pid : pids_) {
    ProcessSample sample;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold blanks; fields count from after
    // its closing parenthesis: state is field 3, utime 14, stime 15, rss 24.
    const size_t close = text.rfind(')');
    if (pid != 0 && close != std::string::npos) {
      std::istringstream fields(text.substr(close + 2));
      std::vector<std::string> field(23);
      for (std::string& f : field) fields >> f;
      sample.cpu_s = (std::atof(field[11].c_str()) + std::atof(field[12].c_str())) / ticks_per_s;
      sample.rss_mb = std::atof(field[21].c_str()) * page_mb;
    }
    samples.push_back(sample);
  }
  return samples;
}

}  // namespace bench::etcd
