#include "server_flags.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <system_error>

#include "flag_parser.h"
#include "raft/node_options.h"
#include "raft/rpc/tcp_transport.h"

namespace example {
namespace {

raft::Status bad(const std::string& flag, const std::string& why) {
  return raft::Status::InvalidArgument(flag + ": " + why);
}

// Creates `dir` if missing and proves it writable by creating and removing a file in it, which
// also catches read-only mounts and permission bits that access() would not (e.g. as root).
raft::Status prepare_data_dir(const std::string& dir) {
  if (dir.empty()) return bad("--data", "must not be empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return bad("--data", "cannot create directory '" + dir + "': " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return bad("--data", "'" + dir + "' is not a directory");
  }
  const std::string probe = dir + "/.write-probe." + std::to_string(::getpid());
  // The reason matters: a full disk (ENOSPC) needs room made, a read-only mount another
  // directory.
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return bad("--data", "directory '" + dir + "' is not writable: " + std::strerror(errno));
  }
  errno = 0;
  const bool wrote = ::write(fd, "probe", 5) == 5;
  const int write_error = errno;
  ::close(fd);
  if (!wrote) {
    std::filesystem::remove(probe, ec);
    return bad("--data", "directory '" + dir + "' is not writable: " +
                             (write_error != 0 ? std::strerror(write_error) : "short write"));
  }
  std::filesystem::remove(probe, ec);
  if (ec) return bad("--data", "directory '" + dir + "' is not writable: " + ec.message());
  return raft::Status::OK();
}

struct ModeName {
  ServiceReadMode mode;
  std::string_view name;
};
constexpr ModeName kModes[] = {{ServiceReadMode::kIndex, "index"},
                               {ServiceReadMode::kLease, "lease"},
                               {ServiceReadMode::kWaitFree, "wait-free"},
                               {ServiceReadMode::kLog, "log"}};

// The value of `flag` as a number in (min_exclusive, max], `fallback` if not given.
raft::Result<double> fraction(const FlagParser& parser, const std::string& flag, double fallback,
                              double min_exclusive, double max) {
  std::optional<std::string> text = parser.get(flag);
  if (!text) return fallback;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || errno != 0 || !std::isfinite(value)) {
    return bad(flag, "'" + *text + "' is not a number");
  }
  if (!(value > min_exclusive && value <= max)) {
    return bad(flag, "'" + *text + "' is not in (" + std::to_string(min_exclusive) + ", " +
                         std::to_string(max) + "]");
  }
  return value;
}

// --read, --leader-lease-ratio, --max-clock-drift-ms and --clock-rate, into `flags`.
// REQUIRES: flags->election_timeout_ms is set.
raft::Status parse_read_flags(const FlagParser& parser, ServerFlags* flags) {
  if (std::optional<std::string> read = parser.get("--read")) {
    raft::Result<ServiceReadMode> mode = parse_service_read_mode(*read);
    if (!mode.ok()) return mode.status();
    flags->read = *mode;
  }
  raft::Result<double> ratio =
      fraction(parser, "--leader-lease-ratio", flags->leader_lease_ratio, 0.0, 1.0);
  if (!ratio.ok()) return ratio.status();
  flags->leader_lease_ratio = *ratio;
  // The lease, election_timeout_ms * ratio - drift, must keep at least a millisecond (as
  // NodeOptions requires). The default drift (100 ms) shrinks to fit short election timeouts.
  const auto lease_ms =
      static_cast<int64_t>(static_cast<double>(flags->election_timeout_ms) * *ratio);
  if (lease_ms < 1) {
    return bad("--leader-lease-ratio",
               "leaves no lease of at least 1 ms with an election timeout of " +
                   std::to_string(flags->election_timeout_ms) + " ms");
  }
  const int64_t max_drift_ms = lease_ms - 1;
  if (parser.has("--max-clock-drift-ms")) {
    raft::Result<int64_t> drift = parser.integer("--max-clock-drift-ms", 0, 0, max_drift_ms);
    if (!drift.ok()) {
      return bad("--max-clock-drift-ms",
                 "must be a whole number in [0, " + std::to_string(max_drift_ms) +
                     "], below the lease (--election-timeout-ms x --leader-lease-ratio), got '" +
                     *parser.get("--max-clock-drift-ms") + "'");
    }
    flags->max_clock_drift_ms = *drift;
  } else {
    flags->max_clock_drift_ms = std::min(flags->max_clock_drift_ms, max_drift_ms);
  }
  raft::Result<double> rate =
      fraction(parser, "--clock-rate", flags->clock_rate, 0.0, ServerFlags::kMaxClockRate);
  if (!rate.ok()) return rate.status();
  flags->clock_rate = *rate;
  return raft::Status::OK();
}

}  // namespace

raft::Result<ServiceReadMode> parse_service_read_mode(std::string_view text) {
  for (const ModeName& m : kModes) {
    if (text == m.name) return m.mode;
  }
  return raft::Status::InvalidArgument("--read: '" + std::string(text) +
                                       "' is not a read mode (index, lease, wait-free or log)");
}

std::string_view service_read_mode_name(ServiceReadMode mode) {
  for (const ModeName& m : kModes) {
    if (mode == m.mode) return m.name;
  }
  return "?";
}

std::string server_usage(std::string_view program) {
  return "usage: " + std::string(program) + " " + ServerFlags::kUsage;
}

std::set<std::string> server_flag_names() {
  return {"--group",
          "--peer",
          "--conf",
          "--data",
          "--election-timeout-ms",
          "--snapshot-interval-s",
          "--snapshot-log-index-margin",
          "--coalesce-after-inflight",
          "--rpc-io-threads",
          "--log-storage",
          "--log-segment-max-bytes",
          "--no-log-preallocate",
          "--read",
          "--max-clock-drift-ms",
          "--leader-lease-ratio",
          "--clock-rate",
          "--join",
          "--inject-disk-eio-on-signal",
          "--help"};
}

std::set<std::string> server_flag_switches() {
  return {"--help", "--join", "--inject-disk-eio-on-signal", "--no-log-preallocate"};
}

namespace {

std::string_view store_name(LogStorageKind kind) {
  return kind == LogStorageKind::kRocksDB ? "rocksdb" : "segments";
}

// A store holds a log in `dir` if its directory exists and is not empty.
bool holds_log(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) && !std::filesystem::is_empty(dir, ec);
}

// The log store for data directory `dir`: the one --log-storage named, else the one the
// directory already holds a log in, else the segment store. A restart therefore never opens
// an empty store beside the log it wrote (which would lose that log), and naming the other
// store than the one the directory holds is refused.
raft::Result<LogStorageKind> choose_log_store(const std::string& dir,
                                              std::optional<LogStorageKind> chosen) {
  const bool has_rocksdb = holds_log(dir + "/" + std::string(kRocksDBLogDir));
  const bool has_segments = holds_log(dir + "/" + std::string(kSegmentLogDir));
  if (has_rocksdb && has_segments && !chosen) {
    return bad("--log-storage", "'" + dir + "' holds both a RocksDB log (" +
                                    std::string(kRocksDBLogDir) + "/) and a segment log (" +
                                    std::string(kSegmentLogDir) + "/); name the one to use");
  }
  std::optional<LogStorageKind> existing;
  if (has_rocksdb) existing = LogStorageKind::kRocksDB;
  if (has_segments && !has_rocksdb) existing = LogStorageKind::kSegments;
  if (chosen && existing && *chosen != *existing && !(has_rocksdb && has_segments)) {
    return bad("--log-storage",
               std::string(store_name(*chosen)) + " was named, but '" + dir + "' holds a " +
                   std::string(store_name(*existing)) + " log; start with --log-storage " +
                   std::string(store_name(*existing)) + " (or remove the data to start over)");
  }
  return chosen.value_or(existing.value_or(LogStorageKind::kSegments));
}

}  // namespace

raft::Result<ServerFlags> parse_server_flags(const std::vector<std::string>& args) {
  FlagParser parser(server_flag_names(), server_flag_switches());
  if (raft::Status s = parser.parse(args); !s.ok()) return s;
  return parse_server_flags(parser);
}

raft::Result<ServerFlags> parse_server_flags(const FlagParser& parser) {
  ServerFlags flags;
  if (parser.has("--help")) {
    flags.help = true;
    return flags;
  }
  if (!parser.positional().empty()) {
    return raft::Status::InvalidArgument("unexpected argument '" + parser.positional()[0] +
                                         "' (every setting is a --flag)");
  }

  raft::Result<std::string> group = parser.required("--group");
  if (!group.ok()) return group.status();
  if (group->empty() || group->size() > 128) return bad("--group", "must be 1..128 bytes");
  flags.group = *group;

  raft::Result<std::string> peer_text = parser.required("--peer");
  if (!peer_text.ok()) return peer_text.status();
  raft::Result<raft::PeerId> peer = raft::PeerId::parse(*peer_text);
  if (!peer.ok())
    return bad("--peer", "'" + *peer_text + "': " + std::string(peer.status().message()));
  flags.peer = *peer;

  flags.join = parser.has("--join");
  flags.inject_disk_eio_on_signal = parser.has("--inject-disk-eio-on-signal");
  if (flags.join && parser.has("--conf")) {
    return bad("--conf",
               "not used with --join (a joining replica learns its configuration "
               "from the leader that adds it)");
  }
  if (!flags.join) {
    raft::Result<std::string> conf_text = parser.required("--conf");
    if (!conf_text.ok()) {
      return bad("--conf", "required (or --join, to wait for a leader to add this replica)");
    }
    raft::Result<raft::Configuration> conf = raft::Configuration::parse(*conf_text);
    if (!conf.ok())
      return bad("--conf", "'" + *conf_text + "': " + std::string(conf.status().message()));
    if (!conf->contains(flags.peer)) {
      return bad("--peer", flags.peer.to_string() + " is not in --conf " + conf->to_string());
    }
    flags.conf = *conf;
  }

  // NodeOptions accepts [10, 600000].
  raft::Result<int64_t> timeout = parser.integer("--election-timeout-ms", 1000, 10, 600000);
  if (!timeout.ok()) return timeout.status();
  flags.election_timeout_ms = *timeout;
  if (raft::Status s = parse_read_flags(parser, &flags); !s.ok()) return s;

  // NodeOptions accepts [0, 315360000] s (0 turns the timer off).
  raft::Result<int64_t> interval = parser.integer("--snapshot-interval-s", 3600, 0, 315360000);
  if (!interval.ok()) return interval.status();
  flags.snapshot_interval_s = *interval;
  raft::Result<int64_t> margin =
      parser.integer("--snapshot-log-index-margin", 0, 0, std::numeric_limits<int64_t>::max());
  if (!margin.ok()) return margin.status();
  flags.snapshot_log_index_margin = *margin;
  // NodeOptions::validate() refuses more than max_inflight_msgs, which the servers keep at
  // its default.
  const raft::NodeOptions node_defaults;
  raft::Result<int64_t> coalesce = parser.integer(
      "--coalesce-after-inflight", static_cast<int64_t>(node_defaults.coalesce_after_inflight_msgs),
      0, static_cast<int64_t>(node_defaults.max_inflight_msgs));
  if (!coalesce.ok()) return coalesce.status();
  flags.coalesce_after_inflight = *coalesce;
  const raft::rpc::TcpTransportOptions transport_defaults;
  raft::Result<int64_t> rpc_io_threads =
      parser.integer("--rpc-io-threads", static_cast<int64_t>(transport_defaults.io_threads), 1,
                     ServerFlags::kMaxRpcIoThreads);
  if (!rpc_io_threads.ok()) return rpc_io_threads.status();
  flags.rpc_io_threads = *rpc_io_threads;

  std::optional<LogStorageKind> chosen_store;
  if (std::optional<std::string> log_storage = parser.get("--log-storage")) {
    if (*log_storage == "rocksdb") {
      chosen_store = LogStorageKind::kRocksDB;
    } else if (*log_storage == "segments") {
      chosen_store = LogStorageKind::kSegments;
    } else {
      return bad("--log-storage", "'" + *log_storage + "' is neither rocksdb nor segments");
    }
  }
  raft::Result<int64_t> segment_bytes =
      parser.integer("--log-segment-max-bytes", flags.log_segment_max_bytes,
                     ServerFlags::kMinLogSegmentBytes, ServerFlags::kMaxLogSegmentBytes);
  if (!segment_bytes.ok()) return segment_bytes.status();
  flags.log_segment_max_bytes = *segment_bytes;
  flags.log_preallocate = !parser.has("--no-log-preallocate");

  raft::Result<std::string> data = parser.required("--data");
  if (!data.ok()) return data.status();
  if (raft::Status s = prepare_data_dir(*data); !s.ok()) return s;
  flags.data_dir = *data;
  raft::Result<LogStorageKind> store = choose_log_store(flags.data_dir, chosen_store);
  if (!store.ok()) return store.status();
  flags.log_storage = *store;
  return flags;
}

}  // namespace example
