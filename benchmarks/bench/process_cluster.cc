#include "process_cluster.h"

#include <future>

#include "bench_protocol.h"
#include "process_stats.h"
#include "raft/logging.h"
#include "raft/rpc/method_ids.h"

namespace bench {
namespace {

// A start with 1000 groups opens 1000 logs and meta files per replica.
constexpr auto kStartTimeout = std::chrono::seconds(60);
// Far above any latency the benchmark reports: a call this late is a failure.
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kStatusTimeout = std::chrono::seconds(5);
// Above --clients' limit plus the driver's status calls.
constexpr size_t kMaxPendingCalls = 2 * BenchFlags::kMaxClients;

}  // namespace

ProcessCluster::ProcessCluster(const BenchFlags& flags)
    : read_mode_(read_mode_of(flags.workload)),
      read_on_(flags.read_on),
      leaders_(flags.cluster.groups, flags.cluster.replicas),
      host_client_fibers_(flags.client_fibers == ClientFibers::kHosted) {}

ProcessCluster::~ProcessCluster() { shutdown(); }

raft::Result<std::unique_ptr<ProcessCluster>> ProcessCluster::start(const BenchFlags& flags,
                                                                    const std::string& data_dir) {
  std::unique_ptr<ProcessCluster> cluster(new ProcessCluster(flags));
  if (raft::Status s = cluster->spawn_replicas(flags, data_dir); !s.ok()) return s;
  // Threads start after the children were forked, so no fork happens in a process with them.
  // Hosted, the clients' fibers run on these threads too (reply_host()): one per client thread.
  cluster->io_pool_ = std::make_unique<raft::rpc::IoContextPool>(
      cluster->host_client_fibers_ ? static_cast<size_t>(flags.client_threads) : 1, "bench-rpc");
  raft::rpc::RpcClientOptions client_options;
  // Every client may be waiting on the same leader.
  client_options.max_pending_calls_per_endpoint = kMaxPendingCalls;
  cluster->client_ =
      std::make_unique<raft::rpc::RpcClient>(cluster->io_pool_.get(), client_options);
  cluster->io_pool_->start();
  return cluster;
}

raft::Status ProcessCluster::spawn_replicas(const BenchFlags& flags, const std::string& data_dir) {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  for (int r = 0; r < flags.cluster.replicas; ++r) {
    std::vector<std::string> args = {"replica", "--index", std::to_string(r), "--data",
                                     data_dir + "/replica" + std::to_string(r)};
    for (std::string& arg : cluster_flags_for_replica(flags.cluster)) args.push_back(arg);
    raft::Result<std::unique_ptr<ReplicaProcess>> process = ReplicaProcess::spawn(args);
    if (!process.ok()) return process.status();
    processes_.push_back(std::move(process).value());
  }
  std::string peers;
  for (auto& process : processes_) {
    raft::Result<std::string> line = process->read_line(deadline);
    if (!line.ok()) return line.status();
    if (line->rfind("LISTEN ", 0) != 0) {
      return raft::Status::IoError("replica process said '" + *line + "', expected LISTEN");
    }
    endpoints_.push_back("127.0.0.1:" + line->substr(7));
    peers += (peers.empty() ? "" : ",") + endpoints_.back();
  }
  for (auto& process : processes_) {
    if (raft::Status s = process->write_line("PEERS " + peers); !s.ok()) return s;
  }
  for (auto& process : processes_) {
    raft::Result<std::string> line = process->read_line(deadline);
    if (!line.ok()) return line.status();
    if (*line != "READY") {
      return raft::Status::IoError("replica process said '" + *line + "', expected READY");
    }
  }
  return raft::Status::OK();
}

raft::Result<ReplicaStatus> ProcessCluster::ask_status(size_t replica) {
  auto answer = std::make_shared<std::promise<raft::Result<ReplicaStatus>>>();
  std::future<raft::Result<ReplicaStatus>> future = answer->get_future();
  client_->call(endpoints_[replica], raft::rpc::method::kBenchStatus, std::string(), kStatusTimeout,
                [answer](const raft::Status& status, std::string body) {
                  answer->set_value(status.ok() ? decode_status_response(body)
                                                : raft::Result<ReplicaStatus>(status));
                });
  return future.get();
}

raft::Status ProcessCluster::refresh_leaders() {
  raft::Status first_error;
  for (size_t r = 0; r < processes_.size(); ++r) {
    raft::Result<ReplicaStatus> status = ask_status(r);
    if (!status.ok()) {
      if (first_error.ok()) first_error = status.status();
      continue;
    }
    for (size_t g = 0; g < status->leads.size() && g < static_cast<size_t>(leaders_.groups());
         ++g) {
      if (status->leads[g]) leaders_.set_leader(static_cast<int>(g), static_cast<int>(r));
    }
  }
  return first_error;
}

raft::Result<ClusterUsage> ProcessCluster::usage() {
  ClusterUsage usage;
  usage.cpu_seconds = self_cpu_seconds();
  raft::Result<uint64_t> own_switches = process_context_switches(0);
  if (!own_switches.ok()) return own_switches.status();
  usage.context_switches = *own_switches;
  for (size_t r = 0; r < processes_.size(); ++r) {
    raft::Result<double> cpu = process_cpu_seconds(processes_[r]->pid());
    if (!cpu.ok()) return cpu.status();
    usage.cpu_seconds += *cpu;
    raft::Result<uint64_t> switches = process_context_switches(processes_[r]->pid());
    if (!switches.ok()) return switches.status();
    usage.context_switches += *switches;
    raft::Result<ReplicaStatus> status = ask_status(r);
    if (!status.ok()) return status.status();
    usage.synced_writes += status->synced_writes;
    usage.synced_entries += status->synced_entries;
  }
  return usage;
}

std::vector<double> ProcessCluster::peak_rss_mb() {
  std::vector<double> rss;
  for (auto& process : processes_) {
    raft::Result<ResidentMemory> memory = resident_memory(process->pid());
    rss.push_back(memory.ok() ? memory->peak_rss_mb : 0.0);
  }
  return rss;
}

void ProcessCluster::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // The client's calls end first (RpcClient::shutdown needs its pool stopped).
  if (io_pool_ != nullptr) io_pool_->stop();
  if (client_ != nullptr) client_->shutdown();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& process : processes_) {
    if (raft::Status s = process->stop(deadline); !s.ok()) {
      PONTOON_LOG(kWarn) << "raft-bench: " << s;
    }
  }
}

void ProcessCluster::write(int group, const std::string& payload, Done done) {
  const int replica = leaders_.leader(group);
  if (replica < 0) return done(raft::Status::NotLeader("no leader known yet"));
  client_->call(endpoints_[static_cast<size_t>(replica)], raft::rpc::method::kBenchWrite,
                encode_write_request(static_cast<uint32_t>(group), payload), kCallTimeout,
                [this, done = std::move(done)](const raft::Status& status, std::string) {
                  leaders_.note(status);
                  done(status);
                });
}

void ProcessCluster::read(int group, uint64_t sequence, Done done) {
  const int replica = leaders_.read_replica(group, sequence, read_on_);
  if (replica < 0) return done(raft::Status::NotLeader("no leader known yet"));
  client_->call(endpoints_[static_cast<size_t>(replica)], raft::rpc::method::kBenchRead,
                encode_read_request(static_cast<uint32_t>(group), read_mode_), kCallTimeout,
                [this, done = std::move(done)](const raft::Status& status, std::string) {
                  leaders_.note(status);
                  done(status);
                });
}

}  // namespace bench
