#include "raft/configuration.h"

#include <algorithm>
#include <cstdint>

namespace raft {
namespace {

constexpr std::string_view kLearnerSuffix = "/learner";

void sort_unique(std::vector<PeerId>* peers) {
  std::sort(peers->begin(), peers->end());
  peers->erase(std::unique(peers->begin(), peers->end()), peers->end());
}

size_t count_in(const std::vector<PeerId>& voters, const std::vector<PeerId>& granted) {
  size_t n = 0;
  for (const PeerId& peer : voters) {
    n += std::find(granted.begin(), granted.end(), peer) != granted.end();
  }
  return n;
}

}  // namespace

Configuration::Configuration(std::vector<PeerId> peers, std::vector<PeerId> learners)
    : peers_(std::move(peers)), learners_(std::move(learners)) {
  sort_unique(&peers_);
  sort_unique(&learners_);
  // A voter listed as a learner too is a voter.
  std::erase_if(learners_, [this](const PeerId& p) { return contains(p); });
}

namespace {

// Splits "ip:port:index:priority" into the peer text and the priority (kNoPriority without one).
Result<int32_t> split_priority(std::string_view* item) {
  if (std::count(item->begin(), item->end(), ':') != 3) return Configuration::kNoPriority;
  const size_t colon = item->rfind(':');
  const std::string_view digits = item->substr(colon + 1);
  int64_t value = 0;
  const bool digits_only =
      !digits.empty() && digits.size() <= 7 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits_only) {
    for (char c : digits) value = value * 10 + (c - '0');
  }
  if (!digits_only || value > Configuration::kMaxPriority) {
    return Status::InvalidArgument("bad priority '" + std::string(digits) + "' in peer '" +
                                   std::string(*item) + "': expected an integer in [0, " +
                                   std::to_string(Configuration::kMaxPriority) + "]");
  }
  item->remove_suffix(digits.size() + 1);
  return static_cast<int32_t>(value);
}

}  // namespace

Result<Configuration> Configuration::parse(std::string_view text) {
  std::vector<PeerId> peers;
  std::vector<PeerId> learners;
  std::map<PeerId, int32_t> priorities;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    const std::string_view whole = item;
    const bool learner = item.ends_with(kLearnerSuffix);
    if (learner) item.remove_suffix(kLearnerSuffix.size());
    Result<int32_t> priority = split_priority(&item);
    if (!priority.ok()) return priority.status();
    if (learner && *priority != kNoPriority) {
      return Status::InvalidArgument("learner '" + std::string(whole) +
                                     "' has a priority; only voters are elected");
    }
    Result<PeerId> peer = PeerId::parse(item);
    if (!peer.ok()) return peer.status();
    if (std::find(peers.begin(), peers.end(), *peer) != peers.end() ||
        std::find(learners.begin(), learners.end(), *peer) != learners.end()) {
      return Status::InvalidArgument("duplicate peer '" + std::string(item) + "' in configuration");
    }
    (learner ? learners : peers).push_back(*peer);
    if (*priority != kNoPriority) priorities[*peer] = *priority;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return Status::InvalidArgument("configuration ends with ','");
  }
  if (peers.empty()) return Status::InvalidArgument("configuration lists no voting peer");
  Configuration conf(std::move(peers), std::move(learners));
  conf.priorities_ = std::move(priorities);
  return conf;
}

int32_t Configuration::priority(const PeerId& peer) const {
  auto it = priorities_.find(peer);
  return it == priorities_.end() ? kNoPriority : it->second;
}

int32_t Configuration::max_priority() const {
  int32_t highest = kNoPriority;
  for (const auto& [peer, priority] : priorities_) highest = std::max(highest, priority);
  return highest;
}

Status Configuration::set_priority(const PeerId& peer, int32_t priority) {
  if (!contains(peer)) {
    return Status::InvalidArgument("priority for " + peer.to_string() +
                                   ", which is not a voter of " + to_string());
  }
  if (priority < kNoPriority || priority > kMaxPriority) {
    return Status::InvalidArgument("priority " + std::to_string(priority) + " of " +
                                   peer.to_string() + " is not in [-1, " +
                                   std::to_string(kMaxPriority) + "]");
  }
  if (priority == kNoPriority) {
    priorities_.erase(peer);
  } else {
    priorities_[peer] = priority;
  }
  return Status::OK();
}

Configuration Configuration::with_priorities_of(const Configuration& other) const {
  Configuration out = *this;
  out.priorities_.clear();
  for (const auto& [peer, priority] : other.priorities_) {
    if (out.contains(peer)) out.priorities_[peer] = priority;
  }
  return out;
}

bool Configuration::contains(const PeerId& peer) const {
  return std::binary_search(peers_.begin(), peers_.end(), peer);
}

bool Configuration::is_learner(const PeerId& peer) const {
  return std::binary_search(learners_.begin(), learners_.end(), peer);
}

std::vector<PeerId> Configuration::members() const {
  std::vector<PeerId> out = peers_;
  out.insert(out.end(), learners_.begin(), learners_.end());
  sort_unique(&out);
  return out;
}

std::string Configuration::to_string() const {
  std::string out;
  for (const PeerId& peer : peers_) {
    if (!out.empty()) out += ',';
    const int32_t p = priority(peer);
    // With a priority the index is always written, so that the text parses back.
    out += p == kNoPriority
               ? peer.to_string()
               : peer.endpoint() + ":" + std::to_string(peer.index()) + ":" + std::to_string(p);
  }
  for (const PeerId& peer : learners_) {
    out += ',';
    out += peer.to_string();
    out += kLearnerSuffix;
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Configuration& conf) {
  return os << conf.to_string();
}

std::vector<PeerId> ConfigurationEntry::all_members() const {
  std::vector<PeerId> out = conf.members();
  out.insert(out.end(), old_conf.peers().begin(), old_conf.peers().end());
  sort_unique(&out);
  return out;
}

bool ConfigurationEntry::has_quorum(const std::vector<PeerId>& granted) const {
  if (count_in(conf.peers(), granted) < conf.quorum()) return false;
  return !joint() || count_in(old_conf.peers(), granted) >= old_conf.quorum();
}

std::string ConfigurationEntry::to_string() const {
  if (!joint()) return conf.to_string();
  return conf.to_string() + "|" + old_conf.to_string();
}

Result<ConfigurationEntry> ConfigurationEntry::parse(std::string_view text) {
  ConfigurationEntry entry;
  const size_t bar = text.find('|');
  Result<Configuration> conf = Configuration::parse(text.substr(0, bar));
  if (!conf.ok()) return conf.status();
  entry.conf = *conf;
  if (bar != std::string_view::npos) {
    Result<Configuration> old_conf = Configuration::parse(text.substr(bar + 1));
    if (!old_conf.ok()) {
      return Status::InvalidArgument("old configuration of a joint entry: " +
                                     std::string(old_conf.status().message()));
    }
    entry.old_conf = *old_conf;
  }
  return entry;
}

std::ostream& operator<<(std::ostream& os, const ConfigurationEntry& entry) {
  return os << entry.to_string();
}

}  // namespace raft
