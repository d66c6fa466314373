// FaultInjectingTransport: wraps any RaftTransport and loses outgoing messages to peers a test
// has cut off, so partitions can be staged on a real network too.
//
// A blocked call fails at once with EHOSTDOWN, as a refused connection would. To cut two
// replicas apart, block each from the other (every replica has its own wrapper); requests
// and their responses then stop in both directions. It can also fail every n-th AppendEntries
// that carries entries, undelivered, as a connection reset mid-pipeline would.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "raft/transport.h"

namespace raft::rpc {

class FaultInjectingTransport final : public RaftTransport {
 public:
  explicit FaultInjectingTransport(std::shared_ptr<RaftTransport> inner)
      : inner_(std::move(inner)) {}

  // Calls to these peers fail from now on (replacing the previous set).
  void set_blocked(std::set<PeerId> peers) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocked_ = std::move(peers);
  }
  uint64_t blocked_calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return blocked_calls_;
  }
  // Every `period`-th AppendEntries carrying entries fails at once from now on (0: none).
  void set_append_failure_period(uint64_t period) {
    std::lock_guard<std::mutex> lock(mutex_);
    append_failure_period_ = period;
  }

  Status register_service(const GroupId& group_id, const PeerId& self,
                          RaftService* service) override {
    return inner_->register_service(group_id, self, service);
  }
  void unregister_service(const GroupId& group_id, const PeerId& self) override {
    inner_->unregister_service(group_id, self);
  }
  void request_vote(const RequestVoteRequest& request, Duration timeout,
                    RpcCallback<RequestVoteResponse> done) override {
    forward(request, timeout, std::move(done), &RaftTransport::request_vote);
  }
  void append_entries(const AppendEntriesRequest& request, Duration timeout,
                      RpcCallback<AppendEntriesResponse> done) override {
    if (!request.entries.empty() && fails_this_append()) {
      done(
          Status::Unavailable("connection to " + request.peer_id.to_string() + " reset (injected)"),
          AppendEntriesResponse{});
      return;
    }
    forward(request, timeout, std::move(done), &RaftTransport::append_entries);
  }
  void install_snapshot(const InstallSnapshotRequest& request, Duration timeout,
                        RpcCallback<InstallSnapshotResponse> done) override {
    forward(request, timeout, std::move(done), &RaftTransport::install_snapshot);
  }
  void get_file(const GetFileRequest& request, Duration timeout,
                RpcCallback<GetFileResponse> done) override {
    forward(request, timeout, std::move(done), &RaftTransport::get_file);
  }
  void timeout_now(const TimeoutNowRequest& request, Duration timeout,
                   RpcCallback<TimeoutNowResponse> done) override {
    forward(request, timeout, std::move(done), &RaftTransport::timeout_now);
  }
  void read_index(const ReadIndexRequest& request, Duration timeout,
                  RpcCallback<ReadIndexResponse> done) override {
    forward(request, timeout, std::move(done), &RaftTransport::read_index);
  }

 private:
  // Fails the call at once if its receiver is cut off; otherwise hands it to `send` on inner_.
  template <typename Request, typename Response>
  void forward(const Request& request, Duration timeout, RpcCallback<Response> done,
               void (RaftTransport::*send)(const Request&, Duration, RpcCallback<Response>)) {
    if (is_blocked(request.peer_id)) {
      done(Status::Unavailable("link to " + request.peer_id.to_string() + " is cut"), Response{});
      return;
    }
    ((*inner_).*send)(request, timeout, std::move(done));
  }

  bool is_blocked(const PeerId& peer) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (blocked_.count(peer) == 0) return false;
    ++blocked_calls_;
    return true;
  }

  bool fails_this_append() {
    std::lock_guard<std::mutex> lock(mutex_);
    return append_failure_period_ != 0 && ++appends_with_entries_ % append_failure_period_ == 0;
  }

  const std::shared_ptr<RaftTransport> inner_;
  mutable std::mutex mutex_;
  std::set<PeerId> blocked_;            // Guarded by mutex_.
  uint64_t blocked_calls_ = 0;          // Guarded by mutex_.
  uint64_t append_failure_period_ = 0;  // Guarded by mutex_.
  uint64_t appends_with_entries_ = 0;   // Guarded by mutex_.
};

}  // namespace raft::rpc
