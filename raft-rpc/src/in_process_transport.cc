#include "raft/rpc/in_process_transport.h"

#include <atomic>

namespace raft::rpc {

class InProcessNetwork::Transport final : public RaftTransport {
 public:
  Transport(std::shared_ptr<InProcessNetwork> network, PeerId self)
      : network_(std::move(network)), self_(std::move(self)) {}

  Status register_service(const GroupId& group_id, const PeerId& self,
                          RaftService* service) override {
    return network_->register_service(group_id, self, service);
  }
  void unregister_service(const GroupId& group_id, const PeerId& self) override {
    network_->unregister_service(group_id, self);
  }
  void request_vote(const RequestVoteRequest& request, Duration timeout,
                    RpcCallback<RequestVoteResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_request_vote);
  }
  void append_entries(const AppendEntriesRequest& request, Duration timeout,
                      RpcCallback<AppendEntriesResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_append_entries);
  }
  void install_snapshot(const InstallSnapshotRequest& request, Duration timeout,
                        RpcCallback<InstallSnapshotResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_install_snapshot);
  }
  void get_file(const GetFileRequest& request, Duration timeout,
                RpcCallback<GetFileResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_get_file);
  }
  void timeout_now(const TimeoutNowRequest& request, Duration timeout,
                   RpcCallback<TimeoutNowResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_timeout_now);
  }
  void read_index(const ReadIndexRequest& request, Duration timeout,
                  RpcCallback<ReadIndexResponse> done) override {
    forward(request, timeout, std::move(done), &RaftService::handle_read_index);
  }

 private:
  // Every RPC takes the same way through the network, so each is subject to the same faults.
  template <typename Request, typename Response>
  void forward(const Request& request, Duration timeout, RpcCallback<Response> done,
               void (RaftService::*handle)(const Request&, RpcCallback<Response>)) {
    network_->call<Request, Response>(
        self_, request, timeout, std::move(done),
        [handle](RaftService* service, const Request& req, RpcCallback<Response> reply) {
          (service->*handle)(req, std::move(reply));
        });
  }

  std::shared_ptr<InProcessNetwork> network_;
  const PeerId self_;
};

InProcessNetwork::InProcessNetwork(Runtime& runtime, uint64_t seed)
    : lane_(runtime.make_executor("network")),
      rng_(seed),
      min_delay_(std::chrono::microseconds(100)),
      max_delay_(std::chrono::milliseconds(2)) {}

InProcessNetwork::~InProcessNetwork() { lane_->shutdown(); }

std::shared_ptr<RaftTransport> InProcessNetwork::transport_for(const PeerId& self) {
  return std::make_shared<Transport>(shared_from_this(), self);
}

void InProcessNetwork::set_delay(Duration min_delay, Duration max_delay) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  min_delay_ = min_delay;
  max_delay_ = std::max(min_delay, max_delay);
}

void InProcessNetwork::set_drop_probability(double probability) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  drop_probability_ = std::clamp(probability, 0.0, 1.0);
}

void InProcessNetwork::set_duplicate_probability(double probability) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  duplicate_probability_ = std::clamp(probability, 0.0, 1.0);
}

uint64_t InProcessNetwork::duplicated() const {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  return duplicated_;
}

void InProcessNetwork::block(const PeerId& from, const PeerId& to) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  blocked_.emplace(from, to);
}

void InProcessNetwork::isolate(const PeerId& peer) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  isolated_.insert(peer);
}

void InProcessNetwork::partition(const std::vector<std::vector<PeerId>>& sides) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  side_of_.clear();
  for (size_t side = 0; side < sides.size(); ++side) {
    for (const PeerId& peer : sides[side]) side_of_[peer] = side;
  }
  partitioned_ = true;
}

void InProcessNetwork::heal() {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  blocked_.clear();
  isolated_.clear();
  side_of_.clear();
  partitioned_ = false;
}

uint64_t InProcessNetwork::delivered() const {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  return delivered_;
}

uint64_t InProcessNetwork::dropped() const {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  return dropped_;
}

Status InProcessNetwork::register_service(const GroupId& group_id, const PeerId& self,
                                          RaftService* service) {
  std::lock_guard<std::mutex> lock(routes_mutex_);
  auto [it, inserted] = routes_.try_emplace({group_id, self}, Route{service});
  if (!inserted) {
    return Status::InvalidArgument("group " + group_id + " peer " + self.to_string() +
                                   " is already registered");
  }
  return Status::OK();
}

void InProcessNetwork::unregister_service(const GroupId& group_id, const PeerId& self) {
  std::lock_guard<std::mutex> lock(routes_mutex_);
  routes_.erase({group_id, self});
}

std::optional<Duration> InProcessNetwork::route(const PeerId& from, const PeerId& to) {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  bool lost =
      blocked_.count({from, to}) > 0 || isolated_.count(from) > 0 || isolated_.count(to) > 0;
  if (!lost && partitioned_) {
    auto a = side_of_.find(from);
    auto b = side_of_.find(to);
    lost = a == side_of_.end() || b == side_of_.end() || a->second != b->second;
  }
  if (!lost && drop_probability_ > 0) {
    lost = std::uniform_real_distribution<double>(0, 1)(rng_) < drop_probability_;
  }
  if (lost) {
    ++dropped_;
    return std::nullopt;
  }
  ++delivered_;
  return Duration(
      std::uniform_int_distribution<int64_t>(min_delay_.count(), max_delay_.count())(rng_));
}

template <typename Request, typename Response, typename Deliver>
void InProcessNetwork::call(const PeerId& from, const Request& request, Duration timeout,
                            RpcCallback<Response> done, Deliver deliver) {
  // The caller's callback runs exactly once: with the response, or at the deadline.
  struct Call {
    std::atomic<bool> completed{false};
    RpcCallback<Response> done;
    void complete(const Status& status, const Response& response) {
      if (!completed.exchange(true)) done(status, response);
    }
  };
  auto pending = std::make_shared<Call>();
  pending->done = std::move(done);
  const PeerId to = request.peer_id;
  lane_->post_after(timeout, [pending, to] {
    pending->complete(Status::TimedOut("no answer from " + to.to_string()), Response{});
  });
  std::optional<Duration> delay = route(from, to);
  if (!delay) return;
  std::weak_ptr<InProcessNetwork> weak = weak_from_this();
  auto deliver_once = [weak, pending, request, from, to, deliver] {
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard<std::mutex> lock(self->routes_mutex_);
    auto it = self->routes_.find({request.group_id, to});
    if (it == self->routes_.end()) {
      pending->complete(
          Status::Unavailable("no replica of group " + request.group_id + " at " + to.to_string()),
          Response{});
      return;
    }
    deliver(it->second.service, request,
            [weak, pending, from, to](const Status& status, const Response& response) {
              auto network = weak.lock();
              if (!network) return;
              std::optional<Duration> back = network->route(to, from);
              if (!back) return;
              network->lane_->post_after(
                  *back, [pending, status, response] { pending->complete(status, response); });
            });
  };
  lane_->post_after(*delay, deliver_once);
  // A duplicated request reaches the service a second time, later; whichever answer comes
  // back first completes the call.
  if (std::optional<Duration> again = duplicate_delay()) {
    lane_->post_after(*delay + *again, deliver_once);
  }
}

std::optional<Duration> InProcessNetwork::duplicate_delay() {
  std::lock_guard<std::mutex> lock(faults_mutex_);
  if (duplicate_probability_ <= 0 ||
      std::uniform_real_distribution<double>(0, 1)(rng_) >= duplicate_probability_) {
    return std::nullopt;
  }
  ++duplicated_;
  return Duration(
      std::uniform_int_distribution<int64_t>(min_delay_.count(), max_delay_.count())(rng_));
}

}  // namespace raft::rpc
