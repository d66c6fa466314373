#include "bench_flags.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "raft/node_options.h"

namespace bench {
namespace {

using raft::Status;

template <typename Enum>
struct Named {
  Enum value;
  std::string_view name;
};

constexpr Named<Topology> kTopologies[] = {{Topology::kInProcess, "in-process"},
                                           {Topology::kProcesses, "processes"}};
constexpr Named<Workload> kWorkloads[] = {{Workload::kWrite, "write"},
                                          {Workload::kReadIndex, "read-index"},
                                          {Workload::kLease, "lease"},
                                          {Workload::kWaitFree, "wait-free"}};
constexpr Named<LogStorageKind> kLogStorages[] = {{LogStorageKind::kRocksDB, "rocksdb"},
                                                  {LogStorageKind::kSegments, "segments"}};
constexpr Named<LogPreallocate> kLogPreallocates[] = {{LogPreallocate::kAuto, "auto"},
                                                      {LogPreallocate::kAlways, "always"},
                                                      {LogPreallocate::kOff, "off"}};
constexpr Named<ReadOn> kReadOns[] = {{ReadOn::kLeader, "leader"},
                                      {ReadOn::kFollowers, "followers"}};
constexpr Named<ClientFibers> kClientFibers[] = {{ClientFibers::kHosted, "hosted"},
                                                 {ClientFibers::kThreads, "threads"}};

template <typename Enum, size_t N>
std::string_view name_of(const Named<Enum> (&table)[N], Enum value) {
  for (const Named<Enum>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <typename Enum, size_t N>
Status parse_enum(const Named<Enum> (&table)[N], std::string_view flag, std::string_view text,
                  Enum* out) {
  std::string choices;
  for (const Named<Enum>& entry : table) {
    if (entry.name == text) {
      *out = entry.value;
      return Status::OK();
    }
    choices += (choices.empty() ? "" : ", ") + std::string(entry.name);
  }
  return Status::InvalidArgument(std::string(flag) + ": '" + std::string(text) +
                                 "' is not one of " + choices);
}

Status parse_int(std::string_view flag, const std::string& text, int64_t min, int64_t max,
                 int64_t* out) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max) {
    return Status::InvalidArgument(std::string(flag) + " must be an integer in [" +
                                   std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                   text + "'");
  }
  *out = value;
  return Status::OK();
}

template <typename Int>
Status parse_int_into(std::string_view flag, const std::string& text, int64_t min, int64_t max,
                      Int* out) {
  int64_t value = 0;
  Status s = parse_int(flag, text, min, max, &value);
  if (s.ok()) *out = static_cast<Int>(value);
  return s;
}

Status parse_seconds(std::string_view flag, const std::string& text, double min, double* out) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value) || value < min || value > 86400) {
    return Status::InvalidArgument(std::string(flag) + " must be a number of seconds in [" +
                                   std::to_string(min).substr(0, 3) + ", 86400], got '" + text +
                                   "'");
  }
  *out = value;
  return Status::OK();
}

// A flag that takes a value, and what to do with it.
using ValueHandler = std::function<Status(const std::string& value)>;

// Adds the flags shared by the driver and the replicas to `handlers`.
void add_cluster_flags(ClusterFlags* cluster, std::map<std::string, ValueHandler>* handlers) {
  auto replicas = [cluster](const std::string& v) {
    return parse_int_into("--replicas", v, 1, 9, &cluster->replicas);
  };
  (*handlers)["--replicas"] = replicas;
  (*handlers)["--nodes"] = replicas;  // The name before --topology existed.
  (*handlers)["--groups"] = [cluster](const std::string& v) {
    return parse_int_into("--groups", v, 1, BenchFlags::kMaxGroups, &cluster->groups);
  };
  (*handlers)["--log-storage"] = [cluster](const std::string& v) {
    cluster->log_storage_given = true;
    return parse_enum(kLogStorages, "--log-storage", v, &cluster->log_storage);
  };
  (*handlers)["--log-preallocate"] = [cluster](const std::string& v) {
    cluster->log_preallocate_given = true;
    return parse_enum(kLogPreallocates, "--log-preallocate", v, &cluster->log_preallocate);
  };
  (*handlers)["--shared-sync"] = [cluster](const std::string& v) {
    if (v != "on" && v != "off") {
      return Status::InvalidArgument("--shared-sync must be on or off, got '" + v + "'");
    }
    cluster->shared_sync = v == "on";
    return Status::OK();
  };
  (*handlers)["--apply-on-io-threads"] = [cluster](const std::string& v) {
    if (v != "on" && v != "off") {
      return Status::InvalidArgument("--apply-on-io-threads must be on or off, got '" + v + "'");
    }
    cluster->apply_on_io_threads = v == "on";
    return Status::OK();
  };
  (*handlers)["--coalesce-after-inflight"] = [cluster](const std::string& v) {
    return parse_int_into("--coalesce-after-inflight", v, 0,
                          static_cast<int64_t>(raft::NodeOptions().max_inflight_msgs),
                          &cluster->coalesce_after_inflight);
  };
  (*handlers)["--executor-threads"] = [cluster](const std::string& v) {
    return parse_int_into("--executor-threads", v, 0, 256, &cluster->executor_threads);
  };
  (*handlers)["--election-timeout-ms"] = [cluster](const std::string& v) {
    return parse_int_into("--election-timeout-ms", v, 150, 60000,
                          &cluster->election_timeout_ms_flag);
  };
}

// Walks argv[first..argc): switches in `switches`, the others take one value each.
Status parse_args(int argc, char** argv, int first,
                  const std::map<std::string, ValueHandler>& handlers,
                  const std::map<std::string, std::function<void()>>& switches) {
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i];
    if (auto sw = switches.find(flag); sw != switches.end()) {
      sw->second();
      continue;
    }
    auto handler = handlers.find(flag);
    if (handler == handlers.end()) {
      return Status::InvalidArgument("unknown flag '" + flag + "' (see --help)");
    }
    if (i + 1 >= argc) return Status::InvalidArgument(flag + " needs a value");
    if (Status s = handler->second(argv[++i]); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

const char kUsage[] =
    "usage: raft-bench [--topology in-process|processes] [--replicas 3] [--groups 1]\n"
    "                  [--workload write|read-index|lease|wait-free] [--read-on leader|followers]\n"
    "                  [--clients 64] [--client-threads 1] [--client-fibers hosted|threads]\n"
    "                  [--payload-bytes 256] [--rate OPS_PER_S]\n"
    "                  [--seconds 10] [--warmup-seconds 1] [--log-storage segments|rocksdb]\n"
    "                  [--log-preallocate auto|always|off]\n"
    "                  [--no-fsync] [--shared-sync on|off] [--election-timeout-ms N]\n"
    "                  [--executor-threads N] [--coalesce-after-inflight N]\n"
    "                  [--apply-on-io-threads on|off]\n"
    "                  [--data DIR] [--json PATH]\n"
    "See docs/benchmarks.md for what each flag and each number means.\n";

std::string_view topology_name(Topology topology) { return name_of(kTopologies, topology); }
std::string_view workload_name(Workload workload) { return name_of(kWorkloads, workload); }
std::string_view log_storage_name(LogStorageKind kind) { return name_of(kLogStorages, kind); }
std::string_view log_preallocate_name(LogPreallocate preallocate) {
  return name_of(kLogPreallocates, preallocate);
}
std::string_view read_on_name(ReadOn read_on) { return name_of(kReadOns, read_on); }
std::string_view client_fibers_name(ClientFibers client_fibers) {
  return name_of(kClientFibers, client_fibers);
}

raft::ReadMode read_mode_of(Workload workload) {
  switch (workload) {
    case Workload::kLease:
      return raft::ReadMode::kLease;
    case Workload::kWaitFree:
      return raft::ReadMode::kWaitFree;
    default:
      return raft::ReadMode::kSafe;
  }
}

int64_t ClusterFlags::election_timeout_ms() const {
  if (election_timeout_ms_flag > 0) return election_timeout_ms_flag;
  if (groups == 1) return 500;
  // 1 s for a few groups, growing to 5 s at 1000 groups.
  return std::min<int64_t>(5000, 1000 + 4 * static_cast<int64_t>(groups));
}

size_t ClusterFlags::queue_capacity() const {
  size_t capacity = 16384;
  while (capacity > 1024 && capacity * static_cast<size_t>(groups) > 16384 * 8) capacity /= 2;
  return capacity;
}

double BenchFlags::read_fraction() const { return workload == Workload::kWrite ? 0.0 : 0.9; }

raft::Result<BenchFlags> parse_bench_flags(int argc, char** argv, bool* help) {
  BenchFlags flags;
  *help = false;
  std::map<std::string, ValueHandler> handlers;
  add_cluster_flags(&flags.cluster, &handlers);
  handlers["--topology"] = [&](const std::string& v) {
    return parse_enum(kTopologies, "--topology", v, &flags.topology);
  };
  handlers["--workload"] = [&](const std::string& v) {
    return parse_enum(kWorkloads, "--workload", v, &flags.workload);
  };
  handlers["--read-on"] = [&](const std::string& v) {
    return parse_enum(kReadOns, "--read-on", v, &flags.read_on);
  };
  handlers["--payload-bytes"] = [&](const std::string& v) {
    return parse_int_into("--payload-bytes", v, BenchFlags::kMinPayloadBytes,
                          BenchFlags::kMaxPayloadBytes, &flags.payload_bytes);
  };
  handlers["--clients"] = [&](const std::string& v) {
    return parse_int_into("--clients", v, 1, BenchFlags::kMaxClients, &flags.clients);
  };
  handlers["--rate"] = [&](const std::string& v) {
    return parse_int_into("--rate", v, 1, BenchFlags::kMaxRate, &flags.rate);
  };
  handlers["--client-threads"] = [&](const std::string& v) {
    return parse_int_into("--client-threads", v, 1, 64, &flags.client_threads);
  };
  handlers["--client-fibers"] = [&](const std::string& v) {
    return parse_enum(kClientFibers, "--client-fibers", v, &flags.client_fibers);
  };
  handlers["--seconds"] = [&](const std::string& v) {
    return parse_seconds("--seconds", v, 0.1, &flags.seconds);
  };
  handlers["--warmup-seconds"] = [&](const std::string& v) {
    return parse_seconds("--warmup-seconds", v, 0, &flags.warmup_seconds);
  };
  handlers["--json"] = [&](const std::string& v) {
    if (v.empty()) return Status::InvalidArgument("--json needs a file path");
    flags.json_path = v;
    return Status::OK();
  };
  handlers["--data"] = [&](const std::string& v) {
    if (v.empty()) return Status::InvalidArgument("--data needs a directory");
    flags.data_parent = v;
    return Status::OK();
  };
  const std::map<std::string, std::function<void()>> switches = {
      {"--no-fsync", [&] { flags.cluster.fsync = false; }},
      {"--help", [&] { *help = true; }},
      {"-h", [&] { *help = true; }}};
  if (Status s = parse_args(argc, argv, 1, handlers, switches); !s.ok()) return s;
  if (!flags.cluster.log_storage_given) {
    flags.cluster.log_storage = flags.cluster.groups <= ClusterFlags::kMaxGroupsPreferringSegments
                                    ? LogStorageKind::kSegments
                                    : LogStorageKind::kRocksDB;
  }
  if (flags.cluster.log_preallocate_given &&
      flags.cluster.log_storage != LogStorageKind::kSegments) {
    return Status::InvalidArgument(
        "--log-preallocate applies to --log-storage segments only (the store for this many "
        "groups is " +
        std::string(log_storage_name(flags.cluster.log_storage)) + ")");
  }
  if (flags.read_on == ReadOn::kFollowers && flags.cluster.replicas == 1) {
    return Status::InvalidArgument("--read-on followers needs --replicas 2 or more");
  }
  if (flags.read_on == ReadOn::kFollowers && flags.workload == Workload::kWrite) {
    return Status::InvalidArgument("--read-on followers needs a read --workload");
  }
  if (flags.clients < flags.client_threads) {
    return Status::InvalidArgument("--client-threads must not exceed --clients");
  }
  return flags;
}

raft::Result<ReplicaFlags> parse_replica_flags(int argc, char** argv, int first) {
  ReplicaFlags flags;
  std::map<std::string, ValueHandler> handlers;
  add_cluster_flags(&flags.cluster, &handlers);
  handlers["--index"] = [&](const std::string& v) {
    return parse_int_into("--index", v, 0, 8, &flags.index);
  };
  handlers["--data"] = [&](const std::string& v) {
    flags.data_dir = v;
    return Status::OK();
  };
  const std::map<std::string, std::function<void()>> switches = {
      {"--no-fsync", [&] { flags.cluster.fsync = false; }}};
  if (Status s = parse_args(argc, argv, first, handlers, switches); !s.ok()) return s;
  if (flags.index < 0 || flags.index >= flags.cluster.replicas) {
    return Status::InvalidArgument("--index must be given and below --replicas");
  }
  if (flags.data_dir.empty()) return Status::InvalidArgument("--data must be given");
  return flags;
}

std::vector<std::string> cluster_flags_for_replica(const ClusterFlags& cluster) {
  std::vector<std::string> args = {"--replicas",
                                   std::to_string(cluster.replicas),
                                   "--groups",
                                   std::to_string(cluster.groups),
                                   "--log-storage",
                                   std::string(log_storage_name(cluster.log_storage)),
                                   "--election-timeout-ms",
                                   std::to_string(cluster.election_timeout_ms()),
                                   "--executor-threads",
                                   std::to_string(cluster.executor_threads),
                                   "--coalesce-after-inflight",
                                   std::to_string(cluster.coalesce_after_inflight),
                                   "--shared-sync",
                                   cluster.shared_sync ? "on" : "off",
                                   "--apply-on-io-threads",
                                   cluster.apply_on_io_threads ? "on" : "off",
                                   "--log-preallocate",
                                   std::string(log_preallocate_name(cluster.log_preallocate))};
  if (!cluster.fsync) args.push_back("--no-fsync");
  return args;
}

}  // namespace bench
