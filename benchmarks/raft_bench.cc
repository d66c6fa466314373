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
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "bench/allocation_count.h"
#include "bench/bench_driver.h"
#include "bench/bench_flags.h"
#include "bench/replica_main.h"
#include "raft/logging.h"

// Every operator new of this process is counted (allocations per operation). One relaxed
// increment per allocation: a few nanoseconds next to malloc itself.
namespace {
std::atomic<uint64_t> g_allocations{0};

void* counted_malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t alignment = static_cast<std::size_t>(align);
  // aligned_alloc wants a size that is a multiple of the alignment.
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = counted_aligned(size, align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

std::optional<uint64_t> bench::allocation_count() {
  return g_allocations.load(std::memory_order_relaxed);
}

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
