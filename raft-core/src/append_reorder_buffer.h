// AppendReorderBuffer: the follower's reorder window for pipelined AppendEntries.
//
// The leader pipelines up to max_inflight_msgs AppendEntries per follower. When one of them
// overtakes an earlier one (network jitter, a retransmission), its prev_log_id lies past the
// follower's last entry. Answering with a gap rejection at once makes the leader drop its whole
// window back to probing; instead the follower holds such a request here until the entries
// before it have arrived, and handles it then, so answers still leave in log order.
//
// Bounded three ways: at most `max_requests` requests, at most `max_bytes` of entries
// (memory_footprint), and each is held at most `hold_timeout`; whatever does not fit, or is
// not released in time, is answered with the gap rejection the follower would have sent at once,
// which is always safe (the leader probes). Only requests of one leader in one term are held; the
// node rejects them all when it stops following that leader.
//
// Thread-safety: none. It lives on the node lane.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <vector>

#include "raft/clock.h"
#include "raft/transport.h"

namespace raft {

struct HeldAppend {
  AppendEntriesRequest request;
  RpcCallback<AppendEntriesResponse> done;
  TimePoint held_since;
  size_t bytes = 0;
};

class AppendReorderBuffer {
 public:
  // max_requests == 0 disables holding: hold() always refuses.
  AppendReorderBuffer(size_t max_requests, size_t max_bytes, Duration hold_timeout);

  // Holds `request` until take_ready() releases it. REQUIRES: it carries entries and it is of
  // the same term as the requests held already (the caller rejects those first). False (and
  // nothing is held) when the window is full, or disabled. A request with the same prev_index
  // as one held replaces it (a retransmission); the replaced one is returned in *displaced, to
  // be answered by the caller. `done` is moved from only when true is returned.
  bool hold(const AppendEntriesRequest& request, RpcCallback<AppendEntriesResponse>& done,
            TimePoint now, std::optional<HeldAppend>* displaced);
  // Removes and returns the held request with the lowest prev_index if that is at most
  // `last_log_index` (the entries before it have arrived).
  std::optional<HeldAppend> take_ready(LogIndex last_log_index);
  // Removes and returns every request held since before `now - hold_timeout`.
  std::vector<HeldAppend> take_expired(TimePoint now);
  // Removes and returns everything held.
  std::vector<HeldAppend> take_all();
  // When the oldest held request expires; nullopt when nothing is held.
  std::optional<TimePoint> next_expiry() const;

  bool empty() const { return held_.empty(); }
  size_t size() const { return held_.size(); }
  size_t bytes() const { return bytes_; }
  // The term of the requests held; meaningful only when !empty().
  Term term() const { return term_; }
  Duration hold_timeout() const { return hold_timeout_; }

 private:
  HeldAppend remove(std::map<LogIndex, HeldAppend>::iterator it);

  const size_t max_requests_;
  const size_t max_bytes_;
  const Duration hold_timeout_;
  std::map<LogIndex, HeldAppend> held_;  // By prev_log_id.index.
  size_t bytes_ = 0;
  Term term_;
};

}  // namespace raft
