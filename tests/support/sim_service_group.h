// SimServiceGroup: N replicas of an example service (example/counter, example/atomic) on real
// Nodes in the deterministic simulation: each replica has its own state machine, Node and
// service object, so tests can call a service's handlers on any replica as its RPC server
// would, and run the simulation until the answer arrives.
//
// `Fsm` is the service's StateMachine; `Service` is constructed as
// Service(raft::Node*, const Fsm*, example::ServiceReadMode). Thread-safety: single-threaded,
// like the simulation.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/check.h"
#include "raft/node.h"
#include "raft/rpc/rpc_server.h"
#include "raft/storage/memory_log_storage.h"
#include "raft/storage/memory_meta_storage.h"
#include "server_flags.h"
#include "support/sim_cluster.h"

namespace raft::testing {

// One RPC answer, as a service's Responder delivers it.
struct Reply {
  std::optional<Status> status;
  std::string body;
  rpc::RpcServer::Responder responder() {
    return [this](const Status& s, std::string b) {
      status = s;
      body = std::move(b);
    };
  }
};

template <typename Fsm, typename Service>
class SimServiceGroup {
 public:
  static constexpr Duration kWait = std::chrono::seconds(30);

  SimServiceGroup(size_t size, uint64_t seed,
                  example::ServiceReadMode read = example::ServiceReadMode::kIndex)
      : cluster_(size, seed) {
    for (size_t i = 0; i < size; ++i) {
      fsms_.push_back(std::make_unique<Fsm>());
      nodes_.push_back(std::make_unique<Node>("service", cluster_.peer(i)));
      services_.push_back(std::make_unique<Service>(nodes_[i].get(), fsms_[i].get(), read));
      NodeOptions options = cluster_.options();
      options.initial_conf = cluster_.conf();
      options.fsm = fsms_[i].get();
      options.log_storage = std::make_shared<MemoryLogStorage>();
      options.meta_storage = std::make_shared<MemoryRaftMetaStorage>();
      options.transport = cluster_.network().transport_for(cluster_.peer(i));
      options.random_seed = cluster_.scheduler().rng()();
      Status started = nodes_[i]->init(options);
      PONTOON_CHECK_MSG(started.ok(), started.to_string().c_str());
    }
  }
  ~SimServiceGroup() {
    for (auto& node : nodes_) node->shutdown(nullptr);
    bool stopped = cluster_.scheduler().run_until(
        [&] {
          for (auto& node : nodes_) {
            if (!node->is_shut_down()) return false;
          }
          return true;
        },
        kWait);
    PONTOON_CHECK_MSG(stopped, "nodes did not shut down");
    for (auto& node : nodes_) node->join();
  }

  SimServiceGroup(const SimServiceGroup&) = delete;
  SimServiceGroup& operator=(const SimServiceGroup&) = delete;

  // Runs the simulation until `done` holds; false after kWait of virtual time.
  bool run_until(const std::function<bool()>& done) {
    return cluster_.scheduler().run_until(done, kWait);
  }
  std::optional<size_t> wait_for_leader() {
    std::optional<size_t> leader;
    run_until([&] {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->is_leader()) leader = i;
      }
      return leader.has_value();
    });
    return leader;
  }

  SimCluster& cluster() { return cluster_; }
  Node& node(size_t i) { return *nodes_[i]; }
  Fsm& fsm(size_t i) { return *fsms_[i]; }
  Service& service(size_t i) { return *services_[i]; }

 private:
  SimCluster cluster_;
  std::vector<std::unique_ptr<Fsm>> fsms_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Service>> services_;
};

}  // namespace raft::testing
