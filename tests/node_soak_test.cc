// Long randomized simulation runs, outside the default suite (label "soak"):
//   ctest --test-dir build -L soak
// PONTOON_SOAK_SEEDS sets how many seeds each cluster size runs (default 200); a failure
// prints its seed, and SimCluster(size, seed) replays it exactly.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "support/scenarios.h"
#include "support/sim_cluster.h"

using namespace raft;
using namespace raft::testing;

TEST_CASE("soak: safety holds under random faults across many seeds", "[soak]") {
  const char* env = std::getenv("PONTOON_SOAK_SEEDS");
  const uint64_t seeds = env ? std::strtoull(env, nullptr, 10) : 200;
  const char* first_env = std::getenv("PONTOON_SOAK_FIRST_SEED");
  const uint64_t first = first_env ? std::strtoull(first_env, nullptr, 10) : 1000;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    for (size_t size : {3, 5}) {
      INFO("cluster of " << size << ", seed " << seed);
      SimCluster cluster(size, seed);
      cluster.start_all();
      scenario_chaos(cluster, 80);
      cluster.stop_all();
    }
  }
}
