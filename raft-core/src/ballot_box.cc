#include "ballot_box.h"

#include <algorithm>
#include <array>
#include <vector>

#include "raft/check.h"

namespace raft {

void BallotBox::reset(const ConfigurationEntry& conf, LogIndex pending_index) {
  PONTOON_CHECK(!conf.conf.empty());
  PONTOON_CHECK(pending_index > commit_index_);
  match_.clear();
  pending_index_ = pending_index;
  counting_ = true;
  set_configuration(conf);
}

void BallotBox::set_configuration(const ConfigurationEntry& conf) {
  PONTOON_CHECK(counting_);
  PONTOON_CHECK(!conf.conf.empty());
  conf_ = conf;
  std::map<PeerId, LogIndex> kept;
  for (const Configuration* voters : {&conf_.conf, &conf_.old_conf}) {
    for (const PeerId& peer : voters->peers()) {
      auto it = match_.find(peer);
      kept[peer] = it == match_.end() ? LogIndex(0) : it->second;
    }
  }
  match_ = std::move(kept);
}

LogIndex BallotBox::majority_index(const Configuration& voters) const {
  // Runs on every replication response: the usual group sizes need no allocation.
  constexpr size_t kInlineVoters = 16;
  std::array<LogIndex, kInlineVoters> inline_matches;
  std::vector<LogIndex> heap_matches;
  LogIndex* matches = inline_matches.data();
  if (voters.size() > kInlineVoters) {
    heap_matches.resize(voters.size());
    matches = heap_matches.data();
  }
  size_t count = 0;
  for (const PeerId& peer : voters.peers()) matches[count++] = match_.at(peer);
  // The quorum-th highest match index is stored by a majority.
  const size_t quorum = voters.quorum();
  std::nth_element(matches, matches + (quorum - 1), matches + count, std::greater<LogIndex>());
  return matches[quorum - 1];
}

void BallotBox::clear() {
  counting_ = false;
  match_.clear();
}

bool BallotBox::update(const PeerId& peer, LogIndex match_index) {
  if (!counting_) return false;
  auto it = match_.find(peer);
  if (it == match_.end()) return false;
  // A peer's durable prefix only grows while this leader's term lasts; an older, reordered
  // report must not shrink it.
  it->second = std::max(it->second, match_index);
  return recount();
}

bool BallotBox::recount() {
  if (!counting_) return false;
  LogIndex stored = majority_index(conf_.conf);
  // Raft §6: while joint, both majorities must store it.
  if (conf_.joint()) stored = std::min(stored, majority_index(conf_.old_conf));
  // Raft §5.4.2: only entries of the current term commit by counting.
  if (stored < pending_index_ || stored <= commit_index_) return false;
  commit_index_ = stored;
  return true;
}

bool BallotBox::advance_to(LogIndex committed_index) {
  if (committed_index <= commit_index_) return false;
  commit_index_ = committed_index;
  return true;
}

}  // namespace raft
