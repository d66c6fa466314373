// ClosureQueue: the closures of the leader's own proposals, by log index, until their
// entries are applied or can no longer be known to commit here.
//
// The node lane appends (as leader) and clears (on losing leadership or shutting down); the
// state-machine lane pops closures of applied entries. Each closure leaves the queue exactly
// once, under the mutex, so it runs exactly once.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "raft/closure.h"
#include "raft/types.h"

namespace raft {

class ClosureQueue {
 public:
  using Entry = std::pair<LogIndex, std::unique_ptr<Closure>>;

  // Empties the queue (returning what it held) and makes `first_index` the index of the next
  // closure to append.
  std::vector<std::unique_ptr<Closure>> reset(LogIndex first_index);

  // Appends the closures of entries first_index, first_index+1, ...; null ones are allowed.
  // REQUIRES: first_index is the index after the last closure appended.
  void append(LogIndex first_index, std::vector<std::unique_ptr<Closure>> closures);

  // Removes and returns the non-null closures of entries up to `index`.
  std::vector<Entry> pop_until(LogIndex index);

  size_t size() const;

 private:
  mutable std::mutex mutex_;
  LogIndex first_index_{1};                        // Guarded by mutex_.
  std::deque<std::unique_ptr<Closure>> closures_;  // Guarded by mutex_.
};

}  // namespace raft
