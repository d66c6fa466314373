#include "raft/state_machine.h"

namespace raft {

void StateMachine::on_snapshot_save(SnapshotWriter& writer, std::unique_ptr<Closure> done) {
  (void)writer;
  run_closure(std::move(done),
              Status::InvalidArgument("this state machine does not implement on_snapshot_save"));
}

Status StateMachine::on_snapshot_load(SnapshotReader& reader) {
  (void)reader;
  return Status::InvalidArgument("this state machine does not implement on_snapshot_load");
}

}  // namespace raft
