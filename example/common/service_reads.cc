#include "service_reads.h"

#include <memory>
#include <utility>

#include "service_protocol.h"

namespace example {
namespace {

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
