#include "atomic_flags.h"

#include <optional>

#include "atomic_command.h"
#include "flag_parser.h"

namespace atomic {
namespace {

using Command = AtomicClientFlags::Command;

raft::Status bad(const std::string& what, const std::string& why) {
  return raft::Status::InvalidArgument(what + ": " + why);
}

struct CommandShape {
  const char* name;
  Command command;
  // The words after the command name.
  std::vector<const char*> arguments;
};

const std::vector<CommandShape>& command_shapes() {
  static const std::vector<CommandShape> shapes = {
      {"get", Command::kGet, {"KEY"}},
      {"set", Command::kSet, {"KEY", "VALUE"}},
      {"cas", Command::kCompareAndSet, {"KEY", "EXPECTED", "NEW"}},
      {"fetch-add", Command::kFetchAdd, {"KEY", "DELTA"}},
      {"status", Command::kStatus, {}},
  };
  return shapes;
}

raft::Status parse_command(const std::vector<std::string>& words, AtomicClientFlags* flags) {
  if (words.empty()) {
    return raft::Status::InvalidArgument("missing command (get, set, cas, fetch-add or status)");
  }
  const std::string& name = words[0];
  const CommandShape* shape = nullptr;
  for (const CommandShape& candidate : command_shapes()) {
    if (name == candidate.name) shape = &candidate;
  }
  if (shape == nullptr) return raft::Status::InvalidArgument("unknown command '" + name + "'");
  flags->command = shape->command;
  const size_t wanted = shape->arguments.size();
  if (words.size() - 1 < wanted) {
    return bad(name, std::string("missing ") + shape->arguments[words.size() - 1]);
  }
  if (words.size() - 1 > wanted) {
    return bad(name, "unexpected argument '" + words[wanted + 1] + "'");
  }
  if (wanted == 0) return raft::Status::OK();
  flags->key = words[1];
  if (raft::Status s = validate_key(flags->key); !s.ok()) {
    return bad(name, "KEY: " + std::string(s.message()));
  }
  int64_t* numbers[] = {&flags->operand, &flags->new_value};
  for (size_t i = 1; i < wanted; ++i) {
    std::optional<int64_t> number = example::parse_int64(words[i + 1]);
    if (!number) {
      return bad(
          name, std::string(shape->arguments[i]) + " '" + words[i + 1] + "' is not a whole number");
    }
    *numbers[i - 1] = *number;
  }
  return raft::Status::OK();
}

}  // namespace

raft::Result<AtomicClientFlags> parse_atomic_client_flags(const std::vector<std::string>& args) {
  std::set<std::string> known = example::cluster_flag_names();
  known.insert("--help");
  example::FlagParser parser(std::move(known), {"--help"});
  if (raft::Status s = parser.parse(args); !s.ok()) return s;
  AtomicClientFlags flags;
  if (parser.has("--help")) {
    flags.help = true;
    return flags;
  }
  raft::Result<example::ClusterFlags> cluster = example::parse_cluster_flags(parser);
  if (!cluster.ok()) return cluster.status();
  flags.cluster = std::move(cluster).value();
  if (raft::Status s = parse_command(parser.positional(), &flags); !s.ok()) return s;
  return flags;
}

}  // namespace atomic
