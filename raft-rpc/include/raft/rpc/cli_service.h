// CliService: the operator's methods (proto/cli.proto, ids 100..199 in method_ids.h) for the
// Raft nodes of one process — add/remove peers and learners, change or reset the peers,
// transfer leadership, snapshot, and report the leader, the peers and the status.
//
//   raft::rpc::CliService cli;
//   cli.register_on(*transport);   // before transport->start()
//   transport->start();
//   node.init(options);
//   cli.add_node(&node);
//   ...
//   cli.remove_node(node.group_id());
//   node.shutdown(nullptr); node.join();
//   transport->shutdown();         // then cli may go
//
// Each request names a group (and optionally the peer id of the replica meant): ENOENT naming
// it if this process has no such replica. Leader-only methods (peer and learner changes,
// transfer) answer EPERM with not_leader_status() (leader_hint.h) on a replica that does not
// lead. Text that does not parse (a peer, a configuration) is EINVAL naming the argument.
// Those are the RPC's errors. Operations the node runs are answered when it runs their closure
// (from whichever thread that is) with a ChangeResponse that carries the closure's status.
//
// Thread-safety: every method may be called from any thread. The registry is guarded by one
// mutex, which handlers hold while they hand a request to the node (never while waiting for it).
// Lifetime: a registered Node must stay alive until remove_node() returned for its group;
// after that no handler touches it, though closures already handed to the node still run on it
// (the node answers them, at the latest with ESHUTDOWN while it shuts down). The CliService
// must outlive the IO of every transport it is registered on (destroy it after
// TcpTransport::shutdown()).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft::rpc {

class CliService {
 public:
  CliService() = default;
  CliService(const CliService&) = delete;
  CliService& operator=(const CliService&) = delete;

  // Serves the CLI methods on `transport`. EINVAL if an id is taken or the transport has
  // started (TcpTransport::register_method).
  Status register_on(TcpTransport& transport);

  // Makes `node` answer requests for its group. EINVAL if the group already has a node here.
  // REQUIRES: node != nullptr; it stays alive until remove_node(node->group_id()) returns.
  Status add_node(Node* node);
  // After this returns, no handler uses the group's node. No-op for an unknown group.
  void remove_node(const GroupId& group_id);

 private:
  struct Handlers;

  std::mutex mu_;
  std::map<GroupId, Node*> nodes_;  // Guarded by mu_. Invariant: no null pointers.
};

}  // namespace raft::rpc
