#include "append_reorder_buffer.h"

#include <utility>

#include "raft/check.h"

namespace raft {

AppendReorderBuffer::AppendReorderBuffer(size_t max_requests, size_t max_bytes,
                                         Duration hold_timeout)
    : max_requests_(max_requests), max_bytes_(max_bytes), hold_timeout_(hold_timeout) {}

bool AppendReorderBuffer::hold(const AppendEntriesRequest& request,
                               RpcCallback<AppendEntriesResponse>& done, TimePoint now,
                               std::optional<HeldAppend>* displaced) {
  PONTOON_CHECK(!request.entries.empty());
  PONTOON_CHECK(held_.empty() || request.term == term_);
  displaced->reset();
  size_t bytes = 0;
  for (const LogEntryPtr& entry : request.entries) bytes += memory_footprint(*entry);
  auto same = held_.find(request.prev_log_id.index);
  const size_t freed = same == held_.end() ? 0 : same->second.bytes;
  const size_t count_after = held_.size() + (same == held_.end() ? 1 : 0);
  if (count_after > max_requests_ || bytes_ - freed + bytes > max_bytes_) return false;
  if (same != held_.end()) displaced->emplace(remove(same));
  term_ = request.term;
  bytes_ += bytes;
  held_.emplace(request.prev_log_id.index, HeldAppend{request, std::move(done), now, bytes});
  return true;
}

std::optional<HeldAppend> AppendReorderBuffer::take_ready(LogIndex last_log_index) {
  if (held_.empty() || held_.begin()->first > last_log_index) return std::nullopt;
  return remove(held_.begin());
}

std::vector<HeldAppend> AppendReorderBuffer::take_expired(TimePoint now) {
  std::vector<HeldAppend> expired;
  for (auto it = held_.begin(); it != held_.end();) {
    auto next = std::next(it);
    if (now - it->second.held_since >= hold_timeout_) expired.push_back(remove(it));
    it = next;
  }
  return expired;
}

std::vector<HeldAppend> AppendReorderBuffer::take_all() {
  std::vector<HeldAppend> all;
  while (!held_.empty()) all.push_back(remove(held_.begin()));
  return all;
}

std::optional<TimePoint> AppendReorderBuffer::next_expiry() const {
  std::optional<TimePoint> oldest;
  for (const auto& [prev_index, held] : held_) {
    if (!oldest || held.held_since < *oldest) oldest = held.held_since;
  }
  if (!oldest) return std::nullopt;
  return *oldest + hold_timeout_;
}

HeldAppend AppendReorderBuffer::remove(std::map<LogIndex, HeldAppend>::iterator it) {
  HeldAppend held = std::move(it->second);
  bytes_ -= held.bytes;
  held_.erase(it);
  return held;
}

}  // namespace raft
