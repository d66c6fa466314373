#include "raft/rpc/leader_hint.h"

#include <string>

namespace raft::rpc {
namespace {

constexpr std::string_view kHintKey = "leader_hint=";

}  // namespace

Status not_leader_status(const PeerId& leader, std::string_view context) {
  std::string message(context);
  if (!message.empty()) message += ": ";
  message += "not the leader; ";
  if (leader.empty()) return Status::NotLeader(message + "no leader known");
  return Status::NotLeader(message + std::string(kHintKey) + leader.to_string());
}

std::optional<PeerId> leader_hint(const Status& status) {
  if (!status.is_not_leader()) return std::nullopt;
  const std::string_view message = status.message();
  const size_t at = message.find(kHintKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view hint = message.substr(at + kHintKey.size());
  hint = hint.substr(0, hint.find_first_of(" ;,"));
  // Only a well-formed peer is worth following.
  Result<PeerId> peer = PeerId::parse(hint);
  if (!peer.ok()) return std::nullopt;
  return *peer;
}

}  // namespace raft::rpc
