// AtomicClient: reads and writes the registers of an atomic-server group, through a
// LeaderClient (example/common/leader_client.h), which finds the leader and retries what may
// be retried: a set, cas or fetch-add only after failures that prove it was not applied
// (otherwise it ends kUnknown), a get or status after any failure.
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
#include "replica_status.h"

namespace atomic {

// A call's outcome (kOk, kUnknown for a write that may or may not have been applied, kFailed),
// and with kOk what it answered.
struct RegisterResult : example::CallResult {
  // get: the value; set: the value stored; cas: the register after (the new value if it
  // swapped, else the value it held); fetch-add: the value before.
  int64_t value = 0;
  bool swapped = false;  // cas only.
};

struct ReplicaStatus : example::ReplicaStatus {
  int64_t keys = 0;
};

class AtomicClient {
 public:
  // `endpoints` are the replicas ("ip:port"); `op_timeout` bounds one operation, retries
  // included. REQUIRES: endpoints non-empty; rpc outlives this object.
  AtomicClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
               raft::Duration op_timeout);

  RegisterResult get(const std::string& key);
  RegisterResult set(const std::string& key, int64_t value);
  RegisterResult compare_and_set(const std::string& key, int64_t expected, int64_t new_value);
  RegisterResult fetch_add(const std::string& key, int64_t delta);
  // Asks every replica at once, waiting at most `timeout` for each; one entry per endpoint.
  std::vector<ReplicaStatus> status_all(raft::Duration timeout);

 private:
  example::LeaderClient leader_;
};

}  // namespace atomic
