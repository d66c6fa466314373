#include "replicator_group.h"

#include "raft/check.h"

namespace raft {

void ReplicatorGroup::start(const std::vector<PeerId>& peers, const ReplicatorOptions& options) {
  PONTOON_CHECK(replicators_.empty());
  options_ = options;
  for (const PeerId& peer : peers) {
    if (peer == options.leader_id) continue;
    replicators_[peer] = std::make_shared<Replicator>(options, peer);
  }
  for (auto& [_, replicator] : replicators_) replicator->start();
}

void ReplicatorGroup::add(const PeerId& peer) {
  if (peer == options_.leader_id || contains(peer)) return;
  auto replicator = std::make_shared<Replicator>(options_, peer);
  replicators_[peer] = replicator;
  replicator->start();
}

void ReplicatorGroup::remove(const PeerId& peer) {
  auto it = replicators_.find(peer);
  if (it == replicators_.end()) return;
  it->second->stop();
  replicators_.erase(it);
}

bool ReplicatorGroup::heard_back(const PeerId& peer) const {
  auto it = replicators_.find(peer);
  return it != replicators_.end() && it->second->heard_back();
}

LogIndex ReplicatorGroup::match_index(const PeerId& peer) const {
  auto it = replicators_.find(peer);
  return it == replicators_.end() ? LogIndex(0) : it->second->match_index();
}

void ReplicatorGroup::stop_all() {
  for (auto& [_, replicator] : replicators_) replicator->stop();
  replicators_.clear();
}

void ReplicatorGroup::on_new_entries() {
  for (auto& [_, replicator] : replicators_) replicator->on_new_entries();
}

std::vector<PeerId> ReplicatorGroup::heard_from(TimePoint now, Duration window) const {
  std::vector<PeerId> heard;
  for (const auto& [peer, replicator] : replicators_) {
    if (now - replicator->last_response_time() < window) heard.push_back(peer);
  }
  return heard;
}

std::vector<PeerId> ReplicatorGroup::acked_since(TimePoint since) const {
  std::vector<PeerId> acked;
  for (const auto& [peer, replicator] : replicators_) {
    if (replicator->last_ack_sent_at() >= since) acked.push_back(peer);
  }
  return acked;
}

TimePoint ReplicatorGroup::last_ack_sent_at(const PeerId& peer) const {
  auto it = replicators_.find(peer);
  return it == replicators_.end() ? TimePoint::min() : it->second->last_ack_sent_at();
}

void ReplicatorGroup::heartbeat_all_now() {
  for (const auto& [peer, replicator] : replicators_) replicator->heartbeat_now();
}

std::vector<PeerReplicationStatus> ReplicatorGroup::status() const {
  std::vector<PeerReplicationStatus> out;
  for (const auto& [peer, replicator] : replicators_) {
    out.emplace_back();
    out.back().peer = peer;
  }
  update_status(&out);  // Same peers in the same order: fills in the rest.
  return out;
}

void ReplicatorGroup::update_status(std::vector<PeerReplicationStatus>* out) const {
  bool same_peers = out->size() == replicators_.size();
  size_t i = 0;
  for (auto it = replicators_.begin(); same_peers && it != replicators_.end(); ++it, ++i) {
    same_peers = (*out)[i].peer == it->first;
  }
  if (!same_peers) {
    *out = status();
    return;
  }
  i = 0;
  for (const auto& [peer, replicator] : replicators_) {
    (*out)[i].next_index = replicator->next_index();
    (*out)[i].match_index = replicator->match_index();
    (*out)[i].window_resets = replicator->window_resets();
    (*out)[i].resends = replicator->resends();
    (*out)[i].out_of_order_acks = replicator->out_of_order_acks();
    (*out)[i].appends_sent = replicator->appends_sent();
    (*out)[i].entries_sent = replicator->entries_sent();
    (*out)[i].appends_held = replicator->appends_held();
    (*out)[i].storage_reads = replicator->storage_reads();
    (*out)[i].entries_read_from_storage = replicator->entries_read_from_storage();
    ++i;
  }
}

}  // namespace raft
