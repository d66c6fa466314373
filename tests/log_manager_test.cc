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
  explicit Fixture(size_t batch_max = 256, size_t cache_bytes = 1 << 20,
                   size_t write_max_bytes = 32 << 20) {
    LogManager::Options options;
    options.disk_batch_max = batch_max;
    options.cache_max_bytes = cache_bytes;
    options.disk_write_max_bytes = write_max_bytes;
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

TEST_CASE("log manager: of a batch's latest-only callbacks just the last runs, after the batch",
          "[log_manager]") {
  Fixture f;
  std::vector<std::string> ran;
  auto note = [&](std::string name) {
    return [&ran, &f, name](const Status& s) {
      CHECK(s.ok());
      CHECK(f.log->stable_index() == LogIndex(5));  // Each sees the whole batch durable.
      ran.push_back(name);
    };
  };
  using Notify = LogManager::StableNotify;
  REQUIRE(f.log->append(entries(1, 1, 1), note("latest-1"), Notify::kLatestInBatch).ok());
  REQUIRE(f.log->append(entries(2, 2, 1), note("each-2"), Notify::kEach).ok());
  REQUIRE(f.log->append(entries(3, 3, 1), note("latest-3"), Notify::kLatestInBatch).ok());
  REQUIRE(f.log->append(entries(4, 4, 1), note("latest-4"), Notify::kLatestInBatch).ok());
  REQUIRE(f.log->append(entries(5, 5, 1), note("each-5"), Notify::kEach).ok());
  f.run();
  CHECK(f.storage->writes == 1);
  CHECK(ran == std::vector<std::string>{"each-2", "latest-4", "each-5"});

  // A later batch runs its own last one; a failed batch tells it the error.
  std::vector<Status> second;
  REQUIRE(f.log->append(entries(6, 6, 1), f.record(&second), Notify::kLatestInBatch).ok());
  f.run();
  REQUIRE(second.size() == 1);
  CHECK(second[0].ok());
  std::vector<Status> failed;
  f.storage->fail_next = true;
  REQUIRE(f.log->append(entries(7, 7, 1), f.record(&failed), Notify::kLatestInBatch).ok());
  REQUIRE(f.log->append(entries(8, 8, 1), f.record(&failed), Notify::kLatestInBatch).ok());
  f.run();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].is_io_error());
  CHECK(f.log->stable_index() == LogIndex(6));
}

TEST_CASE("log manager: a drain above the write byte limit goes out in several writes, in order",
          "[log_manager]") {
  // "entryN" payloads are 6-7 bytes: a write is cut once it holds more than 20 bytes.
  Fixture f(/*batch_max=*/256, /*cache_bytes=*/1 << 20, /*write_max_bytes=*/20);
  std::vector<Status> stable;
  for (int64_t i = 1; i <= 12; ++i) {
    REQUIRE(f.log->append(entries(i, i, 1), f.record(&stable)).ok());
  }
  // A truncation inside the drain still removes what an earlier write of the drain wrote.
  REQUIRE(
      f.log->truncate_and_append(LogIndex(10), entries(11, 11, 2, "new-"), f.record(&stable)).ok());
  f.run();
  CHECK(f.storage->writes == 4);  // 4 + 4 + 4 entries, then the truncation with its entry.
  REQUIRE(stable.size() == 13);
  for (const Status& s : stable) CHECK(s.ok());
  CHECK(f.log->stable_index() == LogIndex(11));
  CHECK(f.storage->last_log_index() == LogIndex(11));
  CHECK((*f.storage->get_entry(LogIndex(11)))->data == "new-entry11");
  CHECK((*f.storage->get_entry(LogIndex(10)))->data == "entry10");
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

TEST_CASE("log manager: a range read takes what storage holds in one read and the rest from memory",
          "[log_manager]") {
  // Each entry costs ~100 bytes of cache: 2,000 bytes keep the last ~20 of 100.
  Fixture f(/*batch_max=*/256, /*cache_bytes=*/2000);
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 100, 1), f.record(&stable)).ok());
  CHECK_FALSE(f.log->reads_storage(LogIndex(1)));  // not durable yet: still in memory
  f.run();
  REQUIRE(f.log->reads_storage(LogIndex(1)));
  CHECK_FALSE(f.log->reads_storage(LogIndex(100)));
  CHECK_FALSE(f.log->reads_storage(LogIndex(101)));  // outside the log
  LogIndex mem_first(1);
  while (f.log->reads_storage(mem_first)) ++mem_first;
  REQUIRE(mem_first > LogIndex(50));
  REQUIRE(mem_first < LogIndex(95));

  auto check_run = [](const std::vector<LogEntryPtr>& run, int64_t first) {
    for (size_t k = 0; k < run.size(); ++k) {
      CHECK(run[k]->data == "entry" + std::to_string(first + static_cast<int64_t>(k)));
    }
  };
  // Across the boundary: one storage read for the evicted part, memory for the rest.
  const int reads_before = f.storage->range_reads;
  Result<std::vector<LogEntryPtr>> all = f.log->get_entries(LogIndex(1), SIZE_MAX, SIZE_MAX);
  REQUIRE(all.ok());
  CHECK(all->size() == 100);
  check_run(*all, 1);
  CHECK(f.storage->range_reads - reads_before == 1);
  // Entirely in memory: no storage read.
  Result<std::vector<LogEntryPtr>> recent = f.log->get_entries(mem_first, 5, SIZE_MAX);
  REQUIRE(recent.ok());
  CHECK(recent->size() == 5);
  check_run(*recent, mem_first.value());
  CHECK(f.storage->range_reads - reads_before == 1);
  // The byte bound holds across the boundary: "entryN" is 7 bytes for N < 100 from 10 on.
  const int64_t from = mem_first.value() - 3;
  Result<std::vector<LogEntryPtr>> bounded = f.log->get_entries(LogIndex(from), SIZE_MAX, 7 * 6);
  REQUIRE(bounded.ok());
  CHECK(bounded->size() == 6);
  check_run(*bounded, from);
  // The count bound, the log's end and the first entry beyond the byte bound.
  CHECK(f.log->get_entries(LogIndex(10), 3, SIZE_MAX)->size() == 3);
  CHECK(f.log->get_entries(LogIndex(98), 10, SIZE_MAX)->size() == 3);
  CHECK(f.log->get_entries(LogIndex(10), 10, 0)->size() == 1);
  CHECK(f.log->get_entries(LogIndex(101), 1, SIZE_MAX).status().is_not_found());
  CHECK(f.log->get_entries(LogIndex(0), 1, SIZE_MAX).status().is_not_found());

  // After compaction the range starts at the new first index.
  REQUIRE(f.log->compact(LogId{LogIndex(40), Term(1)}, LogIndex(41)).ok());
  f.run();
  CHECK(f.log->get_entries(LogIndex(40), 1, SIZE_MAX).status().is_not_found());
  Result<std::vector<LogEntryPtr>> kept = f.log->get_entries(LogIndex(41), SIZE_MAX, SIZE_MAX);
  REQUIRE(kept.ok());
  CHECK(kept->size() == 60);
  check_run(*kept, 41);
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

// ---------------------------------------------------------------------------------------------
// Snapshots (Raft §7): compaction behind a snapshot, a follower's reset to the leader's
// snapshot, and a restart that reconciles the log with the latest durable snapshot.

TEST_CASE(
    "log manager: compact discards below the kept index at once in memory and from storage "
    "after the queued writes",
    "[log_manager][snapshot]") {
  Fixture f;
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 10, 1), f.record(&stable)).ok());
  f.run();
  REQUIRE(f.log->append(entries(11, 12, 1), f.record(&stable)).ok());  // queued, not written

  REQUIRE(f.log->compact(LogId{LogIndex(10), Term(1)}, LogIndex(6)).ok());
  CHECK(f.log->first_log_index() == LogIndex(6));
  CHECK(f.log->snapshot_id() == LogId{LogIndex(10), Term(1)});
  CHECK(f.log->get_entry(LogIndex(5)).status().is_not_found());
  CHECK((*f.log->get_entry(LogIndex(6)))->data == "entry6");
  CHECK(f.storage->first_log_index() == LogIndex(1));  // the disk lane has not run

  f.run();
  CHECK(f.storage->first_log_index() == LogIndex(6));
  CHECK(f.storage->get_entry(LogIndex(5)).status().is_not_found());
  // The append queued before the compaction was written, not lost with the prefix.
  CHECK(f.storage->last_log_index() == LogIndex(12));
  CHECK((*f.storage->get_entry(LogIndex(12)))->data == "entry12");
  CHECK(f.log->stable_index() == LogIndex(12));
  CHECK(stable.size() == 2);
}

TEST_CASE("log manager: compact never discards an entry that is not yet durable",
          "[log_manager][snapshot]") {
  Fixture f;
  std::vector<Status> stable;
  REQUIRE(f.log->append(entries(1, 5, 1), f.record(&stable)).ok());
  f.run();
  REQUIRE(f.log->append(entries(6, 10, 1), f.record(&stable)).ok());
  REQUIRE(f.log->stable_index() == LogIndex(5));

  // A snapshot covering 10 while 6..10 are still queued: the kept index is clamped to 6.
  REQUIRE(f.log->compact(LogId{LogIndex(10), Term(1)}, LogIndex(11)).ok());
  CHECK(f.log->first_log_index() == LogIndex(6));
  CHECK(f.log->last_log_index() == LogIndex(10));
  for (int64_t i = 6; i <= 10; ++i) CHECK(f.log->get_entry(LogIndex(i)).ok());

  f.run();
  CHECK(f.log->stable_index() == LogIndex(10));
  CHECK(f.storage->first_log_index() == LogIndex(6));
  CHECK(f.storage->last_log_index() == LogIndex(10));
  CHECK((*f.storage->get_entry(LogIndex(6)))->data == "entry6");
}

TEST_CASE(
    "log manager: get_term answers the snapshot's term at its index once the entry is gone, "
    "ENOENT below it",
    "[log_manager][snapshot]") {
  Fixture f;
  REQUIRE(f.log->append(entries(1, 5, 1), nullptr).ok());
  REQUIRE(f.log->append(entries(6, 10, 2), nullptr).ok());
  f.run();
  REQUIRE(f.log->compact(LogId{LogIndex(8), Term(2)}, LogIndex(9)).ok());
  f.run();
  REQUIRE(f.storage->get_term(LogIndex(8)).status().is_not_found());  // gone from storage too
  CHECK(f.log->first_log_index() == LogIndex(9));
  CHECK(f.log->get_entry(LogIndex(8)).status().is_not_found());
  // The leader still needs the term of next_index - 1 for AppendEntries (Raft §5.3).
  Result<Term> at_snapshot = f.log->get_term(LogIndex(8));
  REQUIRE(at_snapshot.ok());
  CHECK(*at_snapshot == Term(2));
  CHECK(f.log->get_term(LogIndex(7)).status().is_not_found());
  CHECK(f.log->get_term(LogIndex(1)).status().is_not_found());
  CHECK(*f.log->get_term(LogIndex(9)) == Term(2));
  CHECK(*f.log->get_term(LogIndex(0)) == Term(0));
}

TEST_CASE(
    "log manager: reset_to_snapshot keeps the suffix after a snapshot entry the log holds with "
    "the same term",
    "[log_manager][snapshot]") {
  Fixture f;
  REQUIRE(f.log->append(entries(1, 10, 1), nullptr).ok());
  f.run();
  // Raft §7: "If existing log entry has same index and term as snapshot's last included entry,
  // retain log entries following it."
  REQUIRE(f.log->reset_to_snapshot(LogId{LogIndex(6), Term(1)}).ok());
  CHECK(f.log->snapshot_id() == LogId{LogIndex(6), Term(1)});
  CHECK(f.log->first_log_index() == LogIndex(7));
  CHECK(f.log->last_log_id() == LogId{LogIndex(10), Term(1)});
  CHECK((*f.log->get_entry(LogIndex(10)))->data == "entry10");
  CHECK(*f.log->get_term(LogIndex(6)) == Term(1));
  f.run();
  CHECK(f.storage->first_log_index() == LogIndex(7));
  CHECK(f.storage->last_log_index() == LogIndex(10));
}

TEST_CASE(
    "log manager: reset_to_snapshot discards the whole log when it disagrees with the snapshot "
    "or ends before it",
    "[log_manager][snapshot]") {
  struct Case {
    const char* name;
    LogId snapshot;
  };
  for (const Case& c : {Case{"another term at the snapshot index", LogId{LogIndex(6), Term(2)}},
                        Case{"the log ends before the snapshot", LogId{LogIndex(20), Term(3)}}}) {
    INFO(c.name);
    Fixture f;
    std::vector<Status> stable;
    REQUIRE(f.log->append(entries(1, 10, 1), f.record(&stable)).ok());
    f.run();
    REQUIRE(f.log->reset_to_snapshot(c.snapshot).ok());
    const LogIndex next = c.snapshot.index + 1;
    CHECK(f.log->snapshot_id() == c.snapshot);
    CHECK(f.log->first_log_index() == next);
    CHECK(f.log->last_log_id() == c.snapshot);
    CHECK(f.log->stable_index() == c.snapshot.index);
    CHECK(f.log->get_entry(LogIndex(5)).status().is_not_found());
    CHECK(f.log->get_entry(next).status().is_not_found());
    CHECK(*f.log->get_term(c.snapshot.index) == c.snapshot.term);
    f.run();
    CHECK(f.storage->first_log_index() == next);
    CHECK(f.storage->last_log_index() == c.snapshot.index);

    // The log continues right after the snapshot.
    REQUIRE(f.log->append(entries(next.value(), next.value(), 4), f.record(&stable)).ok());
    f.run();
    REQUIRE(stable.size() == 2);
    CHECK(stable[1].ok());
    CHECK(f.log->last_log_id() == LogId{next, Term(4)});
    CHECK(f.storage->first_log_index() == next);
    CHECK(f.storage->last_log_index() == next);
  }
}

namespace {

// A storage holding entries [first, last] of `term`, as a previous incarnation left it.
std::shared_ptr<MemoryLogStorage> storage_holding(int64_t first, int64_t last, int64_t term) {
  auto storage = std::make_shared<MemoryLogStorage>();
  LogWrite write;
  write.entries = entries(1, last, term);
  REQUIRE(storage->write(write).ok());
  if (first > 1) REQUIRE(storage->truncate_prefix(LogIndex(first)).ok());
  return storage;
}

}  // namespace

TEST_CASE("log manager: init with a snapshot keeps a log that continues it",
          "[log_manager][snapshot]") {
  auto scheduler = std::make_shared<SimScheduler>(3);
  SECTION("the log holds the snapshot's entry") {
    auto storage = storage_holding(1, 10, 1);
    LogManager log("g", storage, scheduler->make_executor("disk"), LogManager::Options());
    REQUIRE(log.init(LogId{LogIndex(6), Term(1)}).ok());
    CHECK(log.snapshot_id() == LogId{LogIndex(6), Term(1)});
    CHECK(log.first_log_index() == LogIndex(1));
    CHECK(log.last_log_id() == LogId{LogIndex(10), Term(1)});
    CHECK(log.stable_index() == LogIndex(10));
    CHECK(storage->last_log_index() == LogIndex(10));
    log.shutdown();
  }
  SECTION("the log starts right after the snapshot") {
    auto storage = storage_holding(7, 10, 1);
    LogManager log("g", storage, scheduler->make_executor("disk"), LogManager::Options());
    REQUIRE(log.init(LogId{LogIndex(6), Term(1)}).ok());
    CHECK(log.first_log_index() == LogIndex(7));
    CHECK(log.last_log_id() == LogId{LogIndex(10), Term(1)});
    CHECK(*log.get_term(LogIndex(6)) == Term(1));
    log.shutdown();
  }
  SECTION("the log is empty right after the snapshot") {
    auto storage = storage_holding(7, 6, 1);
    LogManager log("g", storage, scheduler->make_executor("disk"), LogManager::Options());
    REQUIRE(log.init(LogId{LogIndex(6), Term(2)}).ok());
    CHECK(log.first_log_index() == LogIndex(7));
    CHECK(log.last_log_id() == LogId{LogIndex(6), Term(2)});
    log.shutdown();
  }
}

TEST_CASE(
    "log manager: init with a snapshot discards a log that ends before it or disagrees at its "
    "index",
    "[log_manager][snapshot]") {
  auto scheduler = std::make_shared<SimScheduler>(4);
  struct Case {
    const char* name;
    int64_t log_last;
    LogId snapshot;
  };
  // A crash between publishing a snapshot and resetting the log leaves either.
  for (const Case& c : {Case{"the log ends before the snapshot", 5, LogId{LogIndex(8), Term(2)}},
                        Case{"another term at the snapshot index", 10, LogId{LogIndex(6), Term(2)}},
                        Case{"an empty log", 0, LogId{LogIndex(6), Term(2)}}}) {
    INFO(c.name);
    auto storage = storage_holding(1, c.log_last, 1);
    LogManager log("g", storage, scheduler->make_executor("disk"), LogManager::Options());
    REQUIRE(log.init(c.snapshot).ok());
    const LogIndex next = c.snapshot.index + 1;
    CHECK(log.first_log_index() == next);
    CHECK(log.last_log_id() == c.snapshot);
    CHECK(log.stable_index() == c.snapshot.index);
    CHECK(log.get_entry(LogIndex(1)).status().is_not_found());
    CHECK(storage->first_log_index() == next);
    CHECK(storage->last_log_index() == c.snapshot.index);
    REQUIRE(log.append(entries(next.value(), next.value(), 3), nullptr).ok());
    while (scheduler->run_one()) {
    }
    CHECK(storage->last_log_index() == next);
    log.shutdown();
  }
}

TEST_CASE("log manager: init refuses a log that starts after the snapshot with ECORRUPTION",
          "[log_manager][snapshot]") {
  auto scheduler = std::make_shared<SimScheduler>(5);
  auto storage = storage_holding(9, 12, 1);
  LogManager log("g", storage, scheduler->make_executor("disk"), LogManager::Options());
  Status status = log.init(LogId{LogIndex(6), Term(1)});
  CHECK(status.is_corruption());
  INFO(status.to_string());
  // Entries 7 and 8 are in neither the snapshot nor the log: the message names the gap.
  CHECK(std::string(status.message()).find("starts at 9") != std::string::npos);
  CHECK(std::string(status.message()).find("ends at 6") != std::string::npos);
  CHECK(storage->first_log_index() == LogIndex(9));  // nothing was discarded
  CHECK(storage->last_log_index() == LogIndex(12));
  log.shutdown();
}
