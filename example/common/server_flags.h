// ServerFlags: the flags every example replica (counter-server, atomic-server) takes, parsed
// and checked.
//
//   --group NAME --peer IP:PORT (--conf IP:PORT,IP:PORT,... | --join) --data DIR
//   [--election-timeout-ms N] [--snapshot-interval-s N] [--snapshot-log-index-margin N]
//   [--log-storage rocksdb|segments] [--log-segment-max-bytes N]
//   [--read index|lease|wait-free|log] [--max-clock-drift-ms N] [--leader-lease-ratio R]
//   [--clock-rate R] [--inject-disk-eio-on-signal]
//
// --read says how the service answers its reads (service_reads.h). --max-clock-drift-ms and
// --leader-lease-ratio are NodeOptions' lease parameters (docs/reads.md): a leader's lease is
// election_timeout_ms * ratio - drift, which must stay positive. --clock-rate is a TEST HOOK
// only (raft/rate_scaled_runtime.h): the replica's clock and timers run R times as fast as
// real time, 0 < R <= 100, to show what clock drift does to lease reads (docs/jepsen.md).
//
// --inject-disk-eio-on-signal is a TEST HOOK for fault injection (jepsen's disk-eio nemesis),
// never for production: the log and the Raft meta storage are wrapped in fault-injecting
// decorators (raft/storage/fault_injecting_log_storage.h), and SIGUSR2 arms them: from then on
// every log write, log read, prefix truncation and term/vote write fails with EIO "injected
// disk fault", as on a dying disk. The process never recovers by itself; a restart (on the
// intact data) does.
//
// --join starts a replica that is not in any configuration yet: it waits, without campaigning,
// for a leader to add it (raft-cli add-peer or add-learners, docs/operations.md). --conf and
// --join exclude each other: a joining replica learns its configuration from the leader. Once
// the log (or a snapshot) holds a configuration, both are ignored on restart.
//
// Flags may also be written --flag=value. A program with flags of its own parses them with the
// same FlagParser (server_flag_names() plus its own) and checks them before calling
// parse_server_flags(), which creates the data directory. Thread-safety: a value.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flag_parser.h"
#include "raft/configuration.h"
#include "raft/peer_id.h"
#include "raft/status.h"

namespace example {

// Where a replica keeps its log: DIR/log as a RocksDB database (RocksDBLogStore), or
// DIR/log-segments as segment files (FileLogStorage), which frees disk by removing whole
// segments once a snapshot covers them.
enum class LogStorageKind { kRocksDB, kSegments };
// Where each store keeps a replica's log, under its --data directory.
inline constexpr std::string_view kRocksDBLogDir = "log";
inline constexpr std::string_view kSegmentLogDir = "log-segments";

// How a replica answers its service's reads (--read; service_reads.h says what each means).
enum class ServiceReadMode { kLog, kIndex, kLease, kWaitFree };

// "log", "index", "lease", "wait-free"; EINVAL naming --read and the modes otherwise.
raft::Result<ServiceReadMode> parse_service_read_mode(std::string_view text);
std::string_view service_read_mode_name(ServiceReadMode mode);

struct ServerFlags {
  std::string group;
  raft::PeerId peer;
  // Invariant: contains peer, or is empty iff join.
  raft::Configuration conf;
  bool join = false;     // --join: start outside any configuration, wait to be added.
  std::string data_dir;  // Invariant: exists and is writable.
  int64_t election_timeout_ms = 1000;
  // NodeOptions.snapshot_interval_s (0: no timer) and snapshot_log_index_margin (0: off).
  int64_t snapshot_interval_s = 3600;
  int64_t snapshot_log_index_margin = 0;
  // NodeOptions.coalesce_after_inflight_msgs (0: never hold entries back); at most
  // NodeOptions' max_inflight_msgs. -1 until parsed: NodeOptions' default.
  int64_t coalesce_after_inflight = -1;
  // TcpTransportOptions.io_threads: the threads that run the replica's network IO and RPC
  // handlers. 0 until parsed: the transport's default (one per core).
  static constexpr int64_t kMaxRpcIoThreads = 64;
  int64_t rpc_io_threads = 0;
  // --log-storage, or when it is not given the store the data directory already holds a log
  // in (kRocksDBLogDir or kSegmentLogDir), or the segment store for a new directory.
  LogStorageKind log_storage = LogStorageKind::kSegments;
  // FileLogStorage::Options.segment_max_bytes; used with kSegments only. The bounds are
  // FileLogStorage's (replica_server.cc checks that they agree), repeated here so that the
  // clients, which share this library, need not link raft-storage.
  static constexpr int64_t kMinLogSegmentBytes = int64_t{1} << 10;
  static constexpr int64_t kMaxLogSegmentBytes = int64_t{1} << 30;
  int64_t log_segment_max_bytes = int64_t{8} << 20;
  // FileLogStorage::Options.preallocate_segments; --no-log-preallocate turns it off (for many
  // groups per disk, each of which holds up to two segments of zeros ahead of its records).
  bool log_preallocate = true;
  // --inject-disk-eio-on-signal (TEST HOOK): SIGUSR2 makes the storage fail with EIO.
  bool inject_disk_eio_on_signal = false;
  ServiceReadMode read = ServiceReadMode::kIndex;
  // NodeOptions.max_clock_drift_ms and leader_lease_ratio.
  // Invariant: election_timeout_ms * leader_lease_ratio - max_clock_drift_ms >= 1.
  int64_t max_clock_drift_ms = 100;
  double leader_lease_ratio = 0.9;
  // TEST HOOK: the rate of the replica's clock and timers, real time = 1.
  // Invariant: 0 < clock_rate <= kMaxClockRate.
  static constexpr double kMaxClockRate = 100.0;
  double clock_rate = 1.0;
  bool help = false;  // --help: print usage and exit; nothing else is set.

  static constexpr const char* kUsage =
      "--group NAME --peer IP:PORT (--conf IP:PORT,IP:PORT,... | --join) --data DIR "
      "[--election-timeout-ms N] [--snapshot-interval-s N] [--snapshot-log-index-margin N] "
      "[--coalesce-after-inflight N] [--rpc-io-threads N] "
      "[--log-storage rocksdb|segments] [--log-segment-max-bytes N] [--no-log-preallocate] "
      "[--read index|lease|wait-free|log] [--max-clock-drift-ms N] [--leader-lease-ratio R] "
      "[--clock-rate R (test hook)] [--inject-disk-eio-on-signal]";
};

// "usage: PROGRAM" and the replica flags, for a program that takes exactly these.
std::string server_usage(std::string_view program);

// The flags parse_server_flags() reads, "--help" and "--join" included, and the switches among
// them (which take no value).
std::set<std::string> server_flag_names();
std::set<std::string> server_flag_switches();

// Reads the replica flags from `parser` (already parsed). EINVAL naming the offending flag for
// a missing or malformed flag, a positional argument, a peer that is not in --conf, or a --data
// directory that cannot be created or written, or --conf together with --join (the directory is
// created if missing, and probed with a file). With --help, returns flags with only `help` set.
raft::Result<ServerFlags> parse_server_flags(const FlagParser& parser);

// Parses `args` (without the program name), accepting only the replica flags. EINVAL naming the
// flag as above, or for an unknown or repeated flag.
raft::Result<ServerFlags> parse_server_flags(const std::vector<std::string>& args);

}  // namespace example
