#include "bench_target.h"

#include "raft/check.h"

namespace bench {

LeaderTable::LeaderTable(int groups, int replicas)
    : replicas_(replicas), leaders_(static_cast<size_t>(groups)) {
  for (auto& leader : leaders_) leader.store(-1, std::memory_order_relaxed);
}

int LeaderTable::leader(int group) const {
  return leaders_[static_cast<size_t>(group)].load(std::memory_order_relaxed);
}

void LeaderTable::set_leader(int group, int replica) {
  PONTOON_CHECK(replica >= -1);
  PONTOON_CHECK(replica < replicas_);
  leaders_[static_cast<size_t>(group)].store(replica, std::memory_order_relaxed);
}

int LeaderTable::read_replica(int group, uint64_t sequence, ReadOn read_on) const {
  const int leader_replica = leader(group);
  if (leader_replica < 0 || read_on == ReadOn::kLeader) return leader_replica;
  PONTOON_CHECK(replicas_ >= 2);
  const int offset = 1 + static_cast<int>(sequence % static_cast<uint64_t>(replicas_ - 1));
  return (leader_replica + offset) % replicas_;
}

bool LeaderTable::all_known() const {
  for (const auto& leader : leaders_) {
    if (leader.load(std::memory_order_relaxed) < 0) return false;
  }
  return true;
}

void LeaderTable::note(const raft::Status& status) {
  if (status.is_not_leader()) stale_.store(true, std::memory_order_release);
}

}  // namespace bench
