// FaultyLogStorage: a memory log whose writes can be made to fail, like a disk whose fsync
// fails, and which counts the writes it receives (one per group commit).
//
// Thread-safety: as MemoryLogStorage; the knobs are atomics a test may flip from any thread.
#pragma once

#include <atomic>

#include "raft/storage/memory_log_storage.h"

namespace raft::testing {

class FaultyLogStorage final : public LogStorage {
 public:
  LogIndex first_log_index() const override { return inner_.first_log_index(); }
  LogIndex last_log_index() const override { return inner_.last_log_index(); }
  Result<LogEntryPtr> get_entry(LogIndex index) const override { return inner_.get_entry(index); }
  Result<Term> get_term(LogIndex index) const override { return inner_.get_term(index); }
  Status write(const LogWrite& write) override {
    ++writes;
    if (fail_all || fail_next.exchange(false)) return Status::IoError("injected write failure");
    return inner_.write(write);
  }
  Status truncate_prefix(LogIndex first) override { return inner_.truncate_prefix(first); }

  std::atomic<int> writes{0};
  // The next write fails, once.
  std::atomic<bool> fail_next{false};
  // Every write fails from now on.
  std::atomic<bool> fail_all{false};

 private:
  MemoryLogStorage inner_;
};

}  // namespace raft::testing
