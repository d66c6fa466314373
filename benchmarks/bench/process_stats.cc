#include "process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bench {
namespace {

double seconds_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::string proc_path(pid_t pid, const char* file) {
  return "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/" + file;
}

}  // namespace

double self_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
}

raft::Result<double> process_cpu_seconds(pid_t pid) {
  const std::string path = proc_path(pid, "stat");
  std::ifstream in(path);
  if (!in) return raft::Status::NotFound(path + " cannot be opened (process gone?)");
  std::string line;
  std::getline(in, line);
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return raft::Status::IoError(path + ": no ')' in " + line);
  std::istringstream fields(line.substr(name_end + 1));
  std::string field;
  // After the name: field 3 (state) .. field 13 are skipped, 14 utime, 15 stime.
  for (int i = 3; i <= 13; ++i) fields >> field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime)) return raft::Status::IoError(path + ": cannot parse " + line);
  const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(utime + stime) / ticks_per_s;
}

raft::Result<uint64_t> process_context_switches(pid_t pid) {
  const std::string tasks = proc_path(pid, "task");
  std::error_code error;
  std::filesystem::directory_iterator threads(tasks, error);
  if (error) return raft::Status::NotFound(tasks + " cannot be listed (process gone?)");
  uint64_t switches = 0;
  for (const std::filesystem::directory_entry& thread : threads) {
    // A thread that exits meanwhile has no status any more; it is simply not counted.
    std::ifstream in(thread.path() / "status");
    std::string key;
    while (in >> key) {
      uint64_t count = 0;
      if ((key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") &&
          (in >> count)) {
        switches += count;
      }
      in.ignore(1 << 20, '\n');
    }
  }
  return switches;
}

raft::Result<ResidentMemory> resident_memory(pid_t pid) {
  const std::string path = proc_path(pid, "status");
  std::ifstream in(path);
  if (!in) return raft::Status::NotFound(path + " cannot be opened (process gone?)");
  ResidentMemory memory;
  bool found_rss = false;
  std::string key;
  while (in >> key) {
    double kib = 0;
    if (key == "VmRSS:" && (in >> kib)) {
      memory.rss_mb = kib / 1024.0;
      found_rss = true;
    } else if (key == "VmHWM:" && (in >> kib)) {
      memory.peak_rss_mb = kib / 1024.0;
    }
    in.ignore(1 << 20, '\n');
  }
  if (!found_rss) return raft::Status::IoError(path + " has no VmRSS line");
  return memory;
}

}  // namespace bench
