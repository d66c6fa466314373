#include "raft/storage/memory_meta_storage.h"

#include <utility>

#include "meta_invariants.h"

namespace raft {

MemoryRaftMetaStorage::MemoryRaftMetaStorage(Term term, PeerId voted_for)
    : term_(term), voted_for_(std::move(voted_for)) {
  PONTOON_CHECK(term_ >= Term(0));
}

Term MemoryRaftMetaStorage::term() const {
  std::lock_guard lock(mu_);
  return term_;
}

PeerId MemoryRaftMetaStorage::voted_for() const {
  std::lock_guard lock(mu_);
  return voted_for_;
}

Status MemoryRaftMetaStorage::set_term_and_voted_for(Term term, const PeerId& voted_for) {
  std::lock_guard lock(mu_);
  check_meta_update(term_, voted_for_, term, voted_for);
  if (fail_next_) {
    fail_next_ = false;
    return Status::IoError("memory meta storage: injected write failure");
  }
  term_ = term;
  voted_for_ = voted_for;
  ++successful_writes_;
  return Status::OK();
}

void MemoryRaftMetaStorage::fail_next_write_for_testing() {
  std::lock_guard lock(mu_);
  fail_next_ = true;
}

int MemoryRaftMetaStorage::successful_writes() const {
  std::lock_guard lock(mu_);
  return successful_writes_;
}

}  // namespace raft
