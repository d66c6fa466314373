// LogManager on the simulation: the disk lane only runs when the test steps the scheduler, so
// what is queued, what is written together, and what is durable can be observed exactly.
#include <catch2/catch.hpp>

#include "log_manager.h"
#include "raft/sim_scheduler.h"
#include "raft/storage/memory_log_storage.h"
#include "support/faulty_log_storage.h"

using namespace raft;
using raft::testing::FaultyLogStorage;

namespace {

std::vector<LogEntryPtr> entries(int64_t first, int64_t last, int64_t term,
                                 const std::string& tag = "") {
  std::vector<LogEntryPtr> out;
  for (int64_t i = first; i <= last; ++i) {
    out.push_back(
        make_entry(EntryType::kData, LogIndex(i), Term(term), tag + "entry" + std::to_string(i)));
  }
  return out;
}

struct Fixture {
  explicit Fixture(size_t batch_max = 256, size_t cache_bytes = 1 << 20) {
    LogManager::Options options;
    options.disk_batch_max = batch_max;
    options.cache_max_bytes = cache_bytes;
    log = std::make_unique<LogManager>("g", storage, scheduler->make_executor("disk"), options);
    REQUIRE(log->init().ok());
  }
  ~Fixture() { log->shutdown(); }
  void run() {
    while (scheduler->run_one()) {
    }
  }
  LogManager::StableCallback record(std::vector<Status>* out) {
    return [out](const Status& s) { out->push_back(s); };
  }

  std::shared_ptr<SimScheduler> scheduler = std::make_shared<SimScheduler>(1);
  std::shared_ptr<FaultyLogStorage> storage = std::make_shared<FaultyLogStorage>();
  std::unique_ptr<LogManager> log;
};

}  // namespace

TEST_CASE("log manager: appended entries are readable at once and durable after the disk lane",
          "[log_manager]") {
  Fixture f;
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 3, 1), f.record(&stable)).ok());
  CHECK(f.log->last_log_index() == LogIndex(3));
  CHECK(f.log->last_log_id() == LogId{LogIndex(3), Term(1)});
  CHECK((*f.log->get_entry(LogIndex(2)))->data == "entry2");
  CHECK(f.log->stable_index() == LogIndex(0));  // nothing written yet
  CHECK(f.storage->last_log_index() == LogIndex(0));
  f.run();
  CHECK(f.log->stable_index() == LogIndex(3));
  CHECK(f.storage->last_log_index() == LogIndex(3));
  REQUIRE(stable.size() == 1);
  CHECK(stable[0].ok());
}

TEST_CASE("log manager: everything drained together is one write (group commit)", "[log_manager]") {
  Fixture f;
  std::vector<Status> stable;
  for (int64_t i = 1; i <= 10; ++i)
    REQUIRE(f.log->append(entries(i, i, 1), f.record(&stable)).ok());
  f.run();
  CHECK(f.storage->writes == 1);
  CHECK(stable.size() == 10);
  CHECK(f.storage->last_log_index() == LogIndex(10));
}

TEST_CASE("log manager: a truncation coalesces with the appends around it", "[log_manager]") {
  Fixture f;
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 5, 1), f.record(&stable)).ok());
  f.run();
  REQUIRE(f.log->append(entries(6, 8, 1), f.record(&stable)).ok());
  // A new leader replaces 7 and 8 before the old ones reach the disk.
  REQUIRE(
      f.log->truncate_and_append(LogIndex(6), entries(7, 9, 2, "new-"), f.record(&stable)).ok());
  CHECK((*f.log->get_entry(LogIndex(7)))->data == "new-entry7");
  CHECK(f.log->last_log_id() == LogId{LogIndex(9), Term(2)});
  f.run();
  CHECK(f.storage->writes == 2);
  CHECK(f.log->stable_index() == LogIndex(9));
  CHECK((*f.storage->get_entry(LogIndex(7)))->data == "new-entry7");
  CHECK((*f.storage->get_entry(LogIndex(6)))->data == "entry6");
  CHECK(*f.storage->get_term(LogIndex(9)) == Term(2));
}

TEST_CASE(
    "log manager: a replaced entry is never counted durable because its predecessor was "
    "written",
    "[log_manager]") {
  Fixture f(/*batch_max=*/1);
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 3, 1), f.record(&stable)).ok());
  REQUIRE(
      f.log->truncate_and_append(LogIndex(1), entries(2, 2, 2, "new-"), f.record(&stable)).ok());
  // The first drain writes the old 1..3; memory already holds the new 2.
  REQUIRE(f.scheduler->run_one());
  CHECK(f.storage->last_log_index() == LogIndex(3));
  CHECK(f.log->stable_index() == LogIndex(1));
  f.run();
  CHECK(f.log->stable_index() == LogIndex(2));
  CHECK((*f.storage->get_entry(LogIndex(2)))->data == "new-entry2");
  CHECK(f.storage->last_log_index() == LogIndex(2));
}

TEST_CASE("log manager: the cache keeps at most its byte limit of durable entries",
          "[log_manager]") {
  Fixture f(/*batch_max=*/256, /*cache_bytes=*/64);
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 100, 1), f.record(&stable)).ok());
  CHECK(f.log->cached_bytes() > 64);  // not durable yet: cannot be dropped
  f.run();
  CHECK(f.log->cached_bytes() <= 64);
  // Evicted entries are read back from storage.
  for (int64_t i = 1; i <= 100; ++i) {
    REQUIRE((*f.log->get_entry(LogIndex(i)))->data == "entry" + std::to_string(i));
  }
  CHECK(*f.log->get_term(LogIndex(50)) == Term(1));
  CHECK(f.log->get_entry(LogIndex(101)).status().is_not_found());
}

TEST_CASE("log manager: a failed write is reported and nothing becomes durable", "[log_manager]") {
  Fixture f;
  std::vector<Status> stable;
  f.storage->fail_next = true;
  REQUIRE(f.log->append(entries(1, 2, 1), f.record(&stable)).ok());
  f.run();
  REQUIRE(stable.size() == 1);
  CHECK(stable[0].is_io_error());
  CHECK(f.log->stable_index() == LogIndex(0));
}

TEST_CASE("log manager: a full disk ring answers EBUSY and changes nothing", "[log_manager]") {
  LogManager::Options options;
  options.disk_queue_capacity = 16;
  auto scheduler = std::make_shared<SimScheduler>(2);
  auto storage = std::make_shared<MemoryLogStorage>();
  LogManager log("g", storage, scheduler->make_executor("disk"), options);
  REQUIRE(log.init().ok());
  for (int64_t i = 1; i <= 16; ++i) REQUIRE(log.append(entries(i, i, 1), nullptr).ok());
  Status full = log.append(entries(17, 17, 1), nullptr);
  CHECK(full.is_busy());
  CHECK(log.last_log_index() == LogIndex(16));
  log.shutdown();
  CHECK(log.append(entries(17, 17, 1), nullptr).is_shutdown());
}
