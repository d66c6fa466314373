#include "configuration_manager.h"

#include "raft/check.h"

namespace raft {

void ConfigurationManager::set_base(LogId id, ConfigurationEntry conf) {
  base_ = {id, std::move(conf)};
  while (!entries_.empty() && entries_.front().first.index <= id.index) entries_.pop_front();
}

void ConfigurationManager::add(LogId id, ConfigurationEntry conf) {
  PONTOON_CHECK(id.index > base_.first.index);
  PONTOON_CHECK(entries_.empty() || id.index > entries_.back().first.index);
  entries_.emplace_back(id, std::move(conf));
}

void ConfigurationManager::truncate_after(LogIndex last_kept) {
  while (!entries_.empty() && entries_.back().first.index > last_kept) entries_.pop_back();
}

void ConfigurationManager::truncate_before(LogIndex first_kept) {
  while (!entries_.empty() && entries_.front().first.index < first_kept) {
    base_ = std::move(entries_.front());
    entries_.pop_front();
  }
}

const ConfigurationEntry& ConfigurationManager::current() const {
  return entries_.empty() ? base_.second : entries_.back().second;
}

LogId ConfigurationManager::current_id() const {
  return entries_.empty() ? base_.first : entries_.back().first;
}

const ConfigurationEntry& ConfigurationManager::at(LogIndex index) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first.index <= index) return it->second;
  }
  return base_.second;
}

}  // namespace raft
