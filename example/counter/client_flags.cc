#include "client_flags.h"

#include <chrono>
#include <optional>

#include "cluster_flags.h"
#include "flag_parser.h"

namespace counter {
namespace {

raft::Status bad(const std::string& what, const std::string& why) {
  return raft::Status::InvalidArgument(what + ": " + why);
}

raft::Status parse_command(const example::FlagParser& parser, ClientFlags* flags) {
  const std::vector<std::string>& words = parser.positional();
  if (words.empty())
    return raft::Status::InvalidArgument("missing command (incr, get, status or load)");
  const std::string& command = words[0];
  const size_t expected_words = command == "incr" ? 2 : 1;
  if (command == "incr") {
    flags->command = ClientFlags::Command::kIncr;
    if (words.size() < 2) return bad("incr", "missing DELTA");
    std::optional<int64_t> delta = example::parse_int64(words[1]);
    if (!delta) return bad("incr", "DELTA '" + words[1] + "' is not a whole number");
    flags->delta = *delta;
  } else if (command == "get") {
    flags->command = ClientFlags::Command::kGet;
  } else if (command == "status") {
    flags->command = ClientFlags::Command::kStatus;
  } else if (command == "load") {
    flags->command = ClientFlags::Command::kLoad;
  } else {
    return raft::Status::InvalidArgument("unknown command '" + command + "'");
  }
  if (words.size() > expected_words) {
    return bad(command, "unexpected argument '" + words[expected_words] + "'");
  }
  return raft::Status::OK();
}

raft::Status parse_load(const example::FlagParser& parser, ClientFlags* flags) {
  if (flags->command != ClientFlags::Command::kLoad) {
    for (const char* flag : {"--clients", "--client-threads", "--client-fibers", "--seconds",
                             "--ops", "--reads-per-write"}) {
      if (parser.has(flag)) return bad(flag, "only applies to the load command");
    }
    return raft::Status::OK();
  }
  if (!parser.has("--clients")) return bad("--clients", "required by load");
  raft::Result<int64_t> clients = parser.integer("--clients", 0, 1, 10000);
  if (!clients.ok()) return clients.status();
  flags->load.clients = static_cast<size_t>(*clients);
  raft::Result<int64_t> threads = parser.integer("--client-threads", 1, 1, 256);
  if (!threads.ok()) return threads.status();
  if (*threads > *clients) {
    return bad("--client-threads", std::to_string(*threads) + " threads for " +
                                       std::to_string(*clients) +
                                       " clients: at most one thread per client");
  }
  flags->load.client_threads = static_cast<int>(*threads);
  if (std::optional<std::string> fibers = parser.get("--client-fibers")) {
    if (*fibers != "hosted" && *fibers != "threads") {
      return bad("--client-fibers", "must be hosted or threads, got '" + *fibers + "'");
    }
    flags->host_client_fibers = *fibers == "hosted";
  }
  raft::Result<int64_t> reads = parser.integer("--reads-per-write", 0, 0, 99);
  if (!reads.ok()) return reads.status();
  flags->load.reads_per_write = static_cast<int>(*reads);
  if (parser.has("--seconds") == parser.has("--ops")) {
    return bad("--seconds", "load needs exactly one of --seconds and --ops");
  }
  if (parser.has("--seconds")) {
    raft::Result<int64_t> seconds = parser.integer("--seconds", 0, 1, 86400);
    if (!seconds.ok()) return seconds.status();
    flags->load.duration = std::chrono::seconds(*seconds);
  } else {
    raft::Result<int64_t> ops = parser.integer("--ops", 0, 1, int64_t{1} << 40);
    if (!ops.ok()) return ops.status();
    flags->load.ops = static_cast<uint64_t>(*ops);
  }
  return raft::Status::OK();
}

}  // namespace

raft::Result<ClientFlags> parse_client_flags(const std::vector<std::string>& args) {
  std::set<std::string> known = example::cluster_flag_names();
  known.insert({"--clients", "--client-threads", "--client-fibers", "--seconds", "--ops",
                "--reads-per-write", "--help"});
  example::FlagParser parser(std::move(known), {"--help"});
  if (raft::Status s = parser.parse(args); !s.ok()) return s;
  ClientFlags flags;
  if (parser.has("--help")) {
    flags.help = true;
    return flags;
  }
  raft::Result<example::ClusterFlags> cluster = example::parse_cluster_flags(parser);
  if (!cluster.ok()) return cluster.status();
  flags.endpoints = std::move(cluster->endpoints);
  flags.timeout_ms = cluster->timeout_ms;

  if (raft::Status s = parse_command(parser, &flags); !s.ok()) return s;
  if (raft::Status s = parse_load(parser, &flags); !s.ok()) return s;
  return flags;
}

}  // namespace counter
