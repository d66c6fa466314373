// AtomicService: the atomic register service's RPC methods (atomic.proto), served on a
// replica's Raft port.
//
// Set, CompareAndSet and FetchAdd are proposed to the Raft group and answered from the entry's
// AtomicClosure once it is applied (example/common/service_handlers.h: EPERM with a leader
// hint from a replica that does not lead, proposal failures mapped by
// proposal_failure_status()). Get is answered as --read says (service_reads.h): by default with
// ReadIndex, without the log, on any replica; with kLog proposed like the others. All are
// linearizable. A request with a bad key is refused with EINVAL before anything is proposed or
// read. Status answers from what this replica knows.
//
// Thread-safety: the handlers run on IO threads and may run concurrently; they never block.
// Answers are sent from the node's state-machine or node lane (wait-free gets read the state
// machine there, concurrently with on_apply, which AtomicStateMachine::value() allows).
// Ownership: borrows the node and the state machine; both must outlive every handler call,
// i.e. shut the transport down before destroying them.
#pragma once

#include <string>

#include "atomic_state_machine.h"
#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/rpc/tcp_transport.h"
#include "service_reads.h"

namespace atomic {

class AtomicService {
 public:
  AtomicService(raft::Node* node, const AtomicStateMachine* fsm,
                example::ServiceReadMode read_mode = example::ServiceReadMode::kIndex)
      : node_(node), fsm_(fsm), read_mode_(read_mode) {}

  AtomicService(const AtomicService&) = delete;
  AtomicService& operator=(const AtomicService&) = delete;

  // Registers kAtomicGet, kAtomicSet, kAtomicCompareAndSet, kAtomicFetchAdd and kAtomicStatus.
  // REQUIRES: the transport has not started.
  raft::Status register_methods(raft::rpc::TcpTransport& transport);

  void handle_get(const std::string& request_body, raft::rpc::RpcServer::Responder respond);
  void handle_set(const std::string& request_body, raft::rpc::RpcServer::Responder respond);
  void handle_compare_and_set(const std::string& request_body,
                              raft::rpc::RpcServer::Responder respond);
  void handle_fetch_add(const std::string& request_body, raft::rpc::RpcServer::Responder respond);
  void handle_status(const std::string& request_body, raft::rpc::RpcServer::Responder respond);

 private:
  // Proposes `command` (if its key is valid) and answers `encode(result)` once applied.
  template <typename Encode>
  void propose(AtomicCommand command, raft::rpc::RpcServer::Responder respond, Encode encode);

  raft::Node* const node_;
  const AtomicStateMachine* const fsm_;
  const example::ServiceReadMode read_mode_;
};

}  // namespace atomic
