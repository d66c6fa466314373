// Long randomized simulation runs, outside the default suite (label "soak"):
//   ctest --test-dir build -L soak
// PONTOON_SOAK_SEEDS sets how many seeds each cluster size runs (default 200) and
// PONTOON_SOAK_FIRST_SEED where they start; a failure prints its seed, and the same cluster
// built with that seed replays it exactly. Filter one scenario with its name, e.g.
//   build/tests/node_soak_test "soak: on simulated disks*"
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

namespace {

// Runs `scenario(cluster)` on 3- and 5-node clusters for every soak seed.
template <typename MakeCluster>
void for_each_soak_seed(MakeCluster make_cluster) {
  const char* env = std::getenv("PONTOON_SOAK_SEEDS");
  const uint64_t seeds = env ? std::strtoull(env, nullptr, 10) : 200;
  const char* first_env = std::getenv("PONTOON_SOAK_FIRST_SEED");
  const uint64_t first = first_env ? std::strtoull(first_env, nullptr, 10) : 1000;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      std::unique_ptr<SimCluster> cluster = make_cluster(size, seed);
      cluster->start_all();
      scenario_chaos(*cluster, 80);
      cluster->stop_all();
    }
  }
}

}  // namespace

TEST_CASE("soak: safety holds under random faults across many seeds", "[soak]") {
  for_each_soak_seed(
      [](size_t size, uint64_t seed) { return std::make_unique<SimCluster>(size, seed); });
}

TEST_CASE("soak: on simulated disks, crashes at any point with snapshots and installs lose nothing",
          "[soak][snapshot]") {
  for_each_soak_seed([](size_t size, uint64_t seed) {
    auto cluster = std::make_unique<SimCluster>(size, seed, sim_disk_with_snapshots());
    use_frequent_snapshots(cluster->options());
    return cluster;
  });
}
