// LoggedStateMachine: the example services' StateMachine base, which logs the node's
// leadership and error callbacks, each line prefixed by the replica's name.
//
// A subclass implements on_apply() and describe_state() ("value 5 at applied index 7"), which
// the leader-start and shutdown lines include. Thread-safety: the callbacks run on the node's
// state-machine lane; describe_state() must be callable there.
#pragma once

#include <string>

#include "raft/state_machine.h"

namespace example {

class LoggedStateMachine : public raft::StateMachine {
 public:
  void on_shutdown() override;
  void on_leader_start(raft::Term term) override;
  void on_leader_stop(const raft::Status& status) override;
  void on_error(const raft::Status& error) override;
  void on_start_following(const raft::LeaderChangeContext& ctx) override;
  void on_stop_following(const raft::LeaderChangeContext& ctx) override;

 protected:
  explicit LoggedStateMachine(std::string name) : name_(std::move(name)) {}

  // A few words on the state machine's state, for the log.
  virtual std::string describe_state() const = 0;
  const std::string& name() const { return name_; }

 private:
  const std::string name_;
};

}  // namespace example
