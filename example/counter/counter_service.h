// CounterService: the counter's RPC methods (counter.proto), served on a replica's Raft port.
//
// Increment is proposed to the Raft group and answered from the entry's CounterClosure once it
// is applied. Get is answered as --read says (service_reads.h): by default with ReadIndex,
// without the log, on any replica; with kLog proposed like an increment. Both are
// linearizable. A replica that is not the leader
// proposes nothing and answers EPERM with a leader hint; proposal failures are mapped by
// proposal_failure_status() (example/common/service_protocol.h). Status answers from what this
// replica knows.
//
// Thread-safety: the handlers run on IO threads and may run concurrently; they never block.
// Responses to proposals are sent from the node's state-machine or node lane.
// Ownership: borrows the node and the state machine; both must outlive every handler call,
// i.e. shut the transport down before destroying them.
#pragma once

#include <string>

#include "counter_state_machine.h"
#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/rpc/tcp_transport.h"
#include "service_reads.h"

namespace counter {

class CounterService {
 public:
  // `inject_stale_gets` is a TEST HOOK (counter-server --inject-stale-gets): every get that
  // succeeds answers one less than the value read, as a replica serving an old state would,
  // so that a test can show the load client's stale-read check catches it.
  CounterService(raft::Node* node, const CounterStateMachine* fsm,
                 example::ServiceReadMode read_mode = example::ServiceReadMode::kIndex,
                 bool inject_stale_gets = false)
      : node_(node), fsm_(fsm), read_mode_(read_mode), inject_stale_gets_(inject_stale_gets) {}

  CounterService(const CounterService&) = delete;
  CounterService& operator=(const CounterService&) = delete;

  // Registers kCounterIncrement, kCounterGet and kCounterStatus.
  // REQUIRES: the transport has not started.
  raft::Status register_methods(raft::rpc::TcpTransport& transport);

  void handle_increment(const std::string& request_body, raft::rpc::RpcServer::Responder respond);
  void handle_get(const std::string& request_body, raft::rpc::RpcServer::Responder respond);
  void handle_status(const std::string& request_body, raft::rpc::RpcServer::Responder respond);

 private:
  raft::Node* const node_;
  const CounterStateMachine* const fsm_;
  const example::ServiceReadMode read_mode_;
  const bool inject_stale_gets_;
};

}  // namespace counter
