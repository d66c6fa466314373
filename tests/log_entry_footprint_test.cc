// memory_footprint() against what the allocator really hands out: this binary counts every
// allocation's usable size (malloc_usable_size) plus glibc's 8-byte header, so the estimate the
// log cache and the uncommitted bound use is checked against the real cost of an entry held in
// a container, for payloads below, at and above the short-string limit.
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>

#include <catch2/catch.hpp>

#include "raft/log_entry.h"

namespace {
std::atomic<size_t> g_allocated{0};
std::atomic<bool> g_counting{false};
}  // namespace

void* operator new(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocated.fetch_add(malloc_usable_size(p) + 8, std::memory_order_relaxed);
  }
  return p;
}
void operator delete(void* p) noexcept {
  if (p != nullptr && g_counting.load(std::memory_order_relaxed)) {
    g_allocated.fetch_sub(malloc_usable_size(p) + 8, std::memory_order_relaxed);
  }
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

TEST_CASE("memory_footprint covers what an entry in a log cache really costs", "[log_entry]") {
  constexpr size_t kEntries = 20000;
  for (size_t payload : {0, 9, 15, 16, 35, 256, 4096}) {
    std::deque<raft::LogEntryPtr> cache;
    std::string data(payload, 'x');
    g_allocated = 0;
    g_counting = true;
    for (size_t i = 0; i < kEntries; ++i) {
      cache.push_back(
          raft::make_entry(raft::EntryType::kData, raft::LogIndex(i + 1), raft::Term(1), data));
    }
    g_counting = false;
    const double real = static_cast<double>(g_allocated.load()) / kEntries;
    const double estimate = static_cast<double>(raft::memory_footprint(*cache.front()));
    INFO("payload " << payload << " B: real " << real << " B an entry, estimate " << estimate);
    // Within 25% either way (the deque's block allocations are amortised into `real`).
    CHECK(estimate >= real * 0.75);
    CHECK(estimate <= real * 1.25);
    CHECK(estimate >= static_cast<double>(payload));
    g_counting = true;  // The frees below are counted against the allocations above.
    cache.clear();
    cache.shrink_to_fit();
    g_counting = false;
  }
}
