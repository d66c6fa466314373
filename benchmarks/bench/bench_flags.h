// Command-line flags of raft-bench: the driver's (`raft-bench [flags]`) and a replica
// process's (`raft-bench replica [flags]`, started by the driver in --topology processes).
//
// Parsing never exits: a bad command line is an EINVAL Status whose message names the flag, so
// that main() can print one line and exit 2 (DESIGN.md, "Failure contract").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/node_options.h"
#include "raft/read_index.h"
#include "raft/status.h"

namespace bench {

enum class Topology { kInProcess, kProcesses };
enum class Workload { kWrite, kReadIndex, kLease, kWaitFree };
enum class LogStorageKind { kRocksDB, kSegments };
// --log-preallocate: how the segment store prepares its next segment.
//   kAuto: zero-filled segments for up to kMaxPreallocatedGroups groups, except while segments
//     fill faster than FileLogStorage's default preallocate_below_bytes_per_second;
//   kAlways: zero-filled segments at any rate (preallocate_below_bytes_per_second 0);
//   kOff: every segment starts empty.
enum class LogPreallocate { kAuto, kAlways, kOff };
enum class ReadOn { kLeader, kFollowers };
// Where the clients' fibers run with --topology processes (--client-fibers).
enum class ClientFibers { kHosted, kThreads };

std::string_view topology_name(Topology topology);
std::string_view workload_name(Workload workload);
std::string_view log_storage_name(LogStorageKind kind);
std::string_view log_preallocate_name(LogPreallocate preallocate);
std::string_view read_on_name(ReadOn read_on);
std::string_view client_fibers_name(ClientFibers client_fibers);
// The ReadMode of a read workload (kSafe for kWrite, which reads nothing).
raft::ReadMode read_mode_of(Workload workload);

// What every replica of the benchmark cluster is configured with, in either topology.
struct ClusterFlags {
  // Up to this many groups per replica the segment store preallocates its segments (each
  // group costs up to two segments of zeros, 16 MiB, written when it starts).
  static constexpr int kMaxPreallocatedGroups = 16;
  // Up to this many groups the segment store writes faster than RocksDB on the development
  // machine; with more, RocksDB's one WAL sync for all groups wins (docs/benchmark-history.md).
  static constexpr int kMaxGroupsPreferringSegments = 8;

  int replicas = 3;
  int groups = 1;
  // --log-storage; without it the store that is faster for this many groups: the segment
  // store up to kMaxGroupsPreferringSegments, RocksDB above.
  LogStorageKind log_storage = LogStorageKind::kSegments;
  bool log_storage_given = false;
  // --log-preallocate (segment store only).
  LogPreallocate log_preallocate = LogPreallocate::kAuto;
  bool log_preallocate_given = false;
  bool fsync = true;
  // With --log-storage rocksdb: the groups of a replica share one WAL sync (--shared-sync
  // on, RocksDBLogStore::Options::shared_sync), or each group syncs its own writes (off).
  bool shared_sync = true;
  // 0: derived from the number of groups (election_timeout_ms()).
  int64_t election_timeout_ms_flag = 0;
  // Threads of each process's ExecutorPool; 0: one per core.
  int executor_threads = 0;
  // NodeOptions::coalesce_after_inflight_msgs of every node (0..max_inflight_msgs; 0 turns
  // holding entries back off).
  size_t coalesce_after_inflight = raft::NodeOptions().coalesce_after_inflight_msgs;
  // NodeOptions::apply_on_io_threads of every node (--apply-on-io-threads on|off).
  bool apply_on_io_threads = raft::NodeOptions().apply_on_io_threads;

  // The election timeout the nodes use: the flag if set, else longer with more groups, so
  // that the heartbeats of hundreds of groups on two cores do not starve one another into
  // elections.
  int64_t election_timeout_ms() const;
  // The capacity of each group's apply, disk, fsm and read rings: NodeOptions' 16384 for up
  // to 8 groups, less with more (at least 1024), because every ring is pre-allocated with a
  // cache line per slot (about 1 MiB per ring at 16384), which 1000 groups could not afford.
  size_t queue_capacity() const;
};

struct BenchFlags {
  static constexpr int kMinPayloadBytes = 16;
  static constexpr int kMaxPayloadBytes = 4096;
  static constexpr int kMaxClients = 10000;
  static constexpr int kMaxGroups = 1000;
  static constexpr int64_t kMaxRate = 10'000'000;

  ClusterFlags cluster;
  Topology topology = Topology::kInProcess;
  Workload workload = Workload::kWrite;
  ReadOn read_on = ReadOn::kLeader;
  int payload_bytes = 256;
  int clients = 64;
  // --rate: the operations per second the clients offer together, each on a fixed schedule
  // (ClosedLoopLoad, "Paced"); 0 (no flag): a closed loop.
  int64_t rate = 0;
  int client_threads = 1;
  // --client-fibers: with processes, run the clients' fibers on the threads that read the
  // replies (hosted) or on client threads of their own (threads).
  ClientFibers client_fibers = ClientFibers::kHosted;
  double seconds = 10;
  double warmup_seconds = 1;
  // Empty: no JSON line.
  std::string json_path;
  // The temporary data directory is made under this one.
  std::string data_parent = "/tmp";

  // 0.9 for the read workloads (9 reads to 1 write), 0 for kWrite.
  double read_fraction() const;
};

// A replica process: its place in the cluster and where its data lives.
struct ReplicaFlags {
  ClusterFlags cluster;
  int index = -1;
  std::string data_dir;
};

// `argv[1..argc)` of the driver. EINVAL naming the flag for a bad command line. `*help` is set
// (and the rest ignored) when --help is given.
raft::Result<BenchFlags> parse_bench_flags(int argc, char** argv, bool* help);
// `argv[first..argc)` of the replica subcommand.
raft::Result<ReplicaFlags> parse_replica_flags(int argc, char** argv, int first);

// The flags a driver passes to its replica processes so that they parse back into `cluster`.
std::vector<std::string> cluster_flags_for_replica(const ClusterFlags& cluster);

extern const char kUsage[];

}  // namespace bench
