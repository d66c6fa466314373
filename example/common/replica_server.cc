#include "replica_server.h"

#include <pthread.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "raft/check.h"
#include "raft/executor_pool.h"
#include "raft/logging.h"
#include "raft/node_options.h"
#include "raft/rate_scaled_runtime.h"
#include "raft/rpc/cli_service.h"
#include "raft/storage/fault_injecting_log_storage.h"
#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_meta_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/local_snapshot_storage.h"
#include "raft/storage/rocksdb_log_store.h"

namespace example {
namespace {

static_assert(ServerFlags::kMinLogSegmentBytes == raft::FileLogStorage::kMinSegmentBytes);
static_assert(ServerFlags::kMaxLogSegmentBytes == raft::FileLogStorage::kMaxSegmentBytes);

int fail(const std::string& program, const std::string& what, const raft::Status& status) {
  std::cerr << program << ": " << what << ": " << status << std::endl;
  return kExitCannotRun;
}

// The heartbeat must stay below the election timeout; keep the default (100 ms) unless the
// timeout is so short that it would not.
int64_t heartbeat_interval_ms(int64_t election_timeout_ms, int64_t default_ms) {
  if (default_ms < election_timeout_ms) return default_ms;
  return std::max<int64_t>(1, election_timeout_ms / 10);
}

// Waits for SIGTERM or SIGINT. A SIGUSR2 in between (only in `signals` with the test hook)
// arms `fault`: the sigwait() thread, not a handler, so arming may log and allocate.
int wait_for_stop_signal(const sigset_t& signals, raft::InjectedDiskFault* fault) {
  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal != SIGUSR2) return signal;
    if (fault != nullptr) {
      fault->arm();
      PONTOON_LOG(kWarn) << "test hook --inject-disk-eio-on-signal: SIGUSR2 armed the "
                            "injected disk fault; every log and meta write and log read "
                            "now fails with EIO";
    }
  }
}

// Opens the group's log where --log-storage says: DIR/log (RocksDB) or DIR/log-segments.
raft::Result<std::shared_ptr<raft::LogStorage>> open_log(const ServerFlags& flags) {
  if (flags.log_storage == LogStorageKind::kSegments) {
    raft::FileLogStorage::Options options;
    options.segment_max_bytes = static_cast<uint64_t>(flags.log_segment_max_bytes);
    options.preallocate_segments = flags.log_preallocate;
    raft::Result<std::unique_ptr<raft::FileLogStorage>> log = raft::FileLogStorage::open(
        raft::PosixFileSystem::instance(), flags.data_dir + "/" + std::string(kSegmentLogDir),
        flags.group, options);
    if (!log.ok()) return log.status();
    return std::shared_ptr<raft::LogStorage>(std::move(log).value());
  }
  // Each LogStorage keeps its store alive.
  raft::Result<std::shared_ptr<raft::RocksDBLogStore>> store =
      raft::RocksDBLogStore::open(flags.data_dir + "/" + std::string(kRocksDBLogDir));
  if (!store.ok()) return store.status();
  return (*store)->open_group(flags.group);
}

// The node's runtime: the process-wide pool (null), or with the --clock-rate test hook the pool
// with its clock and timers scaled. The pool is never destroyed, so it is borrowed, not owned.
std::shared_ptr<raft::Runtime> node_runtime(const ServerFlags& flags) {
  if (flags.clock_rate == 1.0) return nullptr;
  std::shared_ptr<raft::Runtime> pool(std::shared_ptr<void>(), &raft::ExecutorPool::default_pool());
  return std::make_shared<raft::RateScaledRuntime>(std::move(pool), flags.clock_rate);
}

std::string log_description(const ServerFlags& flags) {
  if (flags.log_storage == LogStorageKind::kSegments) {
    return "log in " + std::string(flags.log_preallocate ? "preallocated " : "") + "segments of " +
           std::to_string(flags.log_segment_max_bytes) + " bytes";
  }
  return "log in RocksDB";
}

}  // namespace

sigset_t block_stop_signals(const ServerFlags& flags) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (flags.inject_disk_eio_on_signal) sigaddset(&stop_signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

int run_replica(const std::string& program, const ServerFlags& flags, raft::StateMachine* fsm,
                raft::Node* node, const RegisterService& register_service,
                const sigset_t& stop_signals) {
  raft::Result<std::shared_ptr<raft::LogStorage>> log = open_log(flags);
  if (!log.ok()) return fail(program, "opening the log of group " + flags.group, log.status());
  raft::Result<std::unique_ptr<raft::FileRaftMetaStorage>> meta =
      raft::FileRaftMetaStorage::open(flags.data_dir + "/raft_meta");
  if (!meta.ok()) return fail(program, "opening " + flags.data_dir + "/raft_meta", meta.status());
  raft::Result<std::unique_ptr<raft::LocalSnapshotStorage>> snapshots =
      raft::LocalSnapshotStorage::open(raft::PosixFileSystem::instance(),
                                       flags.data_dir + "/snapshot");
  if (!snapshots.ok()) {
    return fail(program, "opening " + flags.data_dir + "/snapshot", snapshots.status());
  }

  // Declared before the transport, so that it outlives the transport's IO.
  raft::rpc::CliService cli;
  raft::rpc::TcpTransportOptions transport_options;
  transport_options.io_threads = static_cast<size_t>(flags.rpc_io_threads);
  auto transport =
      std::make_shared<raft::rpc::TcpTransport>(flags.peer.endpoint(), transport_options);
  if (raft::Status s = register_service(*transport); !s.ok()) {
    return fail(program, "registering the service's methods", s);
  }
  if (raft::Status s = cli.register_on(*transport); !s.ok()) {
    return fail(program, "registering the CLI service", s);
  }
  if (raft::Status s = transport->start(); !s.ok()) return fail(program, "listening on --peer", s);

  // The test hook: both storages behind one switch, so that SIGUSR2 fails the whole disk.
  std::shared_ptr<raft::InjectedDiskFault> disk_fault;
  std::shared_ptr<raft::LogStorage> log_storage = std::move(log).value();
  std::shared_ptr<raft::RaftMetaStorage> meta_storage = std::move(meta).value();
  if (flags.inject_disk_eio_on_signal) {
    disk_fault = std::make_shared<raft::InjectedDiskFault>("test hook --inject-disk-eio-on-signal");
    log_storage = std::make_shared<raft::FaultInjectingLogStorage>(log_storage, disk_fault);
    meta_storage = std::make_shared<raft::FaultInjectingMetaStorage>(meta_storage, disk_fault);
  }

  raft::NodeOptions options;
  options.election_timeout_ms = flags.election_timeout_ms;
  options.heartbeat_interval_ms =
      heartbeat_interval_ms(flags.election_timeout_ms, options.heartbeat_interval_ms);
  options.initial_conf = flags.conf;
  options.fsm = fsm;
  options.log_storage = std::move(log_storage);
  options.meta_storage = std::move(meta_storage);
  options.transport = transport;
  options.snapshot_storage = std::move(snapshots).value();
  options.snapshot_interval_s = flags.snapshot_interval_s;
  options.snapshot_log_index_margin = flags.snapshot_log_index_margin;
  if (flags.coalesce_after_inflight >= 0) {
    options.coalesce_after_inflight_msgs = static_cast<size_t>(flags.coalesce_after_inflight);
  }
  options.max_clock_drift_ms = flags.max_clock_drift_ms;
  options.leader_lease_ratio = flags.leader_lease_ratio;
  options.runtime = node_runtime(flags);
  if (raft::Status s = node->init(options); !s.ok()) {
    transport->shutdown();
    return fail(program, "starting the node", s);
  }
  // The only group of the process: it cannot be registered twice.
  const raft::Status registered = cli.add_node(node);
  PONTOON_CHECK_MSG(registered.ok(), registered.to_string().c_str());
  std::cout << program << ": group " << flags.group << ", peer " << flags.peer
            << (flags.join ? std::string(", joining (waits for a leader to add it)")
                           : " of " + flags.conf.to_string())
            << ", data " << flags.data_dir << ", election timeout " << flags.election_timeout_ms
            << " ms, " << log_description(flags) << ", snapshot every " << flags.snapshot_interval_s
            << " s";
  if (flags.snapshot_log_index_margin > 0) {
    std::cout << " or " << flags.snapshot_log_index_margin << " entries";
  }
  std::cout << ", reads by " << service_read_mode_name(flags.read) << ", lease "
            << flags.election_timeout_ms << " ms x " << flags.leader_lease_ratio << " - "
            << flags.max_clock_drift_ms << " ms drift, " << flags.rpc_io_threads
            << " RPC IO threads";
  if (flags.clock_rate != 1.0) {
    std::cout << ", CLOCK RATE " << flags.clock_rate << " (test hook)";
  }
  if (disk_fault) std::cout << "; TEST HOOK: SIGUSR2 fails the disk with EIO";
  std::cout << "; serving on " << transport->listen_address() << " (SIGTERM to stop)" << std::endl;

  const int signal = wait_for_stop_signal(stop_signals, disk_fault.get());
  PONTOON_LOG(kInfo) << program << ": got signal " << signal << ", shutting down";
  cli.remove_node(flags.group);
  node->shutdown(nullptr);
  node->join();
  // After the node: responses to proposals that the shutdown failed still go out.
  transport->shutdown();
  return kExitOk;
}

}  // namespace example
