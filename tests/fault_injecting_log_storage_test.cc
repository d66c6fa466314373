// FaultInjectingLogStorage and FaultInjectingMetaStorage (the failing-disk test hook): which
// operations fail once the fault is armed, that the wrapped storage is left untouched by them,
// and that the error names the injected fault. Disarmed transparency is checked by the whole
// LogStorage contract in log_storage_test.cc (DisarmedFaultHarness).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "raft/storage/fault_injecting_log_storage.h"
#include "raft/storage/memory_log_storage.h"
#include "raft/storage/memory_meta_storage.h"
#include "support/faulty_log_storage.h"
#include "support/log_entries.h"

using namespace raft;
using namespace raft::testing;

namespace {

struct Fixture {
  std::shared_ptr<MemoryLogStorage> inner = std::make_shared<MemoryLogStorage>("g");
  std::shared_ptr<InjectedDiskFault> fault = std::make_shared<InjectedDiskFault>("test");
  FaultInjectingLogStorage log{inner, fault};

  Fixture() { REQUIRE(log.write(append(entries(1, 5, 1))).ok()); }
};

void check_injected(const Status& status) {
  CHECK(status.is_io_error());
  CHECK(std::string(status.message()).find("injected disk fault (test)") != std::string::npos);
}

}  // namespace

TEST_CASE("an armed fault fails every log operation with EIO and leaves the log as it was",
          "[fault_injection]") {
  Fixture f;
  f.fault->arm();
  check_injected(f.log.write(append(entries(6, 6, 1))));
  check_injected(f.log.write(append(entries(3, 3, 2), /*truncate_after=*/2)));
  check_injected(f.log.get_entry(LogIndex(2)).status());
  check_injected(f.log.get_term(LogIndex(2)).status());
  check_injected(f.log.truncate_prefix(LogIndex(3)));
  // Nothing reached the wrapped log: a new process on the same data finds it intact.
  check_log(*f.inner, 1, 5);
  CHECK(term_at(*f.inner, 3) == Term(1));
  // The indexes are what is known, not a disk read.
  CHECK(f.log.first_log_index() == LogIndex(1));
  CHECK(f.log.last_log_index() == LogIndex(5));
}

TEST_CASE("arming chooses the operations that fail; arming again adds to them",
          "[fault_injection]") {
  Fixture f;
  f.fault->arm(InjectedDiskFault::kReads);
  check_injected(f.log.get_entry(LogIndex(1)).status());
  check_injected(f.log.get_term(LogIndex(1)).status());
  REQUIRE(f.log.write(append(entries(6, 6, 1))).ok());
  REQUIRE(f.log.truncate_prefix(LogIndex(2)).ok());
  check_log(*f.inner, 2, 6);

  f.fault->arm(InjectedDiskFault::kWrites);
  check_injected(f.log.write(append(entries(7, 7, 1))));
  REQUIRE(f.log.truncate_prefix(LogIndex(3)).ok());
  check_log(*f.inner, 3, 6);
  CHECK(f.fault->armed(InjectedDiskFault::kReads));
  CHECK_FALSE(f.fault->armed(InjectedDiskFault::kMetaWrites));
}

TEST_CASE("a disarmed fault is transparent: reads and writes reach the wrapped log",
          "[fault_injection]") {
  Fixture f;
  CHECK_FALSE(f.fault->armed(InjectedDiskFault::kWrites));
  REQUIRE(f.log.write(append(entries(6, 8, 2))).ok());
  Result<LogEntryPtr> read = f.log.get_entry(LogIndex(7));
  REQUIRE(read.ok());
  CHECK((*read)->data == data_for(7, 2));
  CHECK(f.log.get_term(LogIndex(8)).value() == Term(2));
  check_log(*f.inner, 1, 8);
}

TEST_CASE("an armed fault fails term and vote writes and keeps what was durable",
          "[fault_injection]") {
  auto inner = std::make_shared<MemoryRaftMetaStorage>();
  auto fault = std::make_shared<InjectedDiskFault>("test");
  FaultInjectingMetaStorage meta(inner, fault);
  const PeerId a("127.0.0.1", 8001);
  REQUIRE(meta.set_term_and_voted_for(Term(3), a).ok());

  fault->arm(InjectedDiskFault::kWrites);  // The log's writes only: the meta still works.
  REQUIRE(meta.set_term_and_voted_for(Term(4), PeerId()).ok());

  fault->arm(InjectedDiskFault::kMetaWrites);
  check_injected(meta.set_term_and_voted_for(Term(5), a));
  CHECK(meta.term() == Term(4));
  CHECK(inner->term() == Term(4));
  CHECK(inner->successful_writes() == 2);
}

TEST_CASE("a deferred sync of a wrapped storage fails once writes are armed", "[fault_injection]") {
  auto inner = std::make_shared<FaultyLogStorage>();
  inner->defer_syncs = true;
  auto fault = std::make_shared<InjectedDiskFault>("test");
  FaultInjectingLogStorage log(inner, fault);
  CHECK(log.defers_sync());
  std::vector<Status> synced;
  log.sync_then([&](const Status& s) { synced.push_back(s); });
  fault->arm(InjectedDiskFault::kReads);  // Reads only: that sync still succeeds.
  inner->release_syncs();
  log.sync_then([&](const Status& s) { synced.push_back(s); });
  fault->arm(InjectedDiskFault::kWrites);  // Armed while the sync runs: it fails.
  inner->release_syncs();
  REQUIRE(synced.size() == 2);
  CHECK(synced[0].ok());
  check_injected(synced[1]);
}
