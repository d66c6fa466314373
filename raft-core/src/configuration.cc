#include "raft/configuration.h"

#include <algorithm>

namespace raft {

Configuration::Configuration(std::vector<PeerId> peers) : peers_(std::move(peers)) {
  std::sort(peers_.begin(), peers_.end());
  peers_.erase(std::unique(peers_.begin(), peers_.end()), peers_.end());
}

Result<Configuration> Configuration::parse(std::string_view text) {
  std::vector<PeerId> peers;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    Result<PeerId> peer = PeerId::parse(item);
    if (!peer.ok()) return peer.status();
    if (std::find(peers.begin(), peers.end(), *peer) != peers.end()) {
      return Status::InvalidArgument("duplicate peer '" + std::string(item) + "' in configuration");
    }
    peers.push_back(*peer);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return Status::InvalidArgument("configuration ends with ','");
  }
  if (peers.empty()) return Status::InvalidArgument("configuration lists no peers");
  return Configuration(std::move(peers));
}

bool Configuration::contains(const PeerId& peer) const {
  return std::binary_search(peers_.begin(), peers_.end(), peer);
}

std::string Configuration::to_string() const {
  std::string out;
  for (const PeerId& peer : peers_) {
    if (!out.empty()) out += ',';
    out += peer.to_string();
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Configuration& conf) {
  return os << conf.to_string();
}

}  // namespace raft
