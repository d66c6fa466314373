// raft-bench: replicated write and read throughput, latency and cost of Pontoon on this
// machine, for sizing a deployment. docs/benchmarks.md describes every flag and number.
//
//   raft-bench [flags]            the driver: starts the cluster, runs the clients, reports
//   raft-bench replica [flags]    one replica process, started by the driver itself
//                                 (--topology processes); not for direct use
//
// The pieces live in benchmarks/bench/: flags, the two topologies (in_process_cluster,
// process_cluster with replica_process and replica_main), the replicas' groups
// (replica_host) and bench service, the fiber clients (closed_loop_load), the counters
// (counting_log_storage, process_stats, latency_histogram) and the report.
#include <cstdio>
#include <cstring>

#include "bench/bench_driver.h"
#include "bench/bench_flags.h"
#include "bench/replica_main.h"
#include "raft/logging.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "replica") == 0) {
    return bench::run_replica_process(argc, argv);
  }
  bool help = false;
  raft::Result<bench::BenchFlags> flags = bench::parse_bench_flags(argc, argv, &help);
  if (help) {
    std::fputs(bench::kUsage, stdout);
    return 0;
  }
  if (!flags.ok()) {
    std::fprintf(stderr, "raft-bench: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  raft::set_log_level(raft::LogLevel::kWarn);
  return bench::run_driver(*flags);
}
