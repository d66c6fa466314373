#include "client_flags.h"

#include <chrono>
#include <optional>

#include "flag_parser.h"
#include "raft/configuration.h"

namespace counter {
namespace {

raft::Status bad(const std::string& what, const std::string& why) {
  return raft::Status::InvalidArgument(what + ": " + why);
}

raft::Status parse_command(const FlagParser& parser, ClientFlags* flags) {
  const std::vector<std::string>& words = parser.positional();
  if (words.empty())
    return raft::Status::InvalidArgument("missing command (incr, get, status or load)");
  const std::string& command = words[0];
  const size_t expected_words = command == "incr" ? 2 : 1;
  if (command == "incr") {
    flags->command = ClientFlags::Command::kIncr;
    if (words.size() < 2) return bad("incr", "missing DELTA");
    std::optional<int64_t> delta = parse_int64(words[1]);
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

raft::Status parse_load(const FlagParser& parser, ClientFlags* flags) {
  if (flags->command != ClientFlags::Command::kLoad) {
    for (const char* flag : {"--clients", "--seconds", "--ops"}) {
      if (parser.has(flag)) return bad(flag, "only applies to the load command");
    }
    return raft::Status::OK();
  }
  if (!parser.has("--clients")) return bad("--clients", "required by load");
  raft::Result<int64_t> clients = parser.integer("--clients", 0, 1, 10000);
  if (!clients.ok()) return clients.status();
  flags->load.clients = static_cast<size_t>(*clients);
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
  FlagParser parser({"--conf", "--timeout-ms", "--clients", "--seconds", "--ops", "--help"},
                    {"--help"});
  if (raft::Status s = parser.parse(args); !s.ok()) return s;
  ClientFlags flags;
  if (parser.has("--help")) {
    flags.help = true;
    return flags;
  }
  raft::Result<std::string> conf_text = parser.required("--conf");
  if (!conf_text.ok()) return conf_text.status();
  raft::Result<raft::Configuration> conf = raft::Configuration::parse(*conf_text);
  if (!conf.ok()) {
    return bad("--conf", "'" + *conf_text + "': " + std::string(conf.status().message()));
  }
  // In the configuration's (sorted) order; the first is the first tried as leader.
  for (const raft::PeerId& peer : conf->peers()) flags.endpoints.push_back(peer.endpoint());

  raft::Result<int64_t> timeout = parser.integer("--timeout-ms", 10000, 1, 3600 * 1000);
  if (!timeout.ok()) return timeout.status();
  flags.timeout_ms = *timeout;

  if (raft::Status s = parse_command(parser, &flags); !s.ok()) return s;
  if (raft::Status s = parse_load(parser, &flags); !s.ok()) return s;
  return flags;
}

}  // namespace counter
