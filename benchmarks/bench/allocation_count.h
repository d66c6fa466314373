// How many times this process has allocated with operator new, for "allocations per
// operation" (docs/benchmarks.md).
//
// The raft-bench executable replaces the global operator new (raft_bench.cc) with one that
// counts; any other program linking the bench parts gets the weak default here, which counts
// nothing and answers nullopt. The count covers every thread of the process: in-process, the
// clients and all replicas. Thread-safety: any thread.
#pragma once

#include <cstdint>
#include <optional>

namespace bench {

std::optional<uint64_t> allocation_count();

}  // namespace bench
