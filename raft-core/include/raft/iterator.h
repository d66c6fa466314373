// Iterator: walks the committed entries of one on_apply() batch, in log order.
//
//   void on_apply(raft::Iterator& iter) override {
//     for (; iter.valid(); iter.next()) {
//       apply(iter.data());
//       if (auto* done = dynamic_cast<MyClosure*>(iter.done())) done->result = ...;
//     }
//   }
//
// Only data entries appear; configuration and no-op entries are handled by the framework.
// Valid only inside the on_apply() call that received it.
#pragma once

#include <string>

#include "raft/closure.h"
#include "raft/status.h"
#include "raft/types.h"

namespace raft {

class Iterator {
 public:
  virtual ~Iterator() = default;

  virtual bool valid() const = 0;
  // REQUIRES: valid()
  virtual void next() = 0;
  virtual LogIndex index() const = 0;
  virtual Term term() const = 0;
  virtual const std::string& data() const = 0;
  // The closure of the Task that proposed this entry, if this node proposed it as leader and
  // still holds it; otherwise nullptr. The state machine may fill in results; the framework
  // runs it with OK once the iterator has moved past the entry. Do not run it yourself.
  virtual Closure* done() const = 0;

  // Declares that the state machine cannot apply the current entry. The entry and the
  // `ntail - 1` entries before it that were already passed (at most as many as this batch
  // has passed) are counted as not applied; the node stops applying, its not-yet-run
  // closures get `status`, and it reports `status` through StateMachine::on_error.
  // REQUIRES: valid(), ntail >= 1, !status.ok()
  virtual void set_error_and_rollback(size_t ntail, const Status& status) = 0;
};

}  // namespace raft
