// CounterClient: increments and reads a counter cluster, through a LeaderClient
// (example/common/leader_client.h), which finds the leader and retries what may be retried:
// an increment only after failures that prove it was not applied (otherwise it ends kUnknown,
// because retrying could count it twice), a get or status after any failure.
//
// Thread-safety: every method may be called from any thread concurrently. Ownership: borrows
// the RpcClient, which must outlive this object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leader_client.h"
#include "raft/clock.h"
#include "raft/rpc/rpc_client.h"
#include "raft/status.h"
#include "replica_status.h"

namespace counter {

// A call's outcome (kOk, kUnknown for an increment that may or may not have been applied,
// kFailed), and with kOk the counter after the operation.
struct OpResult : example::CallResult {
  int64_t value = 0;
};

// One replica's answer to a status call.
struct ReplicaStatus : example::ReplicaStatus {
  int64_t value = 0;
};

class CounterClient {
 public:
  // `endpoints` are the replicas ("ip:port"); `op_timeout` bounds one operation, retries
  // included. REQUIRES: endpoints non-empty; rpc outlives this object.
  CounterClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
                raft::Duration op_timeout);

  OpResult increment(int64_t delta);
  OpResult get();
  // Asks every replica at once, waiting at most `timeout` for each; one entry per endpoint, in
  // the order given.
  std::vector<ReplicaStatus> status_all(raft::Duration timeout);

  const std::vector<std::string>& endpoints() const { return leader_.endpoints(); }

 private:
  example::LeaderClient leader_;
};

}  // namespace counter
