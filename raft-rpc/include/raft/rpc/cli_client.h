// CliClient: synchronous calls to the CliService (cli_service.h) of one group's replicas, for
// raft-cli and tests.
//
//   raft::rpc::CliClient cli(&rpc, "counter", {peer1, peer2, peer3}, std::chrono::seconds(5));
//   raft::rpc::ChangeResult added = cli.add_peer(new_peer);
//
// Every call returns within about `timeout`. Leader-only operations find the leader first:
// they ask the replicas for it (get-leader), follow EPERM redirects (leader_hint.h) and, while
// no replica knows one (an election), retry every few milliseconds, doubling up to 200 ms.
// Once a request that changes something has been sent to a leader it is never resent: if no
// answer comes (ETIMEDOUT, or the connection broke) or the leader answers ESTEPDOWN, the
// change may still complete, and the result says that its outcome is unknown.
//
// Thread-safety: every method may be called from any thread concurrently. Ownership: borrows
// the RpcClient, which must outlive this object.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "raft/clock.h"
#include "raft/configuration.h"
#include "raft/node.h"
#include "raft/peer_id.h"
#include "raft/rpc/rpc_client.h"
#include "raft/status.h"

namespace raft::rpc {

// The outcome of an operation that changes the group (membership, transfer, reset, snapshot).
struct ChangeResult {
  Status status;  // OK, or the last failure.
  // The change reached a replica and may still take effect (ESTEPDOWN, or no answer in time).
  // Implies !status.ok().
  bool outcome_unknown = false;
  // The replica that answered last (or was last tried).
  PeerId replica;

  bool ok() const { return status.ok(); }
};

class CliClient {
 public:
  // `replicas` are the group's replicas to ask (their endpoints are where requests go); the
  // requests name `group_id`. REQUIRES: rpc != nullptr, outlives this object; replicas
  // non-empty; timeout > 0.
  CliClient(RpcClient* rpc, GroupId group_id, std::vector<PeerId> replicas, Duration timeout);

  // On the leader (raft::Node's membership contract: EBUSY, ECATCHUP, EINVAL, ...).
  ChangeResult add_peer(const PeerId& peer);
  ChangeResult remove_peer(const PeerId& peer);
  ChangeResult change_peers(const Configuration& new_peers);
  ChangeResult add_learners(const std::vector<PeerId>& learners);
  ChangeResult remove_learners(const std::vector<PeerId>& learners);
  ChangeResult reset_learners(const std::vector<PeerId>& learners);
  // An empty `peer`: whichever voter is most up to date.
  ChangeResult transfer_leader(const PeerId& peer);
  // On `replica` only (UNSAFE, Node::reset_peers). REQUIRES: !replica.empty().
  ChangeResult reset_peers(const PeerId& replica, const Configuration& new_peers);
  // On `replica`, or on the leader if it is empty.
  ChangeResult snapshot(const PeerId& replica);

  // The leader named at the highest term by the replicas that know one; ETIMEDOUT if none did
  // in time.
  Result<PeerId> get_leader();
  // The leader's configuration (voters and learners).
  Result<Configuration> list_peers();
  // What `replica` reports, waiting at most `timeout` (not retried).
  Result<NodeStatus> status(const PeerId& replica);

  const std::vector<PeerId>& replicas() const { return replicas_; }

 private:
  struct Reply {
    Status status;
    std::string body;
  };
  // One blocking call of `method_id` at `replica`'s endpoint.
  Reply call(const PeerId& replica, uint32_t method_id, const std::string& body, Duration timeout);
  // Asks every replica, until a round finds a leader: the one named at the highest term (a
  // replica removed from the group keeps naming the last leader it heard of), and at equal
  // terms one that names itself. ETIMEDOUT at `deadline`; ENOENT at once if every replica
  // answers that it does not host the group.
  Result<PeerId> find_leader(std::chrono::steady_clock::time_point deadline);
  // Sends `request` (its target filled in) to the leader, as the class comment says.
  template <typename Request>
  ChangeResult call_leader(uint32_t method_id, const Request& request);
  ChangeResult call_replica(uint32_t method_id, const PeerId& replica, std::string body);

  RpcClient* const rpc_;
  const GroupId group_id_;
  const std::vector<PeerId> replicas_;
  const Duration timeout_;
};

// The text of a NodeStatus role (raft::role_name) back as a Role; nothing for other text.
std::optional<Role> parse_role(std::string_view name);

}  // namespace raft::rpc
