#include "raft/send_batch.h"

#include <utility>
#include <vector>

#include "raft/check.h"

namespace raft {
namespace {

thread_local int scope_depth = 0;
thread_local std::vector<std::function<void()>> deferred_flushes;

}  // namespace

SendBatchScope::SendBatchScope() { ++scope_depth; }

SendBatchScope::~SendBatchScope() {
  if (scope_depth == 1) flush();
  --scope_depth;
}

bool SendBatchScope::active() { return scope_depth > 0; }

void SendBatchScope::defer(std::function<void()> flush_fn) {
  PONTOON_CHECK(scope_depth > 0);
  deferred_flushes.push_back(std::move(flush_fn));
}

void SendBatchScope::flush() {
  // A flush may defer again (it runs inside the scope): loop until nothing is left.
  while (!deferred_flushes.empty()) {
    std::vector<std::function<void()>> flushes = std::move(deferred_flushes);
    deferred_flushes.clear();
    for (std::function<void()>& flush_fn : flushes) flush_fn();
  }
}

}  // namespace raft
