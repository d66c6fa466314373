// FSMCaller's snapshot jobs on the simulation: what a saved snapshot's meta says (the last
// applied entry, its term, the configuration as of it), when the state machine is asked, and
// how loading a snapshot moves the applied index, is refused, or stops the node (Raft §7);
// and closures gathered from many callers that wait for an applied index.
// The fsm lane runs only when the test steps the scheduler.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "closure_queue.h"
#include "fsm_caller.h"
#include "log_manager.h"
#include "raft/sim_scheduler.h"
#include "raft/storage/memory_log_storage.h"
#include "support/memory_snapshot.h"

using namespace raft;
using raft::testing::MemorySnapshotReader;
using raft::testing::MemorySnapshotWriter;

namespace {

Configuration voters(std::initializer_list<uint16_t> ports) {
  std::vector<PeerId> peers;
  for (uint16_t port : ports) peers.emplace_back("127.0.0.1", port);
  return Configuration(peers);
}

// Remembers what it applied; its snapshot is the list of applied indexes.
class IndexStateMachine final : public StateMachine {
 public:
  void on_apply(Iterator& iter) override {
    for (; iter.valid(); iter.next()) applied.push_back(iter.index().value());
  }
  void on_snapshot_save(SnapshotWriter& writer, std::unique_ptr<Closure> done) override {
    applied_when_saved = applied;
    run_closure(std::move(done), writer.write_file("applied", std::to_string(applied.size())));
  }
  Status on_snapshot_load(SnapshotReader& reader) override {
    ++loads;
    if (!load_result.ok()) return load_result;
    loaded_at = reader.meta().last_included;
    applied.clear();
    return Status::OK();
  }

  std::vector<int64_t> applied;
  std::optional<std::vector<int64_t>> applied_when_saved;
  int loads = 0;
  std::optional<LogId> loaded_at;
  Status load_result;
};

struct Fixture {
  explicit Fixture(size_t queue_capacity = 16384) {
    log = std::make_unique<LogManager>("g", std::make_shared<MemoryLogStorage>(),
                                       scheduler->make_executor("disk"), LogManager::Options());
    REQUIRE(log->init().ok());
    FSMCaller::Options options;
    options.batch_max_entries = 2;  // several batches per commit: apply_committed loops
    options.queue_capacity = queue_capacity;
    caller =
        std::make_unique<FSMCaller>(&fsm, log.get(), &closures, scheduler->make_executor("fsm"),
                                    options, [this](const Status& s) { reported.push_back(s); });
    caller->init(LogId(), ConfigurationEntry());
  }
  ~Fixture() {
    caller.reset();
    log->shutdown();
  }
  void run() {
    while (scheduler->run_one()) {
    }
  }
  void append(EntryType type, int64_t index, int64_t term, std::string data = "x") {
    std::vector<LogEntryPtr> one{make_entry(type, LogIndex(index), Term(term), std::move(data))};
    REQUIRE(log->append(std::move(one), nullptr).ok());
  }
  void append_conf(int64_t index, int64_t term, const Configuration& conf) {
    append(EntryType::kConfiguration, index, term, conf.to_string());
  }
  // Queues a save with `min_index`; the result lands in the returned job's `result`.
  struct Save {
    std::shared_ptr<SnapshotSaveJob> job;
    MemorySnapshotWriter* writer = nullptr;
    std::optional<Status> result;
  };
  std::shared_ptr<Save> save(int64_t min_index) {
    auto save = std::make_shared<Save>();
    save->job = std::make_shared<SnapshotSaveJob>();
    auto writer = std::make_unique<MemorySnapshotWriter>();
    save->writer = writer.get();
    save->job->writer = std::move(writer);
    save->job->min_index = LogIndex(min_index);
    std::weak_ptr<Save> weak = save;
    save->job->on_saved = [weak](const Status& s) {
      if (auto locked = weak.lock()) locked->result = s;
    };
    REQUIRE(caller->save_snapshot(save->job).ok());
    return save;
  }
  // Queues a load of a snapshot at `at` with `conf`; returns where its result lands.
  std::shared_ptr<std::optional<Status>> load(LogId at, const Configuration& conf) {
    auto result = std::make_shared<std::optional<Status>>();
    auto job = std::make_shared<SnapshotLoadJob>();
    job->reader = std::make_unique<MemorySnapshotReader>(SnapshotMeta{at, conf, {}},
                                                         std::map<std::string, std::string>{});
    job->on_loaded = [result](const Status& s) { *result = s; };
    REQUIRE(caller->load_snapshot(job).ok());
    return result;
  }

  std::shared_ptr<SimScheduler> scheduler = std::make_shared<SimScheduler>(1);
  std::unique_ptr<LogManager> log;
  ClosureQueue closures;
  IndexStateMachine fsm;
  std::vector<Status> reported;
  std::unique_ptr<FSMCaller> caller;
};

}  // namespace

TEST_CASE(
    "fsm caller: a saved snapshot's meta is the last applied entry, its term and the "
    "configuration as of it",
    "[fsm_caller][snapshot]") {
  Fixture f;
  const Configuration abc = voters({1, 2, 3});
  const Configuration ab = voters({1, 2});
  f.append_conf(1, 1, abc);
  f.append(EntryType::kData, 2, 1);
  f.append(EntryType::kData, 3, 1);
  f.append_conf(4, 2, ab);
  f.append(EntryType::kData, 5, 2);
  f.append(EntryType::kData, 6, 2);
  f.append_conf(7, 2, voters({1, 2, 3, 4}));  // in the log, never committed here

  f.caller->notify_committed(LogIndex(3));
  f.run();
  std::shared_ptr<Fixture::Save> first = f.save(0);
  f.run();
  REQUIRE(first->result.has_value());
  CHECK(first->result->ok());
  CHECK(first->job->meta.last_included == LogId{LogIndex(3), Term(1)});
  CHECK(first->job->meta.conf == abc);
  CHECK(first->writer->contents().at("applied") == "2");  // entries 2 and 3

  // The configuration is the one committed as of the applied entry, not the log's latest.
  f.caller->notify_committed(LogIndex(6));
  f.run();
  std::shared_ptr<Fixture::Save> second = f.save(3);
  f.run();
  REQUIRE(second->result.has_value());
  CHECK(second->result->ok());
  CHECK(second->job->meta.last_included == LogId{LogIndex(6), Term(2)});
  CHECK(second->job->meta.conf == ab);
}

TEST_CASE("fsm caller: a save applies everything committed before asking the state machine",
          "[fsm_caller][snapshot]") {
  Fixture f;
  f.append_conf(1, 1, voters({1, 2, 3}));
  for (int64_t i = 2; i <= 9; ++i) f.append(EntryType::kData, i, 1);
  f.caller->notify_committed(LogIndex(3));
  f.run();
  REQUIRE(f.caller->applied_index() == LogIndex(3));

  // The save is queued before the commit notification that raises the committed index to 9;
  // by the time the save runs, 9 is known committed, and the snapshot must cover it.
  std::shared_ptr<Fixture::Save> save = f.save(0);
  f.caller->notify_committed(LogIndex(9));
  f.run();
  REQUIRE(save->result.has_value());
  CHECK(save->result->ok());
  CHECK(save->job->meta.last_included == LogId{LogIndex(9), Term(1)});
  REQUIRE(f.fsm.applied_when_saved.has_value());
  CHECK(*f.fsm.applied_when_saved == std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE(
    "fsm caller: with nothing applied beyond the latest snapshot the state machine is not "
    "asked",
    "[fsm_caller][snapshot]") {
  Fixture f;
  f.append_conf(1, 1, voters({1, 2, 3}));
  f.append(EntryType::kData, 2, 1);
  f.append(EntryType::kData, 3, 1);
  f.caller->notify_committed(LogIndex(3));
  f.run();

  std::shared_ptr<Fixture::Save> same = f.save(3);
  f.run();
  REQUIRE(same->result.has_value());
  CHECK(same->result->is_not_found());
  CHECK_FALSE(f.fsm.applied_when_saved.has_value());
  CHECK(same->writer->contents().empty());

  // One entry beyond it is enough.
  std::shared_ptr<Fixture::Save> newer = f.save(2);
  f.run();
  REQUIRE(newer->result.has_value());
  CHECK(newer->result->ok());
  CHECK(newer->job->meta.last_included.index == LogIndex(3));
  CHECK(f.fsm.applied_when_saved.has_value());
}

TEST_CASE(
    "fsm caller: loading a snapshot moves the applied index to it and applying continues "
    "after it",
    "[fsm_caller][snapshot]") {
  Fixture f;
  const Configuration conf = voters({1, 2, 3});
  // A follower that installed the leader's snapshot at 10: its log continues at 11.
  REQUIRE(f.log->reset_to_snapshot(LogId{LogIndex(10), Term(3)}).ok());
  f.append(EntryType::kData, 11, 3);
  f.append(EntryType::kData, 12, 4);
  std::shared_ptr<std::optional<Status>> loaded = f.load(LogId{LogIndex(10), Term(3)}, conf);
  f.run();
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->ok());
  CHECK(f.fsm.loaded_at == LogId{LogIndex(10), Term(3)});
  CHECK(f.caller->applied_index() == LogIndex(10));

  f.caller->notify_committed(LogIndex(12));
  f.run();
  CHECK(f.fsm.applied == std::vector<int64_t>{11, 12});
  CHECK(f.caller->applied_index() == LogIndex(12));
  // The configuration as of 12 is the snapshot's: no configuration entry came after it.
  std::shared_ptr<Fixture::Save> save = f.save(10);
  f.run();
  REQUIRE(save->result.has_value());
  CHECK(save->result->ok());
  CHECK(save->job->meta.last_included == LogId{LogIndex(12), Term(4)});
  CHECK(save->job->meta.conf == conf);
}

TEST_CASE("fsm caller: a snapshot older than what is applied is refused with ESTALE",
          "[fsm_caller][snapshot]") {
  Fixture f;
  f.append_conf(1, 1, voters({1, 2, 3}));
  for (int64_t i = 2; i <= 5; ++i) f.append(EntryType::kData, i, 1);
  f.caller->notify_committed(LogIndex(5));
  f.run();

  std::shared_ptr<std::optional<Status>> loaded =
      f.load(LogId{LogIndex(4), Term(1)}, voters({1, 2, 3}));
  f.run();
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->is_stale());
  CHECK(f.fsm.loads == 0);
  CHECK(f.caller->applied_index() == LogIndex(5));
  CHECK(f.fsm.applied == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(f.reported.empty());
}

TEST_CASE("fsm caller: a failing snapshot load stops applying and reports the error",
          "[fsm_caller][snapshot]") {
  Fixture f;
  f.fsm.load_result = Status::IoError("disk gone");
  f.append_conf(1, 1, voters({1, 2, 3}));
  for (int64_t i = 2; i <= 12; ++i) f.append(EntryType::kData, i, 1);
  f.caller->notify_committed(LogIndex(3));
  f.run();

  std::shared_ptr<std::optional<Status>> loaded =
      f.load(LogId{LogIndex(10), Term(1)}, voters({1, 2, 3}));
  f.run();
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->is_io_error());
  CHECK(std::string((*loaded)->message()).find("disk gone") != std::string::npos);
  CHECK(std::string((*loaded)->message()).find("10") != std::string::npos);
  REQUIRE(f.reported.size() == 1);
  CHECK(f.reported[0].is_io_error());
  CHECK(f.caller->applied_index() == LogIndex(3));

  // Nothing more is applied, and no snapshot of the half-loaded state is taken.
  f.caller->notify_committed(LogIndex(12));
  std::shared_ptr<Fixture::Save> save = f.save(0);
  f.run();
  CHECK(f.caller->applied_index() == LogIndex(3));
  CHECK(f.fsm.applied == std::vector<int64_t>{2, 3});
  REQUIRE(save->result.has_value());
  CHECK_FALSE(save->result->ok());
  CHECK_FALSE(f.fsm.applied_when_saved.has_value());
}

namespace {

// A gathered closure's outcome, with what the state machine had applied when it ran.
struct Waited {
  std::optional<Status> status;
  size_t applied_when_run = 0;
};

// Gathers a closure that fills `out`; returns whether the inbox was empty (publish is due).
bool gather_only(Fixture& f, int64_t index, Waited* out) {
  IndexStateMachine* fsm = &f.fsm;
  return f.caller->gather_when_applied(LogIndex(index), make_closure([out, fsm](const Status& s) {
                                         out->status = s;
                                         out->applied_when_run = fsm->applied.size();
                                       }));
}

// Gathers, publishing at once when due.
void gather(Fixture& f, int64_t index, Waited* out) {
  if (gather_only(f, index, out)) f.caller->publish_gathered();
}

}  // namespace

TEST_CASE(
    "fsm caller: closures gathered from many callers take one event and run once their index "
    "is applied",
    "[fsm_caller][read]") {
  // A ring of 4 events: 100 closures published one event each would be refused from the 5th.
  Fixture f(4);
  f.append_conf(1, 1, voters({1, 2, 3}));
  for (int64_t i = 2; i <= 8; ++i) f.append(EntryType::kData, i, 1);
  f.caller->notify_committed(LogIndex(3));
  f.run();
  std::vector<Waited> waited(100);
  for (size_t i = 0; i < waited.size(); ++i) gather(f, i % 2 == 0 ? 3 : 8, &waited[i]);
  for (const Waited& w : waited) CHECK_FALSE(w.status.has_value());  // Nothing runs inline.
  f.run();
  for (size_t i = 0; i < waited.size(); ++i) {
    INFO("closure " << i);
    if (i % 2 == 0) {
      REQUIRE(waited[i].status.has_value());
      CHECK(waited[i].status->ok());
      CHECK(waited[i].applied_when_run == 2);  // entries 2 and 3
    } else {
      CHECK_FALSE(waited[i].status.has_value());  // 8 is not applied yet
    }
  }
  f.caller->notify_committed(LogIndex(8));
  f.run();
  for (size_t i = 1; i < waited.size(); i += 2) {
    INFO("closure " << i);
    REQUIRE(waited[i].status.has_value());
    CHECK(waited[i].status->ok());
    CHECK(waited[i].applied_when_run == 7);  // entries 2 to 8, applied before it ran
  }
  // Once the inbox has been taken, the next caller publishes again.
  Waited again;
  gather(f, 8, &again);
  f.run();
  REQUIRE(again.status.has_value());
  CHECK(again.status->ok());
}

TEST_CASE(
    "fsm caller: only the first gathered closure of a burst is told to publish, and none "
    "runs before it does",
    "[fsm_caller][read]") {
  Fixture f;
  f.append_conf(1, 1, voters({1, 2, 3}));
  f.caller->notify_committed(LogIndex(1));
  f.run();
  std::vector<Waited> waited(3);
  CHECK(gather_only(f, 1, &waited[0]));
  CHECK_FALSE(gather_only(f, 1, &waited[1]));
  CHECK_FALSE(gather_only(f, 1, &waited[2]));
  f.run();
  for (const Waited& w : waited) CHECK_FALSE(w.status.has_value());  // Not published yet.
  f.caller->publish_gathered();
  Waited meanwhile;  // Joins the published inbox before the lane takes it: no publish due.
  CHECK_FALSE(gather_only(f, 1, &meanwhile));
  f.run();
  for (const Waited& w : waited) {
    REQUIRE(w.status.has_value());
    CHECK(w.status->ok());
  }
  REQUIRE(meanwhile.status.has_value());
  CHECK(meanwhile.status->ok());
  Waited next;
  CHECK(gather_only(f, 1, &next));  // The inbox was taken: the next burst publishes again.
  f.caller->publish_gathered();
  f.run();
  REQUIRE(next.status.has_value());
}

TEST_CASE("fsm caller: a gathered closure refused by a full ring gets EBUSY, and the next one runs",
          "[fsm_caller][read]") {
  Fixture f(2);
  f.append_conf(1, 1, voters({1, 2, 3}));
  f.caller->notify_committed(LogIndex(1));
  f.run();
  // Two role changes fill the ring.
  REQUIRE(f.caller->notify_leader_start(Term(1)).ok());
  REQUIRE(f.caller->notify_leader_stop(Status::OK()).ok());
  Waited refused;
  gather(f, 1, &refused);
  REQUIRE(refused.status.has_value());
  CHECK(refused.status->is_busy());
  f.run();
  Waited next;
  gather(f, 1, &next);
  f.run();
  REQUIRE(next.status.has_value());
  CHECK(next.status->ok());
}

TEST_CASE("fsm caller: gathered closures fail with ESHUTDOWN after the state machine shut down",
          "[fsm_caller][read]") {
  Waited pending, late;
  {
    Fixture f;
    f.append_conf(1, 1, voters({1, 2, 3}));
    f.caller->notify_committed(LogIndex(1));
    f.run();
    bool shut = false;
    gather(f, 5, &pending);  // Never applied: it waits past the shutdown.
    f.caller->shutdown([&] { shut = true; });
    f.run();
    REQUIRE(shut);
    REQUIRE(pending.status.has_value());
    CHECK(pending.status->is_shutdown());
    gather(f, 1, &late);  // After on_shutdown, even an applied index fails.
    f.run();
    REQUIRE(late.status.has_value());
    CHECK(late.status->is_shutdown());
  }
  // Published but never handled, or never published (the caller is destroyed first): each
  // still runs once, with ESHUTDOWN.
  Waited queued, unpublished;
  {
    Fixture f;
    gather(f, 0, &queued);
    CHECK_FALSE(queued.status.has_value());
  }
  {
    Fixture f;
    REQUIRE(gather_only(f, 0, &unpublished));
  }
  REQUIRE(queued.status.has_value());
  CHECK(queued.status->is_shutdown());
  REQUIRE(unpublished.status.has_value());
  CHECK(unpublished.status->is_shutdown());
}
