// LogManager over a storage that defers its syncs (LogStorage::defers_sync, the groups of one
// RocksDB store sharing a WAL sync): writes go out unsynced, the disk lane does not wait for
// the sync, and nothing counts as durable, nor is acknowledged, before the sync has run.
#include <catch2/catch.hpp>

#include "log_manager.h"
#include "raft/sim_scheduler.h"
#include "support/faulty_log_storage.h"

using namespace raft;
using raft::testing::FaultyLogStorage;

namespace {

std::vector<LogEntryPtr> entries(int64_t first, int64_t last, int64_t term) {
  std::vector<LogEntryPtr> out;
  for (int64_t i = first; i <= last; ++i) {
    out.push_back(make_entry(EntryType::kData, LogIndex(i), Term(term), "e" + std::to_string(i)));
  }
  return out;
}

struct DeferredFixture {
  DeferredFixture() {
    storage->defer_syncs = true;
    log = std::make_unique<LogManager>("g", storage, scheduler->make_executor("disk"),
                                       LogManager::Options());
    REQUIRE(log->init().ok());
  }
  ~DeferredFixture() {
    log->shutdown();
    storage->release_syncs();  // The LogManager's destructor waits for its pending syncs.
  }
  void run() {
    while (scheduler->run_one()) {
    }
  }
  LogManager::StableCallback record(std::vector<std::string>* out, std::string name) {
    return [out, name](const Status& s) { out->push_back(name + (s.ok() ? ":ok" : ":error")); };
  }

  std::shared_ptr<SimScheduler> scheduler = std::make_shared<SimScheduler>(1);
  std::shared_ptr<FaultyLogStorage> storage = std::make_shared<FaultyLogStorage>();
  std::unique_ptr<LogManager> log;
};

}  // namespace

TEST_CASE("deferred sync: an unsynced write is durable and acknowledged only after the sync",
          "[log_manager][deferred_sync]") {
  DeferredFixture f;
  std::vector<std::string> stable;
  REQUIRE(f.log->append(entries(1, 3, 1), f.record(&stable, "a")).ok());
  f.run();
  CHECK(f.storage->writes == 1);
  CHECK(f.storage->unsynced_writes == 1);  // Written without its own fsync.
  CHECK(f.storage->last_log_index() == LogIndex(3));
  CHECK(f.storage->held_syncs() == 1);
  CHECK(f.log->stable_index() == LogIndex(0));  // Not durable before the sync.
  CHECK(stable.empty());
  f.storage->release_syncs();
  CHECK(f.log->stable_index() == LogIndex(3));
  CHECK(stable == std::vector<std::string>{"a:ok"});
}

TEST_CASE("deferred sync: the disk lane writes the next batch while the previous one syncs",
          "[log_manager][deferred_sync]") {
  DeferredFixture f;
  std::vector<std::string> stable;
  REQUIRE(f.log->append(entries(1, 2, 1), f.record(&stable, "a")).ok());
  f.run();
  REQUIRE(f.log->append(entries(3, 4, 1), f.record(&stable, "b")).ok());
  f.run();
  // Both batches reached the storage although neither sync has finished.
  CHECK(f.storage->writes == 2);
  CHECK(f.storage->last_log_index() == LogIndex(4));
  CHECK(f.storage->held_syncs() == 2);
  CHECK(f.log->stable_index() == LogIndex(0));
  f.storage->release_syncs();
  CHECK(f.log->stable_index() == LogIndex(4));
  CHECK(stable == std::vector<std::string>{"a:ok", "b:ok"});
}

TEST_CASE("deferred sync: wait_stable waits for a sync still pending, in order",
          "[log_manager][deferred_sync]") {
  DeferredFixture f;
  std::vector<std::string> stable;
  REQUIRE(f.log->append(entries(1, 2, 1), f.record(&stable, "a")).ok());
  f.run();
  REQUIRE(f.log->wait_stable(f.record(&stable, "wait")).ok());
  f.run();
  // Nothing new was written, but the append before it is not durable yet: the wait must not
  // be answered before it.
  CHECK(f.storage->writes == 1);
  CHECK(stable.empty());
  f.storage->release_syncs();
  CHECK(stable == std::vector<std::string>{"a:ok", "wait:ok"});

  // With nothing pending, a wait is answered at once, without a sync.
  REQUIRE(f.log->wait_stable(f.record(&stable, "idle")).ok());
  f.run();
  CHECK(f.storage->held_syncs() == 0);
  CHECK(stable.back() == "idle:ok");
}

TEST_CASE("deferred sync: a failed sync fails its writes and nothing becomes durable",
          "[log_manager][deferred_sync]") {
  DeferredFixture f;
  std::vector<std::string> stable;
  REQUIRE(f.log->append(entries(1, 2, 1), f.record(&stable, "a")).ok());
  f.run();
  f.storage->release_syncs(Status::IoError("injected fsync failure"));
  CHECK(stable == std::vector<std::string>{"a:error"});
  CHECK(f.log->stable_index() == LogIndex(0));
}

TEST_CASE("deferred sync: a failed write is reported in order with the syncs before it",
          "[log_manager][deferred_sync]") {
  DeferredFixture f;
  std::vector<std::string> stable;
  REQUIRE(f.log->append(entries(1, 1, 1), f.record(&stable, "a")).ok());
  f.run();
  f.storage->fail_next = true;
  REQUIRE(f.log->append(entries(2, 2, 1), f.record(&stable, "b")).ok());
  f.run();
  CHECK(stable.empty());  // "b" failed, but is told only after "a", which is still syncing.
  f.storage->release_syncs();
  CHECK(stable == std::vector<std::string>{"a:ok", "b:error"});
  CHECK(f.log->stable_index() == LogIndex(1));
}

TEST_CASE("deferred sync: the cache keeps entries until their sync made them durable",
          "[log_manager][deferred_sync]") {
  std::shared_ptr<SimScheduler> scheduler = std::make_shared<SimScheduler>(1);
  auto storage = std::make_shared<FaultyLogStorage>();
  storage->defer_syncs = true;
  LogManager::Options options;
  options.cache_max_bytes = 1;  // Evict every durable entry.
  LogManager log("g", storage, scheduler->make_executor("disk"), options);
  REQUIRE(log.init().ok());
  REQUIRE(log.append(entries(1, 4, 1), [](const Status&) {}).ok());
  while (scheduler->run_one()) {
  }
  CHECK(log.cached_bytes() > 0);  // Written, but not durable: still held in memory.
  storage->release_syncs();
  CHECK(log.cached_bytes() == 0);
  CHECK((*log.get_entry(LogIndex(2)))->data == "e2");  // From storage now.
  log.shutdown();
}
