// run_replica: what every example replica process does around its service — open the log and
// the Raft meta storage under --data, serve Raft, the service's methods and the CLI service
// (raft/rpc/cli_service.h, for raft-cli) on --peer, start the node (with --join, outside any
// configuration until a leader adds it), and run until SIGTERM or SIGINT, then shut the node
// down cleanly. With --inject-disk-eio-on-signal (a test hook) the log and the meta storage
// go through fault-injecting decorators that SIGUSR2 arms.
//
// The program owns the state machine, the node and the service (declared in that order, so
// that the service goes first and the state machine last); run_replica borrows them. Storage
// layout: DIR/log (RocksDB, the group's log) or, with --log-storage segments, DIR/log-segments
// (FileLogStorage); DIR/raft_meta (term and vote); DIR/snapshot (LocalSnapshotStorage).
//
// Thread-safety: call from the main thread, after block_stop_signals() and before starting any
// other thread, so that only sigwait() in run_replica ever takes the stop signals.
#pragma once

#include <signal.h>

#include <functional>
#include <string>

#include "exit_codes.h"
#include "raft/node.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/state_machine.h"
#include "raft/status.h"
#include "server_flags.h"

namespace example {

// Blocks SIGTERM and SIGINT in the calling thread (and every thread it starts later) and
// returns the set, for run_replica to wait on. With flags.inject_disk_eio_on_signal, SIGUSR2
// too: run_replica's sigwait() takes it and arms the injected disk fault, so no signal handler
// runs at all (nothing has to be async-signal-safe).
sigset_t block_stop_signals(const ServerFlags& flags);

// Registers the service's methods on `transport` before it starts.
using RegisterService = std::function<raft::Status(raft::rpc::TcpTransport& transport)>;

// Runs the replica until a stop signal. Returns kExitOk after a clean shutdown, kExitCannotRun
// (with a line on stderr prefixed by `program`) when storage, the port or the node cannot
// start. REQUIRES: `node` was constructed with flags.group and flags.peer and not initialised;
// fsm, node and the registered service outlive the call.
int run_replica(const std::string& program, const ServerFlags& flags, raft::StateMachine* fsm,
                raft::Node* node, const RegisterService& register_service,
                const sigset_t& stop_signals);

}  // namespace example
