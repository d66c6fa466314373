#include "leader_client.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>

#include "raft/check.h"
#include "raft/rpc/fiber_threads.h"
#include "service_protocol.h"

namespace example {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinBackoff{5};
constexpr milliseconds kMaxBackoff{200};
// A read attempt gives up on one replica after this long and tries the next; a write attempt
// cannot (it would not know whether the first one applied), so it waits out the op timeout.
constexpr milliseconds kReadAttemptTimeout{2000};

}  // namespace

LeaderClient::LeaderClient(raft::rpc::RpcClient* rpc, std::vector<std::string> endpoints,
                           raft::Duration op_timeout)
    : rpc_(rpc), endpoints_(std::move(endpoints)), op_timeout_(op_timeout) {
  PONTOON_CHECK(rpc_ != nullptr);
  PONTOON_CHECK(!endpoints_.empty());
  PONTOON_CHECK(op_timeout_ > raft::Duration::zero());
  leader_ = endpoints_.front();
}

Reply LeaderClient::call(const std::string& endpoint, uint32_t method_id, const std::string& body,
                         raft::Duration timeout) {
  Reply reply;
  // RpcClient runs every callback exactly once, at the latest about `timeout` from now. On a
  // fiber (FiberThreads) only the fiber waits, not its thread.
  raft::rpc::wait_for_callback([&](std::function<void()> resume) {
    rpc_->call(
        endpoint, method_id, body, timeout,
        [&reply, resume = std::move(resume)](const raft::Status& status, std::string response) {
          reply = Reply{status, std::move(response)};
          resume();
        });
  });
  return reply;
}

std::string LeaderClient::leader_guess() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

void LeaderClient::remember_leader(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = endpoint;
}

void LeaderClient::move_on_from(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_ == endpoint) leader_ = next_after(endpoint);
}

std::string LeaderClient::next_after(const std::string& endpoint) const {
  auto it = std::find(endpoints_.begin(), endpoints_.end(), endpoint);
  if (it == endpoints_.end() || ++it == endpoints_.end()) return endpoints_.front();
  return *it;
}

CallResult LeaderClient::call_leader(uint32_t method_id, const std::string& request,
                                     bool read_only) {
  const auto deadline = Clock::now() + op_timeout_;
  CallResult result;
  std::string target = leader_guess();
  milliseconds backoff = kMinBackoff;
  // Hints followed in a row; past one per replica they are going round in circles (an election
  // in progress) and the client backs off like for any other retry.
  size_t hints_in_a_row = 0;
  for (;;) {
    const auto remaining = deadline - Clock::now();
    if (remaining <= raft::Duration::zero()) {
      result.outcome = CallResult::Outcome::kFailed;
      if (result.error.ok()) result.error = raft::Status::TimedOut("no attempt made");
      return result;
    }
    const raft::Duration attempt_timeout =
        read_only ? std::min<raft::Duration>(remaining, kReadAttemptTimeout) : remaining;
    ++result.attempts;
    Reply reply = call(target, method_id, request, attempt_timeout);
    result.endpoint = target;
    if (reply.status.ok()) {
      remember_leader(target);
      result.outcome = CallResult::Outcome::kOk;
      result.body = std::move(reply.body);
      result.error = raft::Status::OK();
      return result;
    }
    result.error = reply.status;

    CallFailure failure = classify_call_failure(reply.status);
    if (failure == CallFailure::kUnknown && read_only) failure = CallFailure::kNotSent;
    switch (failure) {
      case CallFailure::kNotLeader: {
        std::optional<std::string> hint = leader_hint(reply.status);
        if (hint && *hint != target && hints_in_a_row < endpoints_.size()) {
          ++hints_in_a_row;
          target = *hint;
          remember_leader(target);
          continue;  // A fresh hint: no reason to wait.
        }
        target = hint && *hint != target ? *hint : next_after(target);
        break;
      }
      case CallFailure::kBusy:
        break;  // Same replica, after the backoff.
      case CallFailure::kNotSent:
        move_on_from(target);
        target = next_after(target);
        break;
      case CallFailure::kRejected:
        result.outcome = CallResult::Outcome::kFailed;
        return result;
      case CallFailure::kUnknown:
        // The replica went silent (a timeout, a lost connection): it may be a leader cut off
        // or stopped, so the next call, of any thread, tries another, which names the leader.
        move_on_from(target);
        result.outcome = CallResult::Outcome::kUnknown;
        return result;
    }
    hints_in_a_row = 0;
    const auto sleep_for = std::min<raft::Duration>(backoff, deadline - Clock::now());
    if (sleep_for > raft::Duration::zero()) raft::rpc::pause_for(sleep_for);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

std::vector<Reply> LeaderClient::call_each(uint32_t method_id, const std::string& request,
                                           raft::Duration timeout) {
  std::vector<std::future<Reply>> pending;
  for (const std::string& endpoint : endpoints_) {
    auto reply = std::make_shared<std::promise<Reply>>();
    pending.push_back(reply->get_future());
    rpc_->call(endpoint, method_id, request, timeout,
               [reply](const raft::Status& status, std::string body) {
                 reply->set_value(Reply{status, std::move(body)});
               });
  }
  std::vector<Reply> replies;
  for (std::future<Reply>& reply : pending) replies.push_back(reply.get());
  return replies;
}

}  // namespace example
