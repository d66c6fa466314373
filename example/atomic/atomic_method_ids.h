// The atomic register service's method ids, in the examples' range (2000..2999) of
// raft/rpc/method_ids.h: 2000..2099 are example/counter's, 2100..2199 this service's.
// Part of the wire format: never renumber one, only add.
#pragma once

#include <cstdint>

namespace atomic::method {

inline constexpr uint32_t kAtomicGet = 2100;
inline constexpr uint32_t kAtomicSet = 2101;
inline constexpr uint32_t kAtomicCompareAndSet = 2102;
inline constexpr uint32_t kAtomicFetchAdd = 2103;
inline constexpr uint32_t kAtomicStatus = 2104;

}  // namespace atomic::method
