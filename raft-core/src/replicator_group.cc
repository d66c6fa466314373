#include "replicator_group.h"

#include "raft/check.h"

namespace raft {

void ReplicatorGroup::start(const Configuration& conf, const ReplicatorOptions& options) {
  PONTOON_CHECK(replicators_.empty());
  for (const PeerId& peer : conf.peers()) {
    if (peer == options.leader_id) continue;
    replicators_[peer] = std::make_shared<Replicator>(options, peer);
  }
  for (auto& [_, replicator] : replicators_) replicator->start();
}

void ReplicatorGroup::stop_all() {
  for (auto& [_, replicator] : replicators_) replicator->stop();
  replicators_.clear();
}

void ReplicatorGroup::on_new_entries() {
  for (auto& [_, replicator] : replicators_) replicator->on_new_entries();
}

size_t ReplicatorGroup::count_heard_from(TimePoint now, Duration window) const {
  size_t heard = 0;
  for (const auto& [_, replicator] : replicators_) {
    if (now - replicator->last_response_time() < window) ++heard;
  }
  return heard;
}

std::vector<PeerReplicationStatus> ReplicatorGroup::status() const {
  std::vector<PeerReplicationStatus> out;
  for (const auto& [peer, replicator] : replicators_) {
    out.push_back({peer, replicator->next_index(), replicator->match_index()});
  }
  return out;
}

}  // namespace raft
