#include "support/sim_cluster.h"

namespace raft::testing {

SimCluster::SimCluster(size_t size, uint64_t seed)
    : scheduler_(std::make_shared<SimScheduler>(seed)),
      network_(std::make_shared<rpc::InProcessNetwork>(*scheduler_, seed ^ 0x9e3779b97f4a7c15ull)) {
  for (size_t i = 0; i < size; ++i) {
    peers_.emplace_back("127.0.0.1", static_cast<uint16_t>(7000 + i));
    logs_.push_back(std::make_shared<MemoryLogStorage>("sim"));
    metas_.push_back(std::make_shared<MemoryRaftMetaStorage>());
  }
  nodes_.resize(size);
  fsms_.resize(size);
  base_options_.election_timeout_ms = 300;
  base_options_.max_election_delay_ms = 300;
  base_options_.heartbeat_interval_ms = 30;
  base_options_.rpc_timeout_ms = 300;
  base_options_.runtime = scheduler_;
}

SimCluster::~SimCluster() { stop_all(); }

void SimCluster::start(size_t i) {
  NodeOptions options = base_options_;
  options.random_seed = scheduler_->rng()();
  start_node(i, "sim", options, logs_[i], metas_[i], network_->transport_for(peers_[i]));
}

void SimCluster::stop(size_t i) {
  PONTOON_CHECK(nodes_[i]);
  nodes_[i]->shutdown(nullptr);
  bool stopped =
      scheduler_->run_until([&] { return nodes_[i]->is_shut_down(); }, std::chrono::seconds(60));
  PONTOON_CHECK_MSG(stopped, "node did not shut down");
  nodes_[i]->join();
  nodes_[i].reset();
}

bool SimCluster::wait_until(const std::function<bool()>& done, Duration limit) {
  return scheduler_->run_until(
      [&] {
        observe();
        return done();
      },
      limit);
}

void SimCluster::isolate(size_t i) { network_->isolate(peers_[i]); }

void SimCluster::partition(const std::vector<std::vector<size_t>>& sides) {
  std::vector<std::vector<PeerId>> peer_sides;
  for (const auto& side : sides) {
    peer_sides.emplace_back();
    for (size_t i : side) peer_sides.back().push_back(peers_[i]);
  }
  network_->partition(peer_sides);
}

void SimCluster::heal() { network_->heal(); }

}  // namespace raft::testing
