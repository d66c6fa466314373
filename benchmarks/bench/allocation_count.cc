#include "allocation_count.h"

namespace bench {

// Weak: raft_bench.cc's definition, where the counting operator new lives, wins.
__attribute__((weak)) std::optional<uint64_t> allocation_count() { return std::nullopt; }

}  // namespace bench
