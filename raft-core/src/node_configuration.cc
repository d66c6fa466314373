// NodeImpl and membership (Raft §6, docs/membership.md): the leader's changes of voters through
// a joint configuration, learners, catching new voters up first, and the unsafe reset_peers.
#include <algorithm>

#include "node_impl.h"
#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

namespace {

Configuration with_peer(const Configuration& conf, const PeerId& peer, bool add) {
  std::vector<PeerId> peers = conf.peers();
  if (add) {
    peers.push_back(peer);
  } else {
    std::erase(peers, peer);
  }
  return Configuration(std::move(peers), conf.learners()).with_priorities_of(conf);
}

Configuration with_learners(const Configuration& conf, std::vector<PeerId> learners) {
  return Configuration(conf.peers(), std::move(learners)).with_priorities_of(conf);
}

std::string list(const std::vector<PeerId>& peers) {
  std::string out;
  for (const PeerId& peer : peers) out += (out.empty() ? "" : ",") + peer.to_string();
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The public entry points: each posts to the node lane and works on the current
// configuration there.

void NodeImpl::post_configuration_change(
    std::function<Result<Configuration>(const ConfigurationEntry& current)> make_target,
    std::unique_ptr<Closure> done) {
  if (!node_lane_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  auto holder = std::make_shared<std::unique_ptr<Closure>>(std::move(done));
  post([make_target = std::move(make_target), holder](NodeImpl& node) {
    Result<Configuration> target = make_target(node.conf());
    if (!target.ok()) {
      run_closure(std::move(*holder), target.status());
      return;
    }
    node.start_change(*target, std::move(*holder));
  });
}

void NodeImpl::change_peers(const Configuration& new_peers, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [new_peers](const ConfigurationEntry& current) -> Result<Configuration> {
        if (new_peers.empty()) return Status::InvalidArgument("change_peers: no voting peer given");
        // Learners stay as they are unless the new peers make one of them a voter; the
        // priorities are the ones new_peers gives.
        return Configuration(new_peers.peers(), current.conf.learners())
            .with_priorities_of(new_peers);
      },
      std::move(done));
}

void NodeImpl::add_peer(const PeerId& peer, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [peer](const ConfigurationEntry& current) -> Result<Configuration> {
        if (peer.empty()) return Status::InvalidArgument("add_peer: empty peer");
        if (current.conf.contains(peer)) {
          return Status::InvalidArgument("add_peer: " + peer.to_string() + " already votes");
        }
        return with_peer(current.conf, peer, /*add=*/true);
      },
      std::move(done));
}

void NodeImpl::remove_peer(const PeerId& peer, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [peer](const ConfigurationEntry& current) -> Result<Configuration> {
        if (!current.conf.contains(peer)) {
          return Status::InvalidArgument("remove_peer: " + peer.to_string() +
                                         " is not a voter of " + current.conf.to_string());
        }
        if (current.conf.size() == 1) {
          return Status::InvalidArgument("remove_peer: cannot remove the last voter");
        }
        return with_peer(current.conf, peer, /*add=*/false);
      },
      std::move(done));
}

void NodeImpl::add_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [learners](const ConfigurationEntry& current) -> Result<Configuration> {
        std::vector<PeerId> all = current.conf.learners();
        for (const PeerId& learner : learners) {
          if (current.conf.contains(learner)) {
            return Status::InvalidArgument("add_learners: " + learner.to_string() +
                                           " is a voter; remove it first");
          }
          all.push_back(learner);
        }
        return with_learners(current.conf, std::move(all));
      },
      std::move(done));
}

void NodeImpl::remove_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [learners](const ConfigurationEntry& current) -> Result<Configuration> {
        std::vector<PeerId> kept = current.conf.learners();
        for (const PeerId& learner : learners) {
          if (!current.conf.is_learner(learner)) {
            return Status::InvalidArgument("remove_learners: " + learner.to_string() +
                                           " is not a learner");
          }
          std::erase(kept, learner);
        }
        return with_learners(current.conf, std::move(kept));
      },
      std::move(done));
}

void NodeImpl::reset_learners(const std::vector<PeerId>& learners, std::unique_ptr<Closure> done) {
  post_configuration_change(
      [learners](const ConfigurationEntry& current) -> Result<Configuration> {
        for (const PeerId& learner : learners) {
          if (current.conf.contains(learner)) {
            return Status::InvalidArgument("reset_learners: " + learner.to_string() +
                                           " is a voter");
          }
        }
        return with_learners(current.conf, learners);
      },
      std::move(done));
}

void NodeImpl::reset_peers(const Configuration& new_peers, std::unique_ptr<Closure> done) {
  if (!node_lane_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  auto holder = std::make_shared<std::unique_ptr<Closure>>(std::move(done));
  post([new_peers, holder](NodeImpl& node) {
    if (new_peers.empty()) {
      run_closure(std::move(*holder), Status::InvalidArgument("reset_peers: no voting peer given"));
      return;
    }
    if (node.role_ == Role::kShutdown || node.role_ == Role::kError) {
      run_closure(std::move(*holder), Status::Shutdown("node is not running"));
      return;
    }
    PONTOON_LOG(kWarn) << "group " << node.group_id_ << " peer " << node.server_id_
                       << ": UNSAFE reset of the configuration from " << node.conf() << " to "
                       << new_peers;
    node.fail_membership_change(Status::Stale("the configuration was reset"));
    // The reset replaces everything this replica knew; it sits at the log's end so that no
    // truncation of entries it already holds brings an older configuration back.
    node.conf_manager_.set_base(node.log_manager_->last_log_id(),
                                ConfigurationEntry{new_peers, {}});
    if (node.role_ == Role::kLeader || node.role_ == Role::kCandidate) {
      node.step_down(node.current_term_, Status::Stale("the configuration was reset"));
    }
    node.publish_status();
    run_closure(std::move(*holder), Status::OK());
  });
}

// ---------------------------------------------------------------------------------------------
// The change, on the node lane.

void NodeImpl::start_change(const Configuration& target, std::unique_ptr<Closure> done) {
  if (role_ != Role::kLeader) {
    run_closure(std::move(done), not_leader());
    return;
  }
  if (membership_change_) {
    run_closure(std::move(done), Status::Busy("another membership change is in progress"));
    return;
  }
  if (transfer_) {
    run_closure(std::move(done), Status::Busy("leadership is being transferred to " +
                                              transfer_->target.to_string()));
    return;
  }
  if (conf().joint() || conf_manager_.current_id().index > ballot_box_.commit_index()) {
    run_closure(std::move(done),
                Status::Busy("the latest configuration is not committed yet; retry later"));
    return;
  }
  if (target == conf().conf) {
    run_closure(std::move(done), Status::OK());
    return;
  }
  auto change = std::make_unique<MembershipChange>();
  change->target = target;
  change->done = std::move(done);
  change->generation = ++membership_generation_;
  for (const PeerId& peer : target.peers()) {
    if (!conf().conf.contains(peer)) change->catching_up.push_back(peer);
  }
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": changing " << conf()
                     << " to " << target
                     << (change->catching_up.empty()
                             ? std::string()
                             : "; catching up " + list(change->catching_up) + " first");
  membership_change_ = std::move(change);
  if (membership_change_->catching_up.empty()) {
    enter_next_stage();
    return;
  }
  membership_change_->stage = MembershipChange::Stage::kCatchingUp;
  membership_change_->deadline =
      clock_->now() + std::chrono::milliseconds(options_.catchup_timeout_ms);
  // New voters replicate as non-voters meanwhile: they are in no configuration yet, so the
  // ballot box does not count them.
  for (const PeerId& peer : membership_change_->catching_up) replicators_.add(peer);
  check_catch_up(membership_change_->generation);
}

void NodeImpl::check_catch_up(uint64_t generation) {
  MembershipChange* change = membership_change_.get();
  if (!change || change->generation != generation ||
      change->stage != MembershipChange::Stage::kCatchingUp) {
    return;
  }
  const LogIndex last = log_manager_->last_log_index();
  std::erase_if(change->catching_up, [&](const PeerId& peer) {
    return replicators_.heard_back(peer) &&
           replicators_.match_index(peer) + options_.catchup_margin_entries >= last;
  });
  if (change->catching_up.empty()) {
    enter_next_stage();
    return;
  }
  if (clock_->now() >= change->deadline) {
    fail_membership_change(Status::Catchup(list(change->catching_up) + " did not come within " +
                                           std::to_string(options_.catchup_margin_entries) +
                                           " entries of the leader's last (" +
                                           std::to_string(last.value()) + ") within " +
                                           std::to_string(options_.catchup_timeout_ms) + " ms"));
    return;
  }
  post_after_ms(options_.heartbeat_interval_ms,
                [generation](NodeImpl& node) { node.check_catch_up(generation); });
}

void NodeImpl::enter_next_stage() {
  MembershipChange& change = *membership_change_;
  ConfigurationEntry next;
  if (change.stage == MembershipChange::Stage::kCatchingUp &&
      change.target.peers() != conf().conf.peers()) {
    // Raft §6: the voters change through C_old,new, where both majorities must agree.
    next = ConfigurationEntry{change.target, Configuration(conf().conf.peers())};
    change.stage = MembershipChange::Stage::kJoint;
  } else {
    // From the joint configuration, or a change of learners only: one step.
    next = ConfigurationEntry{change.target, {}};
    change.stage = MembershipChange::Stage::kNew;
  }
  change.entry_index = append_configuration(next);
  if (change.entry_index == LogIndex(0)) {
    fail_membership_change(Status::Busy("the configuration entry could not be appended"));
  }
}

LogIndex NodeImpl::append_configuration(const ConfigurationEntry& next) {
  PONTOON_CHECK(role_ == Role::kLeader);
  const LogIndex index = log_manager_->last_log_index() + 1;
  std::vector<LogEntryPtr> entries{
      make_entry(EntryType::kConfiguration, index, current_term_, next.to_string())};
  std::vector<std::unique_ptr<Closure>> closures;
  closures.emplace_back(nullptr);
  // The leader uses the new configuration at once (Raft §6), for this entry too.
  conf_manager_.add(LogId{index, current_term_}, next);
  ballot_box_.set_configuration(next);
  for (const PeerId& peer : next.all_members()) replicators_.add(peer);
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_
                     << ": appends configuration " << next << " at " << index;
  append_as_leader(std::move(entries), std::move(closures));
  if (log_manager_->last_log_index() < index) {
    // Not appended (the disk ring is full): undo.
    conf_manager_.truncate_after(index - 1);
    ballot_box_.set_configuration(conf());
    publish_lease();
    return LogIndex(0);
  }
  publish_lease();  // The quorum the lease is counted over changed.
  publish_status();
  return index;
}

void NodeImpl::on_configuration_progress() {
  if (role_ != Role::kLeader) return;
  const LogIndex committed = ballot_box_.commit_index();
  if (!membership_change_ && conf().joint() && conf_manager_.current_id().index <= committed) {
    // A joint configuration this leader found in its log (its predecessor's change): finish it.
    auto change = std::make_unique<MembershipChange>();
    change->target = conf().conf;
    change->stage = MembershipChange::Stage::kJoint;
    change->entry_index = conf_manager_.current_id().index;
    change->generation = ++membership_generation_;
    membership_change_ = std::move(change);
  }
  MembershipChange* change = membership_change_.get();
  if (!change || change->stage == MembershipChange::Stage::kCatchingUp) return;
  if (committed < change->entry_index) return;
  if (change->stage == MembershipChange::Stage::kJoint) {
    enter_next_stage();
    return;
  }
  // C_new is committed: the change is done.
  std::unique_ptr<MembershipChange> finished = std::move(membership_change_);
  for (const auto& peer_status : replicators_.status()) {
    const PeerId& peer = peer_status.peer;
    if (!finished->target.contains(peer) && !finished->target.is_learner(peer)) {
      replicators_.remove(peer);
    }
  }
  PONTOON_LOG(kInfo) << "group " << group_id_ << " peer " << server_id_ << ": configuration "
                     << finished->target << " committed at " << finished->entry_index;
  run_closure(std::move(finished->done), Status::OK());
  if (!finished->target.contains(server_id_)) {
    // Raft §6: a leader that is not part of C_new steps down once C_new is committed.
    step_down(current_term_, Status::Stale("removed from the configuration"));
  }
  publish_status();
}

void NodeImpl::fail_membership_change(const Status& why) {
  std::unique_ptr<MembershipChange> change = std::move(membership_change_);
  if (!change) return;
  if (change->stage == MembershipChange::Stage::kCatchingUp && role_ == Role::kLeader) {
    // New voters replicated as non-voters while they caught up; they are in no configuration.
    for (const PeerId& peer : change->target.peers()) {
      if (!conf().is_voter(peer) && !conf().conf.is_learner(peer)) replicators_.remove(peer);
    }
  }
  // Once a configuration entry of the change is in the log, the next leader may finish it.
  const bool in_log = change->stage != MembershipChange::Stage::kCatchingUp;
  PONTOON_LOG(kWarn) << "group " << group_id_ << " peer " << server_id_ << ": membership change to "
                     << change->target << " ended: " << why;
  run_closure(std::move(change->done),
              in_log && !why.is_stale() && !why.is_catchup()
                  ? Status::StepDown("leadership lost during the change (" + why.to_string() +
                                     "); it may still complete")
                  : why);
}

}  // namespace raft
