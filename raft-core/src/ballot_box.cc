#include "ballot_box.h"

#include <algorithm>
#include <vector>

#include "raft/check.h"

namespace raft {

void BallotBox::reset(const Configuration& conf, LogIndex pending_index) {
  PONTOON_CHECK(!conf.empty());
  PONTOON_CHECK(pending_index > commit_index_);
  conf_ = conf;
  match_.clear();
  for (const PeerId& peer : conf_.peers()) match_[peer] = LogIndex(0);
  pending_index_ = pending_index;
  counting_ = true;
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

  std::vector<LogIndex> matches;
  matches.reserve(match_.size());
  for (const auto& [_, index] : match_) matches.push_back(index);
  // The quorum-th highest match index is stored by a majority.
  std::nth_element(matches.begin(), matches.begin() + (conf_.quorum() - 1), matches.end(),
                   std::greater<LogIndex>());
  LogIndex majority_index = matches[conf_.quorum() - 1];
  // Raft §5.4.2: only entries of the current term commit by counting.
  if (majority_index < pending_index_ || majority_index <= commit_index_) return false;
  commit_index_ = majority_index;
  return true;
}

bool BallotBox::advance_to(LogIndex committed_index) {
  if (committed_index <= commit_index_) return false;
  commit_index_ = committed_index;
  return true;
}

}  // namespace raft
