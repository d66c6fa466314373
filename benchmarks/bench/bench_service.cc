#include "bench_service.h"

#include <memory>
#include <utility>

#include "bench_protocol.h"
#include "raft/rpc/method_ids.h"

namespace bench {
namespace {

using raft::rpc::RpcServer;

// The node of `group`, or the error to answer with.
raft::Result<raft::Node*> find_node(const ReplicaHost* host, uint32_t group) {
  if (!host->started()) return raft::Status::Again("replica has not started its groups yet");
  if (group >= static_cast<uint32_t>(host->groups())) {
    return raft::Status::InvalidArgument("no group " + std::to_string(group));
  }
  return host->node(static_cast<int>(group));
}

void serve_write(const ReplicaHost* host, const std::string& body, RpcServer::Responder respond) {
  uint32_t group = 0;
  std::string_view payload;
  raft::Status s = decode_write_request(body, &group, &payload);
  raft::Result<raft::Node*> node = s.ok() ? find_node(host, group) : s;
  if (!node.ok()) return respond(node.status(), std::string());
  (*node)->apply(raft::Task{
      std::string(payload),
      raft::make_closure([respond = std::move(respond)](const raft::Status& status) mutable {
        respond(status, std::string());
      })});
}

void serve_read(const ReplicaHost* host, const std::string& body, RpcServer::Responder respond) {
  uint32_t group = 0;
  raft::ReadMode mode = raft::ReadMode::kSafe;
  raft::Status s = decode_read_request(body, &group, &mode);
  raft::Result<raft::Node*> node = s.ok() ? find_node(host, group) : s;
  if (!node.ok()) return respond(node.status(), std::string());
  (*node)->read_index(
      raft::make_read_index_closure(
          [respond = std::move(respond)](const raft::Status& status, raft::LogIndex) mutable {
            respond(status, std::string());
          }),
      mode);
}

}  // namespace

ReplicaStatus replica_status(const ReplicaHost& host) {
  ReplicaStatus status;
  status.synced_writes = host.fsyncs();
  status.synced_entries = host.sync_counters().synced_entries.load(std::memory_order_relaxed);
  if (!host.started()) return status;
  for (int g = 0; g < host.groups(); ++g) status.leads.push_back(host.node(g)->is_leader());
  return status;
}

raft::Status register_bench_service(raft::rpc::TcpTransport& transport, const ReplicaHost* host) {
  namespace method = raft::rpc::method;
  raft::Status s = transport.register_method(
      method::kBenchWrite, [host](const std::string& body, RpcServer::Responder respond) {
        serve_write(host, body, std::move(respond));
      });
  if (s.ok()) {
    s = transport.register_method(method::kBenchRead,
                                  [host](const std::string& body, RpcServer::Responder respond) {
                                    serve_read(host, body, std::move(respond));
                                  });
  }
  if (s.ok()) {
    s = transport.register_method(
        method::kBenchStatus, [host](const std::string&, RpcServer::Responder respond) {
          respond(raft::Status::OK(), encode_status_response(replica_status(*host)));
        });
  }
  return s;
}

}  // namespace bench
