// example/counter: the rules the counter's server and client share (leader hints, which
// failures prove "not applied"), and the command lines of counter-server and counter-client.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client_flags.h"
#include "flag_parser.h"
#include "raft/node_options.h"
#include "raft/rpc/tcp_transport.h"
#include "server_flags.h"
#include "service_protocol.h"

using example::CallFailure;
using example::classify_call_failure;
using raft::Status;

TEST_CASE("a counter redirect names the leader, and only a redirect does", "[counter]") {
  const raft::PeerId leader("10.0.0.3", 8102);
  Status redirect = example::not_leader_status(leader);
  CHECK(redirect.is_not_leader());
  CHECK(example::leader_hint(redirect) == "10.0.0.3:8102");
  CHECK_FALSE(example::leader_hint(example::not_leader_status(raft::PeerId())).has_value());
  CHECK_FALSE(example::leader_hint(Status::Busy("leader_hint=10.0.0.3:8102")).has_value());
  CHECK_FALSE(example::leader_hint(Status::NotLeader("leader_hint=not-an-address")).has_value());
  CHECK(example::leader_hint(Status::NotLeader("x; leader_hint=1.2.3.4:5 trailing")) ==
        "1.2.3.4:5");
}

TEST_CASE("a counter proposal failure is definite only when Raft proves nothing was appended",
          "[counter]") {
  // Task's contract: EBUSY, ESTALE, ESHUTDOWN and EINVAL mean not appended.
  CHECK(example::proposal_failure_status(Status::Busy("full")).is_busy());
  CHECK(example::proposal_failure_status(Status::Stale("term")).is_busy());
  CHECK(example::proposal_failure_status(Status::Shutdown("stopping")).is_busy());
  CHECK(example::proposal_failure_status(Status::InvalidArgument("x")).is_invalid_argument());
  // Anything else may still commit under the next leader, so it must not look like a redirect.
  for (const Status& maybe : {Status::StepDown("leadership lost"), Status::IoError("disk"),
                              Status::Corruption("entry refused")}) {
    INFO(maybe.to_string());
    Status answered = example::proposal_failure_status(maybe);
    CHECK(answered.is_io_error());
    CHECK(std::string(answered.message()).starts_with("outcome unknown"));
    CHECK(classify_call_failure(answered) == CallFailure::kUnknown);
  }
}

TEST_CASE("a counter client retries only failures that prove an increment was not applied",
          "[counter]") {
  CHECK(classify_call_failure(example::not_leader_status(raft::PeerId("1.2.3.4", 5))) ==
        CallFailure::kNotLeader);
  CHECK(classify_call_failure(Status::Busy("pending calls")) == CallFailure::kBusy);
  CHECK(classify_call_failure(Status::Unavailable("cannot connect to 1.2.3.4:5: refused")) ==
        CallFailure::kNotSent);
  CHECK(classify_call_failure(Status::NotFound("no handler for method 2000")) ==
        CallFailure::kNotSent);
  CHECK(classify_call_failure(Status::InvalidArgument("bad request")) == CallFailure::kRejected);
  CHECK(classify_call_failure(Status::Unavailable("connection to 1.2.3.4:5 lost: reset")) ==
        CallFailure::kUnknown);
  CHECK(classify_call_failure(Status::TimedOut("call 7 timed out")) == CallFailure::kUnknown);
  CHECK(classify_call_failure(Status::Shutdown("client shut down")) == CallFailure::kUnknown);
  CHECK(classify_call_failure(Status::Corruption("unreadable")) == CallFailure::kUnknown);
}

TEST_CASE("counter flag parsing takes --flag value and --flag=value and names bad flags",
          "[counter]") {
  example::FlagParser parser({"--a", "--b", "--on"}, {"--on"});
  REQUIRE(parser.parse({"--a", "1", "pos", "--b=x y", "-5", "--on"}).ok());
  CHECK(parser.get("--a") == "1");
  CHECK(parser.get("--b") == "x y");
  CHECK(parser.has("--on"));
  CHECK(parser.positional() == std::vector<std::string>{"pos", "-5"});

  auto error_of = [](std::vector<std::string> args) {
    example::FlagParser p({"--a"});
    return std::string(p.parse(args).message());
  };
  CHECK(error_of({"--zzz", "1"}) == "--zzz: unknown flag");
  CHECK(error_of({"--a", "1", "--a", "2"}) == "--a: given twice");
  CHECK(error_of({"--a"}) == "--a: missing value");

  CHECK(example::parse_int64("42") == 42);
  CHECK(example::parse_int64("-42") == -42);
  CHECK(example::parse_int64("+42") == 42);
  for (const char* bad : {"", "+", "-", "+-1", "1x", "x", " 1", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(example::parse_int64(bad).has_value());
  }
}

namespace {

std::string fresh_dir() {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("counter-protocol-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::vector<std::string> server_args(const std::string& data) {
  return {"--group",        "counter", "--peer",
          "127.0.0.1:8101", "--conf",  "127.0.0.1:8101,127.0.0.1:8102,127.0.0.1:8103",
          "--data",         data};
}

// The replica flags for `data` with `flag value` added.
raft::Result<example::ServerFlags> parse_server_args_with(const std::string& data,
                                                          const std::string& flag,
                                                          const std::string& value) {
  std::vector<std::string> args = server_args(data);
  args.insert(args.end(), {flag, value});
  return example::parse_server_flags(args);
}

// Each of `values` for `flag` is refused with EINVAL, the message naming the flag.
void check_server_flag_refuses(const std::string& data, const std::string& flag,
                               const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    INFO(flag << " " << value);
    raft::Result<example::ServerFlags> refused = parse_server_args_with(data, flag, value);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().is_invalid_argument());
    CHECK(std::string(refused.status().message()).starts_with(flag));
  }
}

}  // namespace

TEST_CASE("counter-server flags are checked, each error naming its flag", "[counter]") {
  const std::string data = fresh_dir();
  raft::Result<example::ServerFlags> good = example::parse_server_flags(server_args(data));
  REQUIRE(good.ok());
  CHECK(good->group == "counter");
  CHECK(good->peer == raft::PeerId("127.0.0.1", 8101));
  CHECK(good->conf.size() == 3);
  CHECK(good->election_timeout_ms == 1000);
  CHECK(std::filesystem::is_directory(data));  // Created.

  struct Case {
    std::vector<std::string> args;
    const char* flag;
  };
  std::vector<std::string> with_timeout = server_args(data);
  with_timeout.insert(with_timeout.end(), {"--election-timeout-ms", "soon"});
  std::vector<std::string> missing_group = server_args(data);
  missing_group.erase(missing_group.begin(), missing_group.begin() + 2);
  std::vector<std::string> outsider = server_args(data);
  outsider[3] = "127.0.0.1:9999";
  std::vector<std::string> bad_peer = server_args(data);
  bad_peer[3] = "nowhere";
  std::vector<std::string> bad_conf = server_args(data);
  bad_conf[5] = "127.0.0.1:8101,garbage";
  std::vector<std::string> empty_data = server_args("");
  std::vector<std::string> file_as_data = server_args("/proc/self/status/x");
  std::vector<std::string> unknown = server_args(data);
  unknown.push_back("--verbose=1");
  for (const Case& c : std::vector<Case>{{with_timeout, "--election-timeout-ms"},
                                         {missing_group, "--group"},
                                         {outsider, "--peer"},
                                         {bad_peer, "--peer"},
                                         {bad_conf, "--conf"},
                                         {empty_data, "--data"},
                                         {file_as_data, "--data"},
                                         {unknown, "--verbose"}}) {
    INFO(c.flag);
    raft::Result<example::ServerFlags> parsed = example::parse_server_flags(c.args);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().is_invalid_argument());
    CHECK(std::string(parsed.status().message()).starts_with(c.flag));
  }
  // A directory that exists but takes no file: the reason is given (here the kernel's, for
  // /proc; on a full disk "No space left on device").
  raft::Result<example::ServerFlags> unwritable =
      example::parse_server_flags(server_args("/proc/self"));
  REQUIRE_FALSE(unwritable.ok());
  CHECK(std::string(unwritable.status().message()) ==
        "--data: directory '/proc/self' is not writable: " + std::string(std::strerror(ENOENT)));
  std::filesystem::remove_all(data);
}

TEST_CASE("counter-server takes the snapshot flags within NodeOptions' ranges", "[counter]") {
  const std::string data = fresh_dir();
  raft::Result<example::ServerFlags> defaults = example::parse_server_flags(server_args(data));
  REQUIRE(defaults.ok());
  CHECK(defaults->snapshot_interval_s == 3600);
  CHECK(defaults->snapshot_log_index_margin == 0);
  std::vector<std::string> set = server_args(data);
  set.insert(set.end(), {"--snapshot-interval-s", "0", "--snapshot-log-index-margin=5000"});
  raft::Result<example::ServerFlags> parsed = example::parse_server_flags(set);
  REQUIRE(parsed.ok());
  CHECK(parsed->snapshot_interval_s == 0);
  CHECK(parsed->snapshot_log_index_margin == 5000);
  std::vector<std::string> longest = server_args(data);
  longest.insert(longest.end(), {"--snapshot-interval-s", "315360000"});
  CHECK(example::parse_server_flags(longest).ok());

  struct Case {
    const char* flag;
    const char* value;
  };
  for (const Case& c : std::vector<Case>{{"--snapshot-interval-s", "-1"},
                                         {"--snapshot-interval-s", "315360001"},
                                         {"--snapshot-interval-s", "hourly"},
                                         {"--snapshot-log-index-margin", "-1"},
                                         {"--snapshot-log-index-margin", "1e6"}}) {
    INFO(c.flag << " " << c.value);
    std::vector<std::string> args = server_args(data);
    args.insert(args.end(), {c.flag, c.value});
    raft::Result<example::ServerFlags> refused = example::parse_server_flags(args);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().is_invalid_argument());
    CHECK(std::string(refused.status().message()).starts_with(c.flag));
  }
  std::filesystem::remove_all(data);
}

TEST_CASE("counter-server takes --coalesce-after-inflight within NodeOptions' window",
          "[counter]") {
  const std::string data = fresh_dir();
  const raft::NodeOptions node_defaults;
  raft::Result<example::ServerFlags> defaults = example::parse_server_flags(server_args(data));
  REQUIRE(defaults.ok());
  CHECK(defaults->coalesce_after_inflight ==
        static_cast<int64_t>(node_defaults.coalesce_after_inflight_msgs));
  for (const std::string& value :
       {std::string("0"), std::string("8"), std::to_string(node_defaults.max_inflight_msgs)}) {
    raft::Result<example::ServerFlags> parsed =
        parse_server_args_with(data, "--coalesce-after-inflight", value);
    REQUIRE(parsed.ok());
    CHECK(parsed->coalesce_after_inflight == std::stoll(value));
  }
  check_server_flag_refuses(data, "--coalesce-after-inflight",
                            {"-1", std::to_string(node_defaults.max_inflight_msgs + 1), "many"});
  std::filesystem::remove_all(data);
}

TEST_CASE("counter-server takes --rpc-io-threads from 1 to its maximum", "[counter]") {
  const std::string data = fresh_dir();
  raft::Result<example::ServerFlags> defaults = example::parse_server_flags(server_args(data));
  REQUIRE(defaults.ok());
  CHECK(defaults->rpc_io_threads ==
        static_cast<int64_t>(raft::rpc::TcpTransportOptions().io_threads));
  for (const std::string& value :
       {std::string("1"), std::to_string(example::ServerFlags::kMaxRpcIoThreads)}) {
    raft::Result<example::ServerFlags> parsed =
        parse_server_args_with(data, "--rpc-io-threads", value);
    REQUIRE(parsed.ok());
    CHECK(parsed->rpc_io_threads == std::stoll(value));
  }
  check_server_flag_refuses(
      data, "--rpc-io-threads",
      {"0", std::to_string(example::ServerFlags::kMaxRpcIoThreads + 1), "two"});
  std::filesystem::remove_all(data);
}

TEST_CASE("replica lease flags and the --clock-rate test hook are checked against the lease",
          "[counter][read]") {
  const std::string data = fresh_dir();
  raft::Result<example::ServerFlags> defaults = example::parse_server_flags(server_args(data));
  REQUIRE(defaults.ok());
  CHECK(defaults->max_clock_drift_ms == 100);
  CHECK(defaults->leader_lease_ratio == 0.9);
  CHECK(defaults->clock_rate == 1.0);
  std::vector<std::string> set = server_args(data);
  set.insert(set.end(), {"--max-clock-drift-ms", "0", "--leader-lease-ratio=0.5", "--clock-rate",
                         "0.25", "--election-timeout-ms", "400"});
  raft::Result<example::ServerFlags> parsed = example::parse_server_flags(set);
  REQUIRE(parsed.ok());
  CHECK(parsed->max_clock_drift_ms == 0);
  CHECK(parsed->leader_lease_ratio == 0.5);
  CHECK(parsed->clock_rate == 0.25);
  // The default drift shrinks to leave a short election timeout a lease of 1 ms at least.
  std::vector<std::string> short_timeout = server_args(data);
  short_timeout.insert(short_timeout.end(), {"--election-timeout-ms", "50"});
  raft::Result<example::ServerFlags> shrunk = example::parse_server_flags(short_timeout);
  REQUIRE(shrunk.ok());
  CHECK(shrunk->max_clock_drift_ms == 44);  // 50 x 0.9 = 45 ms of lease, minus 1.
  std::vector<std::string> widest = server_args(data);
  widest.insert(widest.end(), {"--max-clock-drift-ms", "899", "--clock-rate", "100"});
  CHECK(example::parse_server_flags(widest).ok());

  struct Case {
    std::vector<std::string> extra;
    const char* flag;
  };
  for (const Case& c : std::vector<Case>{
           {{"--clock-rate", "0"}, "--clock-rate"},
           {{"--clock-rate", "-1"}, "--clock-rate"},
           {{"--clock-rate", "100.5"}, "--clock-rate"},
           {{"--clock-rate", "nan"}, "--clock-rate"},
           {{"--clock-rate", "1x"}, "--clock-rate"},
           {{"--max-clock-drift-ms", "900"}, "--max-clock-drift-ms"},
           {{"--max-clock-drift-ms", "-1"}, "--max-clock-drift-ms"},
           {{"--leader-lease-ratio", "0"}, "--leader-lease-ratio"},
           {{"--leader-lease-ratio", "1.01"}, "--leader-lease-ratio"},
           {{"--leader-lease-ratio", "0.001", "--election-timeout-ms", "10"},
            "--leader-lease-ratio"},
           {{"--leader-lease-ratio", "0.5", "--max-clock-drift-ms", "500"}, "--max-clock-drift-ms"},
       }) {
    INFO(c.flag << " " << c.extra[1]);
    std::vector<std::string> args = server_args(data);
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    raft::Result<example::ServerFlags> refused = example::parse_server_flags(args);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().is_invalid_argument());
    CHECK(std::string(refused.status().message()).starts_with(c.flag));
  }
  std::filesystem::remove_all(data);
}

TEST_CASE("counter-client flags are checked, each error naming its flag or command", "[counter]") {
  const std::string conf = "127.0.0.1:8101,127.0.0.1:8102";
  raft::Result<counter::ClientFlags> incr =
      counter::parse_client_flags({"--conf", conf, "incr", "-5", "--timeout-ms", "300"});
  REQUIRE(incr.ok());
  CHECK(incr->command == counter::ClientFlags::Command::kIncr);
  CHECK(incr->delta == -5);
  CHECK(incr->timeout_ms == 300);
  CHECK(incr->endpoints == std::vector<std::string>{"127.0.0.1:8101", "127.0.0.1:8102"});

  raft::Result<counter::ClientFlags> load =
      counter::parse_client_flags({"--conf", conf, "load", "--clients", "8", "--seconds", "15"});
  REQUIRE(load.ok());
  CHECK(load->load.clients == 8);
  CHECK(load->load.duration == std::chrono::seconds(15));
  CHECK_FALSE(load->load.ops.has_value());

  struct Case {
    std::vector<std::string> args;
    const char* named;
  };
  for (const Case& c : std::vector<Case>{
           {{"get"}, "--conf"},
           {{"--conf", "nonsense", "get"}, "--conf"},
           {{"--conf", conf, "--timeout-ms", "ten", "get"}, "--timeout-ms"},
           {{"--conf", conf, "--timeout-ms", "0", "get"}, "--timeout-ms"},
           {{"--conf", conf}, "missing command"},
           {{"--conf", conf, "frobnicate"}, "unknown command"},
           {{"--conf", conf, "incr"}, "incr"},
           {{"--conf", conf, "incr", "five"}, "incr"},
           {{"--conf", conf, "get", "extra"}, "get"},
           {{"--conf", conf, "load", "--seconds", "1"}, "--clients"},
           {{"--conf", conf, "load", "--clients", "x", "--ops", "1"}, "--clients"},
           {{"--conf", conf, "load", "--clients", "2"}, "--seconds"},
           {{"--conf", conf, "load", "--clients", "2", "--seconds", "1", "--ops", "5"},
            "--seconds"},
           {{"--conf", conf, "load", "--clients", "2", "--ops", "-1"}, "--ops"},
           {{"--conf", conf, "get", "--clients", "2"}, "--clients"},
           {{"--conf", conf, "--bogus", "1", "get"}, "--bogus"},
       }) {
    INFO(c.named);
    raft::Result<counter::ClientFlags> parsed = counter::parse_client_flags(c.args);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().is_invalid_argument());
    CHECK(std::string(parsed.status().message()).starts_with(c.named));
  }
}

TEST_CASE("a replica's log store is the one named, else the one its data directory holds",
          "[counter]") {
  const std::string data = fresh_dir();
  // A new directory: the segment store.
  raft::Result<example::ServerFlags> fresh = example::parse_server_flags(server_args(data));
  REQUIRE(fresh.ok());
  CHECK(fresh->log_storage == example::LogStorageKind::kSegments);
  std::vector<std::string> rocksdb = server_args(data);
  rocksdb.insert(rocksdb.end(), {"--log-storage", "rocksdb"});
  raft::Result<example::ServerFlags> named = example::parse_server_flags(rocksdb);
  REQUIRE(named.ok());
  CHECK(named->log_storage == example::LogStorageKind::kRocksDB);

  // A directory that already holds a RocksDB log keeps it without the flag, and naming the
  // other store is refused instead of opening an empty one beside it.
  std::filesystem::create_directories(data + "/log");
  std::ofstream(data + "/log/CURRENT") << "MANIFEST-000001\n";
  raft::Result<example::ServerFlags> kept = example::parse_server_flags(server_args(data));
  REQUIRE(kept.ok());
  CHECK(kept->log_storage == example::LogStorageKind::kRocksDB);
  std::vector<std::string> segments = server_args(data);
  segments.insert(segments.end(), {"--log-storage", "segments"});
  raft::Result<example::ServerFlags> refused = example::parse_server_flags(segments);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("--log-storage") != std::string_view::npos);
  CHECK(refused.status().message().find("holds a rocksdb log") != std::string_view::npos);

  // Both present: only a named store is accepted.
  std::filesystem::create_directories(data + "/log-segments");
  std::ofstream(data + "/log-segments/00000000000000000001.log") << "x";
  CHECK_FALSE(example::parse_server_flags(server_args(data)).ok());
  raft::Result<example::ServerFlags> chosen = example::parse_server_flags(segments);
  REQUIRE(chosen.ok());
  CHECK(chosen->log_storage == example::LogStorageKind::kSegments);
  std::filesystem::remove_all(data);
}
