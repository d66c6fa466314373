// The bench service: what a replica process serves to the driver's clients, beside Raft on
// the same TcpTransport (method ids kBench* in raft/rpc/method_ids.h, messages in
// bench_protocol.h).
//
//   kBenchWrite   Node::apply of the payload on that group; OK once applied on this replica
//                 (which must be the group's leader: EPERM otherwise).
//   kBenchRead    Node::read_index in the requested mode on this replica (leader or follower);
//                 OK once the read is linearizable here.
//   kBenchStatus  which groups this replica leads, and its sync counters.
//
// Handlers run on IO threads and never block: they hand the work to the node and answer from
// its closure.
#pragma once

#include "bench_protocol.h"
#include "raft/rpc/tcp_transport.h"
#include "replica_host.h"

namespace bench {

// Registers the three methods. `host` must outlive the transport's IO (ReplicaHost::shutdown
// stops the transport). REQUIRES: the transport has not started.
raft::Status register_bench_service(raft::rpc::TcpTransport& transport, const ReplicaHost* host);

// What kBenchStatus answers, also used in one process.
ReplicaStatus replica_status(const ReplicaHost& host);

}  // namespace bench
