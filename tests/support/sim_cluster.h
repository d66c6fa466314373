// SimCluster: a TestCluster on SimScheduler and InProcessNetwork with memory storage. The whole
// run — elections, message delays and losses, interleavings — follows from the seed.
#pragma once

#include <memory>

#include "raft/rpc/in_process_transport.h"
#include "raft/sim_scheduler.h"
#include "raft/storage/memory_log_storage.h"
#include "raft/storage/memory_meta_storage.h"
#include "support/cluster.h"

namespace raft::testing {

class SimCluster : public TestCluster {
 public:
  SimCluster(size_t size, uint64_t seed);
  ~SimCluster() override;

  // Applied to every node started after the change.
  NodeOptions& options() { return base_options_; }
  SimScheduler& scheduler() { return *scheduler_; }
  rpc::InProcessNetwork& network() { return *network_; }
  MemoryLogStorage& log_storage(size_t i) { return *logs_.at(i); }
  MemoryRaftMetaStorage& meta_storage(size_t i) { return *metas_.at(i); }

  void start(size_t i) override;
  void stop(size_t i) override;
  bool wait_until(const std::function<bool()>& done, Duration limit) override;
  void isolate(size_t i) override;
  void partition(const std::vector<std::vector<size_t>>& sides) override;
  void heal() override;

 private:
  std::shared_ptr<SimScheduler> scheduler_;
  std::shared_ptr<rpc::InProcessNetwork> network_;
  NodeOptions base_options_;
  std::vector<std::shared_ptr<MemoryLogStorage>> logs_;
  std::vector<std::shared_ptr<MemoryRaftMetaStorage>> metas_;
};

}  // namespace raft::testing
