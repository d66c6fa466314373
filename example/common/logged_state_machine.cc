#include "logged_state_machine.h"

#include "raft/logging.h"

namespace example {

void LoggedStateMachine::on_shutdown() {
  PONTOON_LOG(kInfo) << name_ << ": state machine shut down (" << describe_state() << ")";
}

void LoggedStateMachine::on_leader_start(raft::Term term) {
  PONTOON_LOG(kInfo) << name_ << ": became the LEADER for term " << term << " (" << describe_state()
                     << ")";
}

void LoggedStateMachine::on_leader_stop(const raft::Status& status) {
  PONTOON_LOG(kInfo) << name_ << ": stopped being the leader (" << status << ")";
}

void LoggedStateMachine::on_error(const raft::Status& error) {
  PONTOON_LOG(kError) << name_ << ": stopped on an error and accepts no more writes: " << error;
}

void LoggedStateMachine::on_start_following(const raft::LeaderChangeContext& ctx) {
  PONTOON_LOG(kInfo) << name_ << ": started following leader " << ctx.leader_id << " in term "
                     << ctx.term;
}

void LoggedStateMachine::on_stop_following(const raft::LeaderChangeContext& ctx) {
  PONTOON_LOG(kInfo) << name_ << ": stopped following leader " << ctx.leader_id << " in term "
                     << ctx.term << " (" << ctx.status << ")";
}

}  // namespace example
