// InProcessNetwork: replicas of many groups in one process, talking through posted function
// calls instead of sockets, with faults a test controls: dropped messages, duplicated
// requests, delays and partitions.
//
// Every message (request or response) is delivered on the network's own lane after a delay
// drawn from [min_delay, max_delay]; a message on a blocked link, or one that loses the
// drop-probability draw, is silently lost, so the caller's RPC times out as it would on a real
// network. Under SimScheduler the whole network is deterministic: the seed fixes every delay,
// drop and interleaving.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "raft/executor.h"
#include "raft/transport.h"

namespace raft::rpc {

class InProcessNetwork : public std::enable_shared_from_this<InProcessNetwork> {
 public:
  InProcessNetwork(Runtime& runtime, uint64_t seed);
  ~InProcessNetwork();

  // A transport whose outgoing messages come from `self` (for link faults).
  std::shared_ptr<RaftTransport> transport_for(const PeerId& self);

  // Every message waits a uniformly drawn delay in [min_delay, max_delay].
  void set_delay(Duration min_delay, Duration max_delay);
  // Each message is lost with this probability, in [0, 1].
  void set_drop_probability(double probability);
  // Each delivered request reaches its service a second time with this probability, in
  // [0, 1] (a retransmission): handlers must be idempotent.
  void set_duplicate_probability(double probability);
  // Messages from `from` to `to` are lost (one direction).
  void block(const PeerId& from, const PeerId& to);
  // `peer` can neither send nor receive.
  void isolate(const PeerId& peer);
  // Only peers in the same side can talk; peers in no side are isolated.
  void partition(const std::vector<std::vector<PeerId>>& sides);
  // Removes every block, isolation and partition (not delays or drop probability).
  void heal();

  uint64_t delivered() const;
  uint64_t dropped() const;
  uint64_t duplicated() const;

 private:
  class Transport;
  struct Route {
    RaftService* service = nullptr;
  };

  Status register_service(const GroupId& group_id, const PeerId& self, RaftService* service);
  void unregister_service(const GroupId& group_id, const PeerId& self);
  // Decides the fate of one message; returns the delay, or nothing if it is lost.
  std::optional<Duration> route(const PeerId& from, const PeerId& to);
  // The extra delay of a duplicate of a delivered request, or nothing.
  std::optional<Duration> duplicate_delay();
  template <typename Request, typename Response, typename Deliver>
  void call(const PeerId& from, const Request& request, Duration timeout,
            RpcCallback<Response> done, Deliver deliver);

  std::shared_ptr<Executor> lane_;

  mutable std::mutex faults_mutex_;
  std::mt19937_64 rng_;                          // Guarded by faults_mutex_.
  Duration min_delay_;                           // Guarded by faults_mutex_.
  Duration max_delay_;                           // Guarded by faults_mutex_.
  double drop_probability_ = 0;                  // Guarded by faults_mutex_.
  double duplicate_probability_ = 0;             // Guarded by faults_mutex_.
  uint64_t duplicated_ = 0;                      // Guarded by faults_mutex_.
  std::set<std::pair<PeerId, PeerId>> blocked_;  // Guarded by faults_mutex_.
  std::set<PeerId> isolated_;                    // Guarded by faults_mutex_.
  std::map<PeerId, size_t> side_of_;             // Guarded by faults_mutex_.
  bool partitioned_ = false;                     // Guarded by faults_mutex_.
  uint64_t delivered_ = 0;                       // Guarded by faults_mutex_.
  uint64_t dropped_ = 0;                         // Guarded by faults_mutex_.

  // Held while a request is handed to a service, so unregister_service can wait it out.
  mutable std::mutex routes_mutex_;
  std::map<std::pair<GroupId, PeerId>, Route> routes_;  // Guarded by routes_mutex_.
};

}  // namespace raft::rpc
