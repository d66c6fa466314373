// CounterClient: increments and reads a counter cluster, finding its leader on the way.
//
// An operation tries the replica it believes leads (initially the first in the list), follows
// EPERM leader hints, and moves on to the next replica when one cannot be reached, backing off
// briefly (a few ms, doubling up to 200 ms) between attempts that do not follow a fresh hint,
// until the operation's timeout. What it may retry depends on what the failure proves
// (counter_protocol.h):
//   - increment retries only failures that prove the increment was not applied; any other
//     failure ends it with kUnknown, because retrying could count it twice;
//   - get and status are read-only, so they retry every failure.
//
// Thread-safety: every method may be called from any thread concurrently; the leader guess is
// shared. Ownership: borrows the RpcClient, which must outlive this object.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "raft/clock.h"
#include "raft/rpc/rpc_client.h"
#include "raft/status.h"

namespace counter {

struct OpResult {
  enum class Outcome {
    kOk,       // Done; `value` holds the counter after it.
    kUnknown,  // An increment that may or may not have been applied.
    kFailed,   // Definitely not applied: the timeout passed, or the request was rejected.
  };
  Outcome outcome = Outcome::kFailed;
  int64_t value = 0;
  // For kUnknown and kFailed: the last failure, and the replica it came from.
  raft::Status error;
  std::string endpoint;
  int attempts = 0;
};

// One replica's answer to a status call.
struct ReplicaStatus {
  std::string endpoint;
  raft::Status error;  // Not OK if the replica did not answer; the fields below are then unset.
  std::string role;
  int64_t term = 0;
  std::string leader;
  int64_t first_log_index = 0;
  int64_t last_log_index = 0;
  int64_t commit_index = 0;
  int64_t applied_index = 0;
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

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  struct Reply {
    raft::Status status;
    std::string body;
  };
  // One blocking call.
  Reply call(const std::string& endpoint, uint32_t method_id, const std::string& body,
             raft::Duration timeout);
  // The retry loop shared by increment and get; `read_only` allows retrying unknown outcomes.
  OpResult run(uint32_t method_id, const std::string& request, bool read_only);

  std::string leader_guess() const;
  void remember_leader(const std::string& endpoint);
  // The replica after `endpoint` in the list (the first if it is not in the list).
  std::string next_after(const std::string& endpoint) const;

  raft::rpc::RpcClient* const rpc_;
  const std::vector<std::string> endpoints_;
  const raft::Duration op_timeout_;

  mutable std::mutex mu_;
  std::string leader_;  // Guarded by mu_. The replica believed to lead.
};

}  // namespace counter
