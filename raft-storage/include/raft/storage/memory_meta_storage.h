// MemoryRaftMetaStorage: a RaftMetaStorage in memory, for tests and simulation.
//
// Enforces the same preconditions as FileRaftMetaStorage and can be told to fail a write, so a
// test can check that a replica whose vote did not become durable does not grant it.
//
// Thread-safety: every method may be called from any thread (a test may inspect or arm it
// while the Node runs); a mutex guards the values.
#pragma once

#include <mutex>

#include "raft/log_storage.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

class MemoryRaftMetaStorage : public RaftMetaStorage {
 public:
  MemoryRaftMetaStorage() = default;
  // Starts as if `term` and `voted_for` had been stored earlier. REQUIRES: term >= 0.
  MemoryRaftMetaStorage(Term term, PeerId voted_for);

  Term term() const override;
  PeerId voted_for() const override;

  // REQUIRES: as FileRaftMetaStorage::set_term_and_voted_for (checked; a violation aborts).
  // EIO if fail_next_write_for_testing() armed a failure; the values are then unchanged.
  Status set_term_and_voted_for(Term term, const PeerId& voted_for) override;

  // TEST HOOK, never call in production: the next set_term_and_voted_for() returns EIO and
  // changes nothing, as a failed fsync would. Later writes succeed again.
  void fail_next_write_for_testing();

  // How many set_term_and_voted_for() calls returned OK.
  int successful_writes() const;

 private:
  mutable std::mutex mu_;
  Term term_;                  // Guarded by mu_.
  PeerId voted_for_;           // Guarded by mu_.
  bool fail_next_ = false;     // Guarded by mu_.
  int successful_writes_ = 0;  // Guarded by mu_.
};

}  // namespace raft
