#include "service_reads.h"

#include <memory>
#include <utility>

#include "service_protocol.h"

namespace example {
namespace {

struct ModeName {
  ServiceReadMode mode;
  std::string_view name;
};
constexpr ModeName kModes[] = {{ServiceReadMode::kIndex, "index"},
                               {ServiceReadMode::kLease, "lease"},
                               {ServiceReadMode::kWaitFree, "wait-free"},
                               {ServiceReadMode::kLog, "log"}};

raft::ReadMode raft_mode(ServiceReadMode mode) {
  switch (mode) {
    case ServiceReadMode::kLease:
      return raft::ReadMode::kLease;
    case ServiceReadMode::kWaitFree:
      return raft::ReadMode::kWaitFree;
    default:
      return raft::ReadMode::kSafe;
  }
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

void serve_read(raft::Node* node, ServiceReadMode mode, raft::rpc::RpcServer::Responder respond,
                std::function<std::string()> answer) {
  node->read_index(
      raft::make_read_index_closure(
          [node, respond = std::move(respond), answer = std::move(answer)](
              const raft::Status& status, raft::LogIndex) {
            if (status.ok()) {
              respond(raft::Status::OK(), answer());
            } else if (status.is_not_leader()) {
              respond(not_leader_status(node->leader_id()), std::string());
            } else {
              // Nothing was changed by a read: every other failure is "retry".
              respond(raft::Status::Busy("read not served (" + status.to_string() + "); retry"),
                      std::string());
            }
          }),
      raft_mode(mode));
}

}  // namespace example
