#include "cli_command.h"

#include <algorithm>
#include <optional>
#include <ostream>
#include <sstream>

#include "raft/check.h"
#include "raft/cli/flag_parser.h"
#include "raft/node.h"

namespace raft::cli {
namespace {

// What a command takes besides --group, --conf and --timeout-ms.
enum class Argument { kNone, kPeer, kOptionalPeer, kConf, kPeers };
enum class PeerFlag { kUnused, kOptional, kRequired };

struct CommandSpec {
  const char* name;
  Command command;
  Argument argument;
  const char* argument_name;  // As usage() shows it.
  PeerFlag peer_flag;
  const char* help;
};

constexpr CommandSpec kCommands[] = {
    {"add-peer", Command::kAddPeer, Argument::kPeer, "PEER", PeerFlag::kUnused,
     "add a voter (it catches up first; start it with --join)"},
    {"remove-peer", Command::kRemovePeer, Argument::kPeer, "PEER", PeerFlag::kUnused,
     "remove a voter (the leader too: it steps down once removed)"},
    {"change-peers", Command::kChangePeers, Argument::kConf, "CONF", PeerFlag::kUnused,
     "move to exactly these members, through a joint configuration"},
    {"add-learners", Command::kAddLearners, Argument::kPeers, "PEERS", PeerFlag::kUnused,
     "add non-voting members"},
    {"remove-learners", Command::kRemoveLearners, Argument::kPeers, "PEERS", PeerFlag::kUnused,
     "remove non-voting members"},
    {"reset-learners", Command::kResetLearners, Argument::kPeers, "PEERS", PeerFlag::kUnused,
     "replace the learners (\"\" for none)"},
    {"reset-peers", Command::kResetPeers, Argument::kConf, "CONF", PeerFlag::kRequired,
     "UNSAFE: make the replica --peer use CONF at once, without consensus"},
    {"transfer-leader", Command::kTransferLeader, Argument::kOptionalPeer, "[PEER]",
     PeerFlag::kUnused, "hand leadership to PEER (or to the most up-to-date voter)"},
    {"get-leader", Command::kGetLeader, Argument::kNone, "", PeerFlag::kUnused, "print the leader"},
    {"list-peers", Command::kListPeers, Argument::kNone, "", PeerFlag::kUnused,
     "print the leader's configuration"},
    {"snapshot", Command::kSnapshot, Argument::kNone, "", PeerFlag::kOptional,
     "snapshot the replica --peer (default: the leader)"},
    {"status", Command::kStatus, Argument::kNone, "", PeerFlag::kOptional,
     "print the status of --peer (default: of every --conf replica)"},
};

const CommandSpec* find_spec(const std::string& name) {
  for (const CommandSpec& spec : kCommands) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

Status bad(const std::string& what, const std::string& text, const Status& why) {
  return Status::InvalidArgument(what + ": '" + text + "': " + std::string(why.message()));
}

// "a,b,c" as peers; "" is no peer.
Result<std::vector<PeerId>> parse_peer_list(const std::string& what, const std::string& text) {
  std::vector<PeerId> peers;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    Result<PeerId> peer = PeerId::parse(item);
    if (!peer.ok()) return bad(what, item, peer.status());
    peers.push_back(*peer);
    start = comma + 1;
  }
  return peers;
}

// Reads the command's argument (positional[1], if any) into `command`.
Status parse_argument(const CommandSpec& spec, const std::vector<std::string>& positional,
                      CliCommand* command) {
  const size_t wanted = spec.argument == Argument::kNone ? 0 : 1;
  if (positional.size() > 1 + wanted) {
    return Status::InvalidArgument(spec.name + std::string(": unexpected argument '") +
                                   positional[1 + wanted] + "'");
  }
  const bool given = positional.size() == 2;
  if (!given && (spec.argument == Argument::kNone || spec.argument == Argument::kOptionalPeer)) {
    return Status::OK();
  }
  const std::string what = spec.name + std::string(" ") + spec.argument_name;
  if (!given) return Status::InvalidArgument(what + ": required");
  const std::string& text = positional[1];
  switch (spec.argument) {
    case Argument::kNone:
      break;
    case Argument::kPeer:
    case Argument::kOptionalPeer: {
      Result<PeerId> peer = PeerId::parse(text);
      if (!peer.ok()) return bad(what, text, peer.status());
      command->target = *peer;
      return Status::OK();
    }
    case Argument::kConf: {
      Result<Configuration> conf = Configuration::parse(text);
      if (!conf.ok()) return bad(what, text, conf.status());
      command->new_peers = *conf;
      return Status::OK();
    }
    case Argument::kPeers: {
      Result<std::vector<PeerId>> peers = parse_peer_list(what, text);
      if (!peers.ok()) return peers.status();
      command->learners = *peers;
      return Status::OK();
    }
  }
  return Status::OK();
}

Status parse_peer_flag(const CommandSpec& spec, const FlagParser& flags, CliCommand* command) {
  const std::optional<std::string> text = flags.get("--peer");
  if (!text) {
    if (spec.peer_flag == PeerFlag::kRequired) {
      return Status::InvalidArgument(std::string("--peer: required by ") + spec.name);
    }
    return Status::OK();
  }
  if (spec.peer_flag == PeerFlag::kUnused) {
    return Status::InvalidArgument(std::string("--peer: not used by ") + spec.name);
  }
  Result<PeerId> peer = PeerId::parse(*text);
  if (!peer.ok()) return bad("--peer", *text, peer.status());
  command->peer = *peer;
  return Status::OK();
}

// "ip:port role=leader term=3 ..." and, on a leader, one indented line per follower.
void print_status(const NodeStatus& status, std::ostream& out) {
  out << status.peer_id << " role=" << role_name(status.role) << " term=" << status.term
      << " leader=" << (status.leader_id.empty() ? "none" : status.leader_id.to_string())
      << " first=" << status.first_log_index << " last=" << status.last_log_index
      << " commit=" << status.commit_index << " applied=" << status.applied_index
      << " snapshot=" << status.last_snapshot.index << "@" << status.last_snapshot.term
      << " voters=" << status.conf.size() << " learners=" << status.conf.learners().size()
      << " conf=" << (status.conf.empty() ? "none" : status.conf.to_string());
  if (!status.old_conf.empty()) out << " old_conf=" << status.old_conf;
  if (!status.snapshot_install_error.ok()) {
    out << " snapshot_install_error=\"" << status.snapshot_install_error << "\"";
  }
  const AppendReorderStats& reorder = status.append_reorder;
  if (reorder.held != 0 || reorder.rejected != 0) {
    out << " reorder_held=" << reorder.held << " reorder_released=" << reorder.released
        << " reorder_rejected=" << reorder.rejected;
  }
  out << "\n";
  for (const PeerReplicationStatus& peer : status.peers) {
    out << "    follower " << peer.peer << " next=" << peer.next_index
        << " match=" << peer.match_index << " lag=" << (status.last_log_index - peer.match_index)
        << " window_resets=" << peer.window_resets << " resends=" << peer.resends
        << " out_of_order_acks=" << peer.out_of_order_acks << " appends=" << peer.appends_sent
        << " entries=" << peer.entries_sent << " held=" << peer.appends_held;
    if (peer.appends_sent > 0) {
      // One decimal: the batch size is what an operator compares across loads.
      const uint64_t tenths = (peer.entries_sent * 10 + peer.appends_sent / 2) / peer.appends_sent;
      out << " entries_per_append=" << tenths / 10 << "." << tenths % 10;
    }
    if (peer.storage_reads > 0) {
      out << " storage_reads=" << peer.storage_reads
          << " entries_from_storage=" << peer.entries_read_from_storage;
    }
    out << "\n";
  }
}

int report_change(const CliCommand& command, const rpc::ChangeResult& result, std::ostream& out,
                  std::ostream& err) {
  const std::string at = result.replica.empty() ? "" : " (at " + result.replica.to_string() + ")";
  if (result.ok()) {
    out << command.name << ": OK" << at << "\n";
    return kExitOk;
  }
  if (result.outcome_unknown) {
    err << "raft-cli: " << command.name << ": OUTCOME UNKNOWN - the change was sent and may "
        << "still complete; check with list-peers or status (" << result.status << ")" << at
        << "\n";
    return kExitUnknown;
  }
  err << "raft-cli: " << command.name << ": " << result.status << at << "\n";
  return kExitFailed;
}

int report_failure(const CliCommand& command, const Status& status, std::ostream& err) {
  err << "raft-cli: " << command.name << ": " << status << "\n";
  return kExitFailed;
}

int run_status(const CliCommand& command, rpc::CliClient& client, std::ostream& out,
               std::ostream& err) {
  const std::vector<PeerId> replicas =
      command.peer.empty() ? command.replicas : std::vector<PeerId>{command.peer};
  size_t answered = 0;
  for (const PeerId& replica : replicas) {
    Result<NodeStatus> status = client.status(replica);
    if (status.ok()) {
      ++answered;
      print_status(*status, out);
    } else {
      out << replica << " unreachable (" << status.status() << ")\n";
    }
  }
  if (answered == 0) {
    err << "raft-cli: status: no replica answered\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

std::string usage() {
  std::ostringstream text;
  text << "usage: raft-cli COMMAND --group G --conf IP:PORT,... [--timeout-ms N] [ARG]\n\n"
       << "  --group G       the Raft group\n"
       << "  --conf LIST     replicas to ask, IP:PORT[:INDEX],...\n"
       << "  --timeout-ms N  give up after N ms (default 30000)\n"
       << "  --peer P        the one replica to act on (reset-peers, snapshot, status)\n\n"
       << "commands:\n";
  for (const CommandSpec& spec : kCommands) {
    std::string line = spec.name;
    if (spec.argument != Argument::kNone) line += std::string(" ") + spec.argument_name;
    if (spec.peer_flag == PeerFlag::kRequired) line += " --peer P";
    if (spec.peer_flag == PeerFlag::kOptional) line += " [--peer P]";
    text << "  " << line << std::string(line.size() < 34 ? 34 - line.size() : 1, ' ') << spec.help
         << "\n";
  }
  text << "\nPEER is IP:PORT[:INDEX]; PEERS a comma-separated list of them; CONF a configuration\n"
       << "(IP:PORT,...,IP:PORT/learner). Exit codes: 0 done, 1 failed, 2 usage, 3 outcome\n"
       << "unknown (the change was sent and may still complete). See docs/operations.md.\n";
  return text.str();
}

Result<CliCommand> parse_command(const std::vector<std::string>& args) {
  FlagParser flags({"--group", "--conf", "--timeout-ms", "--peer", "--help"}, {"--help"});
  if (Status s = flags.parse(args); !s.ok()) return s;
  CliCommand command;
  if (flags.has("--help") || args.empty()) {
    command.help = true;
    return command;
  }
  const std::vector<std::string>& positional = flags.positional();
  if (positional.empty()) return Status::InvalidArgument("COMMAND: required");
  const CommandSpec* spec = find_spec(positional[0]);
  if (spec == nullptr) {
    return Status::InvalidArgument("COMMAND: unknown command '" + positional[0] + "'");
  }
  command.command = spec->command;
  command.name = spec->name;

  Result<std::string> group = flags.required("--group");
  if (!group.ok()) return group.status();
  if (group->empty() || group->size() > 128) {
    return Status::InvalidArgument("--group: must be 1..128 bytes");
  }
  command.group = *group;

  Result<std::string> conf = flags.required("--conf");
  if (!conf.ok()) return conf.status();
  Result<std::vector<PeerId>> replicas = parse_peer_list("--conf", *conf);
  if (!replicas.ok()) return replicas.status();
  if (replicas->empty()) return Status::InvalidArgument("--conf: names no replica");
  command.replicas = *replicas;

  Result<int64_t> timeout = flags.integer("--timeout-ms", command.timeout_ms, 1, 3600000);
  if (!timeout.ok()) return timeout.status();
  command.timeout_ms = *timeout;

  if (Status s = parse_peer_flag(*spec, flags, &command); !s.ok()) return s;
  if (Status s = parse_argument(*spec, positional, &command); !s.ok()) return s;
  return command;
}

int run_command(const CliCommand& command, rpc::CliClient& client, std::ostream& out,
                std::ostream& err) {
  PONTOON_CHECK(!command.help);
  switch (command.command) {
    case Command::kAddPeer:
      return report_change(command, client.add_peer(command.target), out, err);
    case Command::kRemovePeer:
      return report_change(command, client.remove_peer(command.target), out, err);
    case Command::kChangePeers:
      return report_change(command, client.change_peers(command.new_peers), out, err);
    case Command::kAddLearners:
      return report_change(command, client.add_learners(command.learners), out, err);
    case Command::kRemoveLearners:
      return report_change(command, client.remove_learners(command.learners), out, err);
    case Command::kResetLearners:
      return report_change(command, client.reset_learners(command.learners), out, err);
    case Command::kResetPeers:
      return report_change(command, client.reset_peers(command.peer, command.new_peers), out, err);
    case Command::kTransferLeader:
      return report_change(command, client.transfer_leader(command.target), out, err);
    case Command::kSnapshot:
      return report_change(command, client.snapshot(command.peer), out, err);
    case Command::kGetLeader: {
      Result<PeerId> leader = client.get_leader();
      if (!leader.ok()) return report_failure(command, leader.status(), err);
      out << *leader << "\n";
      return kExitOk;
    }
    case Command::kListPeers: {
      Result<Configuration> conf = client.list_peers();
      if (!conf.ok()) return report_failure(command, conf.status(), err);
      out << *conf << "\n";
      return kExitOk;
    }
    case Command::kStatus:
      return run_status(command, client, out, err);
  }
  return kExitFailed;
}

}  // namespace raft::cli
