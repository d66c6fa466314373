// Configuration: the set of voting peers of a group.
//
// Kept sorted and free of duplicates so that two configurations with the same members compare
// equal. Joint consensus (a later capability) pairs two of these; quorum logic lives in
// BallotBox, not here. Thread-safety: a value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "raft/peer_id.h"
#include "raft/status.h"

namespace raft {

class Configuration {
 public:
  Configuration() = default;
  explicit Configuration(std::vector<PeerId> peers);

  // Parses "ip:port[:index],ip:port[:index],...". Errors are EINVAL naming the bad peer;
  // an empty list or a duplicate peer is an error.
  static Result<Configuration> parse(std::string_view text);

  const std::vector<PeerId>& peers() const { return peers_; }
  size_t size() const { return peers_.size(); }
  bool empty() const { return peers_.empty(); }
  bool contains(const PeerId& peer) const;
  // The number of votes that make a majority: size()/2 + 1.
  size_t quorum() const { return peers_.size() / 2 + 1; }

  // "a,b,c", the inverse of parse().
  std::string to_string() const;

  bool operator==(const Configuration&) const = default;

 private:
  std::vector<PeerId> peers_;  // Invariant: sorted, no duplicates.
};

std::ostream& operator<<(std::ostream& os, const Configuration& conf);

}  // namespace raft
