// LeaderClient: calls one method of a replicated example service on the group's leader,
// finding the leader on the way and retrying what service_protocol.h says may be retried.
//
// A call tries the replica it believes leads (initially the first in the list), follows EPERM
// leader hints, and moves on to the next replica when one cannot be reached or goes silent (a
// write that timed out there ends kUnknown, and the next call starts at the next replica),
// backing off
// briefly (a few ms, doubling up to 200 ms) between attempts that do not follow a fresh hint,
// until the call's timeout. What it may retry depends on what the failure proves:
//   - a write retries only failures that prove it was not applied; any other failure ends it
//     with kUnknown, because retrying could apply it twice;
//   - a read retries every failure, giving up on one replica after 2 s.
//
// Thread-safety: every method may be called from any thread concurrently; the leader guess is
// shared. Ownership: borrows the RpcClient, which must outlive this object.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "raft/clock.h"
#include "raft/rpc/rpc_client.h"
#include "raft/status.h"

namespace example {

struct CallResult {
  enum class Outcome {
    kOk,       // Done; `body` holds the response message.
    kUnknown,  // A write that may or may not have been applied.
    kFailed,   // Definitely not applied: the timeout passed, or the request was rejected.
  };
  Outcome outcome = Outcome::kFailed;
  std::string body;
  // For kUnknown and kFailed: the last failure, and the replica it came from.
  raft::Status error;
  std::string endpoint;
  int attempts = 0;
};

// One replica's answer to a call made to every replica.
struct Reply {
  raft::Status status;
  std::string body;
};

class LeaderClient {
 public:
  // `endpoints` are the replicas ("ip:port"); `op_timeout` bounds one call, retries included.
  // REQUIRES: endpoints non-empty; rpc outlives this object.
  LeaderClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
               raft::Duration op_timeout);

  // Calls `method_id` with `request` on the leader. `read_only` allows retrying failures whose
  // outcome is unknown (a read changes nothing).
  CallResult call_leader(uint32_t method_id, const std::string& request, bool read_only);

  // Calls `method_id` on every replica at once, waiting at most `timeout` for each; one reply
  // per endpoint, in the order given.
  std::vector<Reply> call_each(uint32_t method_id, const std::string& request,
                               raft::Duration timeout);

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  // One blocking call.
  Reply call(const std::string& endpoint, uint32_t method_id, const std::string& body,
             raft::Duration timeout);

  std::string leader_guess() const;
  void remember_leader(const std::string& endpoint);
  // The replica after `endpoint` in the list (the first if it is not in the list).
  std::string next_after(const std::string& endpoint) const;
  // `endpoint` failed to answer: if it is the leader guess, the guess moves to the next one.
  void move_on_from(const std::string& endpoint);

  raft::rpc::RpcClient* const rpc_;
  const std::vector<std::string> endpoints_;
  const raft::Duration op_timeout_;

  mutable std::mutex mu_;
  std::string leader_;  // Guarded by mu_. The replica believed to lead.
};

// Parses the body of an OK result into `response`. If it does not parse (the server applied
// the request and sent something unreadable), turns `result` into kFailed for a read or
// kUnknown for a write, with ECORRUPTION, and returns false.
template <typename Message>
bool parse_response(CallResult* result, Message* response, bool read_only) {
  if (result->outcome != CallResult::Outcome::kOk) return false;
  if (response->ParseFromString(result->body)) return true;
  result->outcome = read_only ? CallResult::Outcome::kFailed : CallResult::Outcome::kUnknown;
  result->error = raft::Status::Corruption("unparseable " + response->GetTypeName());
  return false;
}

}  // namespace example
