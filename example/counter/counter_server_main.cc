// counter-server: one replica of a replicated counter (see README in this directory).
//
// Opens DIR/log (RocksDB) and DIR/raft_meta, serves Raft and the counter's methods on --peer,
// and runs until SIGTERM or SIGINT, then shuts the node down cleanly and exits 0.
// Exit codes: 0 after a clean shutdown, 1 when it cannot start (storage, port), 2 for bad flags.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "counter_service.h"
#include "counter_state_machine.h"
#include "raft/logging.h"
#include "raft/node.h"
#include "raft/node_options.h"
#include "raft/rpc/tcp_transport.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/local_snapshot_storage.h"
#include "raft/storage/rocksdb_log_store.h"
#include "server_flags.h"

namespace counter {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitCannotRun = 1;
constexpr int kExitUsage = 2;

int fail(const std::string& what, const raft::Status& status) {
  std::cerr << "counter-server: " << what << ": " << status << std::endl;
  return kExitCannotRun;
}

// The heartbeat must stay below the election timeout; keep the default (100 ms) unless the
// timeout is so short that it would not.
int64_t heartbeat_interval_ms(int64_t election_timeout_ms, int64_t default_ms) {
  if (default_ms < election_timeout_ms) return default_ms;
  return std::max<int64_t>(1, election_timeout_ms / 10);
}

int wait_for_stop_signal(const sigset_t& signals) {
  int signal = 0;
  while (sigwait(&signals, &signal) != 0) {
  }
  return signal;
}

int run(const ServerFlags& flags, const sigset_t& stop_signals) {
  raft::Result<std::shared_ptr<raft::RocksDBLogStore>> store =
      raft::RocksDBLogStore::open(flags.data_dir + "/log");
  if (!store.ok()) return fail("opening " + flags.data_dir + "/log", store.status());
  raft::Result<std::shared_ptr<raft::LogStorage>> log = (*store)->open_group(flags.group);
  if (!log.ok()) return fail("opening the log of group " + flags.group, log.status());
  raft::Result<std::unique_ptr<raft::FileRaftMetaStorage>> meta =
      raft::FileRaftMetaStorage::open(flags.data_dir + "/raft_meta");
  if (!meta.ok()) return fail("opening " + flags.data_dir + "/raft_meta", meta.status());

  raft::Result<std::unique_ptr<raft::LocalSnapshotStorage>> snapshots =
      raft::LocalSnapshotStorage::open(raft::PosixFileSystem::instance(),
                                       flags.data_dir + "/snapshot");
  if (!snapshots.ok()) return fail("opening " + flags.data_dir + "/snapshot", snapshots.status());

  auto transport = std::make_shared<raft::rpc::TcpTransport>(flags.peer.endpoint());
  // Declared before the node: the node borrows it until join() returns.
  CounterStateMachine fsm("counter " + flags.peer.to_string());
  raft::Node node(flags.group, flags.peer);
  CounterService service(&node, &fsm);
  if (raft::Status s = service.register_methods(*transport); !s.ok()) {
    return fail("registering the counter methods", s);
  }
  if (raft::Status s = transport->start(); !s.ok()) return fail("listening on --peer", s);

  raft::NodeOptions options;
  options.election_timeout_ms = flags.election_timeout_ms;
  options.heartbeat_interval_ms =
      heartbeat_interval_ms(flags.election_timeout_ms, options.heartbeat_interval_ms);
  options.initial_conf = flags.conf;
  options.fsm = &fsm;
  options.log_storage = std::move(log).value();
  options.meta_storage = std::move(meta).value();
  options.transport = transport;
  options.snapshot_storage = std::move(snapshots).value();
  options.snapshot_interval_s = flags.snapshot_interval_s;
  options.snapshot_log_index_margin = flags.snapshot_log_index_margin;
  if (raft::Status s = node.init(options); !s.ok()) {
    transport->shutdown();
    return fail("starting the node", s);
  }
  std::cout << "counter-server: group " << flags.group << ", peer " << flags.peer << " of "
            << flags.conf << ", data " << flags.data_dir << ", election timeout "
            << flags.election_timeout_ms << " ms, snapshot every " << flags.snapshot_interval_s
            << " s";
  if (flags.snapshot_log_index_margin > 0) {
    std::cout << " or " << flags.snapshot_log_index_margin << " entries";
  }
  std::cout << "; serving on " << transport->listen_address() << " (SIGTERM to stop)" << std::endl;

  const int signal = wait_for_stop_signal(stop_signals);
  PONTOON_LOG(kInfo) << "counter-server: got signal " << signal << ", shutting down";
  node.shutdown(nullptr);
  node.join();
  // After the node: responses to proposals that the shutdown failed still go out.
  transport->shutdown();
  std::cout << "counter-server: stopped (value " << fsm.value() << " at applied index "
            << fsm.applied_index() << ")" << std::endl;
  return kExitOk;
}

}  // namespace
}  // namespace counter

int main(int argc, char** argv) {
  using counter::ServerFlags;
  raft::Result<ServerFlags> flags =
      counter::parse_server_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << "counter-server: " << flags.status().message() << " (" << ServerFlags::kUsage
              << ")" << std::endl;
    return counter::kExitUsage;
  }
  if (flags->help) {
    std::cout << ServerFlags::kUsage << std::endl;
    return counter::kExitOk;
  }
  // Blocked before any thread starts, so every thread inherits the mask and the signals are
  // only ever taken by sigwait() in main.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return counter::run(*flags, stop_signals);
}
