// example/counter: CounterCommand's format, CounterStateMachine on a scripted iterator, and
// CounterService on real Nodes in the deterministic simulation.
#include <catch2/catch.hpp>
#include <climits>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "counter.pb.h"
#include "counter_command.h"
#include "counter_service.h"
#include "counter_state_machine.h"
#include "service_protocol.h"
#include "support/memory_snapshot.h"
#include "support/scripted_iterator.h"
#include "support/sim_service_group.h"

using counter::CounterClosure;
using counter::CounterCommand;
using counter::CounterService;
using counter::CounterStateMachine;
using raft::LogIndex;
using raft::Status;
using raft::testing::ScriptedIterator;

namespace {

constexpr raft::Duration kWait = std::chrono::seconds(30);

struct Outcome {
  std::optional<Status> status;
  int64_t value = 0;
};

std::unique_ptr<raft::Closure> closure_into(Outcome* outcome) {
  return std::make_unique<CounterClosure>([outcome](const Status& status, int64_t value) {
    outcome->status = status;
    outcome->value = value;
  });
}

}  // namespace

TEST_CASE("counter commands round-trip through their 9- and 1-byte encodings", "[counter]") {
  for (int64_t delta :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1} << 40, INT64_MIN, INT64_MAX}) {
    INFO(delta);
    const std::string bytes = CounterCommand::increment(delta).encode();
    CHECK(bytes.size() == 9);
    CHECK(bytes[0] == 'I');
    raft::Result<CounterCommand> decoded = CounterCommand::decode(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == CounterCommand::increment(delta));
  }
  // Little-endian regardless of the host.
  CHECK(CounterCommand::increment(0x0102).encode() == std::string("I\x02\x01\0\0\0\0\0\0", 9));
  CHECK(CounterCommand::get().encode() == "G");
  REQUIRE(CounterCommand::decode("G").ok());
  CHECK(*CounterCommand::decode("G") == CounterCommand::get());
}

TEST_CASE("counter command decoding rejects anything but a well-formed command", "[counter]") {
  for (const std::string& bad :
       {std::string(), std::string("X"), std::string("GG"), std::string("I"),
        std::string("I1234567"), std::string("I123456789")}) {
    INFO(bad);
    raft::Result<CounterCommand> decoded = CounterCommand::decode(bad);
    CHECK(decoded.status().is_corruption());
  }
}

TEST_CASE(
    "the counter state machine applies increments in log order and fills each closure with the "
    "value right after its entry",
    "[counter]") {
  CounterStateMachine fsm;
  Outcome first_incr, first_get, second_get;
  bool foreign_ran = false;
  std::vector<ScriptedIterator::Entry> batch;
  batch.push_back({CounterCommand::increment(5).encode(), closure_into(&first_incr)});
  batch.push_back({CounterCommand::get().encode(), closure_into(&first_get)});
  // Entries proposed elsewhere (no closure) and closures of another type are applied alike.
  batch.push_back({CounterCommand::increment(-2).encode(), nullptr});
  batch.push_back({CounterCommand::increment(10).encode(),
                   raft::make_closure([&](const Status& s) { foreign_ran = s.ok(); })});
  batch.push_back({CounterCommand::get().encode(), closure_into(&second_get)});
  ScriptedIterator iter(LogIndex(7), std::move(batch));
  fsm.on_apply(iter);

  CHECK(iter.passed() == 5);
  CHECK_FALSE(iter.error().has_value());
  REQUIRE(first_incr.status.has_value());
  CHECK(first_incr.status->ok());
  CHECK(first_incr.value == 5);
  CHECK(first_get.value == 5);
  CHECK(foreign_ran);
  CHECK(second_get.value == 13);
  CHECK(fsm.value() == 13);
  CHECK(fsm.applied_index() == LogIndex(11));

  // The next batch continues from there.
  Outcome later;
  std::vector<ScriptedIterator::Entry> next_batch;
  next_batch.push_back({CounterCommand::increment(-20).encode(), closure_into(&later)});
  ScriptedIterator next(LogIndex(12), std::move(next_batch));
  fsm.on_apply(next);
  CHECK(later.value == -7);
  CHECK(fsm.value() == -7);
  CHECK(fsm.applied_index() == LogIndex(12));
}

TEST_CASE("the counter wraps around on overflow, the same on every replica", "[counter]") {
  CounterStateMachine fsm;
  std::vector<ScriptedIterator::Entry> batch;
  batch.push_back({CounterCommand::increment(INT64_MAX).encode(), nullptr});
  batch.push_back({CounterCommand::increment(1).encode(), nullptr});
  ScriptedIterator iter(LogIndex(1), std::move(batch));
  fsm.on_apply(iter);
  CHECK(fsm.value() == INT64_MIN);
}

TEST_CASE("the counter state machine refuses an entry it cannot decode and applies nothing after",
          "[counter]") {
  CounterStateMachine fsm;
  Outcome before, after;
  std::vector<ScriptedIterator::Entry> batch;
  batch.push_back({CounterCommand::increment(1).encode(), closure_into(&before)});
  batch.push_back({"garbage", nullptr});
  batch.push_back({CounterCommand::increment(100).encode(), closure_into(&after)});
  ScriptedIterator iter(LogIndex(3), std::move(batch));
  fsm.on_apply(iter);

  REQUIRE(iter.error().has_value());
  CHECK(iter.error()->is_corruption());
  CHECK(iter.error_index() == LogIndex(4));
  CHECK(iter.rollback_ntail() == 1);  // Only the bad entry itself.
  CHECK(std::string(iter.error()->message()).find("counter entry 4") != std::string::npos);
  CHECK(before.value == 1);
  CHECK_FALSE(after.status.has_value());
  CHECK(fsm.value() == 1);
  CHECK(fsm.applied_index() == LogIndex(3));
}

TEST_CASE("a counter closure that fails reports the error and no value", "[counter]") {
  Outcome outcome;
  std::unique_ptr<raft::Closure> done = closure_into(&outcome);
  done->run(Status::NotLeader("leadership lost"));
  REQUIRE(outcome.status.has_value());
  CHECK(outcome.status->is_not_leader());
  CHECK(outcome.value == 0);
}

TEST_CASE("a counter snapshot round-trips its value and applied index", "[counter][snapshot]") {
  for (auto [value, index] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 0}, {42, 7}, {-5, 1}, {INT64_MIN, INT64_MAX}, {INT64_MAX, 1}}) {
    INFO(value << " at " << index);
    const std::string bytes = CounterStateMachine::encode_snapshot(value, index);
    int64_t decoded_value = 1, decoded_index = 1;
    REQUIRE(CounterStateMachine::decode_snapshot(bytes, &decoded_value, &decoded_index).ok());
    CHECK(decoded_value == value);
    CHECK(decoded_index == index);
  }
  CHECK(CounterStateMachine::encode_snapshot(-3, 9) == "pontoon-counter 1 -3 9\n");
}

TEST_CASE("a counter snapshot that is not exactly the documented line is refused with EINVAL",
          "[counter][snapshot]") {
  const std::string good = CounterStateMachine::encode_snapshot(1234, 5678);
  for (const std::string& bad : std::vector<std::string>{
           "",
           "\n",
           "pontoon-counter 1 1234\n",                   // no applied index
           "pontoon-counter 2 1234 5678\n",              // unknown version
           "pontoon-count 1 1234 5678\n",                // wrong magic
           "pontoon-counter 1 12x4 5678\n",              // not a number
           "pontoon-counter 1 1234 5678 9\n",            // a field too many
           "pontoon-counter 1 1234 -1\n",                // negative index
           "pontoon-counter 1 9223372036854775808 1\n",  // value out of range
           "pontoon-counter 1 1234 56",                  // cut short: an index that was never
           "pontoon-counter 1 1234 5678",                // written; the newline ends the line
           "pontoon-counter 1 +1234 5678\n",
           " pontoon-counter 1 1234 5678\n",
           "pontoon-counter  1 1234 5678\n",
           "pontoon-counter 1 01234 5678\n",
           good + good,
       }) {
    INFO("'" << bad << "'");
    int64_t value = 11, index = 22;
    Status status = CounterStateMachine::decode_snapshot(bad, &value, &index);
    CHECK(status.is_invalid_argument());
    CHECK(value == 11);  // untouched
    CHECK(index == 22);
  }
}

TEST_CASE(
    "a counter saves its snapshot from a thread of its own with the state as of the call, and "
    "loads it back",
    "[counter][snapshot]") {
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Status> status;
    std::thread::id thread;
  };
  auto done = std::make_shared<Done>();
  raft::testing::MemorySnapshotWriter writer;  // outlives the state machine's writing thread
  CounterStateMachine fsm;
  std::vector<ScriptedIterator::Entry> first;
  first.push_back({CounterCommand::increment(5).encode(), nullptr});
  ScriptedIterator first_iter(LogIndex(1), std::move(first));
  fsm.on_apply(first_iter);

  writer.hold();
  fsm.on_snapshot_save(writer, raft::make_closure([done](const Status& s) {
                         std::lock_guard<std::mutex> lock(done->mutex);
                         done->status = s;
                         done->thread = std::this_thread::get_id();
                         done->cv.notify_all();
                       }));
  // on_snapshot_save returned while its write waits at the gate: the write is asynchronous.
  REQUIRE(writer.wait_for_held_write(std::chrono::seconds(10)));
  {
    std::lock_guard<std::mutex> lock(done->mutex);
    CHECK_FALSE(done->status.has_value());
  }
  // Applying goes on meanwhile; the snapshot still holds the state as of the call.
  std::vector<ScriptedIterator::Entry> second;
  second.push_back({CounterCommand::increment(7).encode(), nullptr});
  ScriptedIterator second_iter(LogIndex(2), std::move(second));
  fsm.on_apply(second_iter);
  CHECK(fsm.value() == 12);

  writer.release();
  {
    std::unique_lock<std::mutex> lock(done->mutex);
    REQUIRE(done->cv.wait_for(lock, std::chrono::seconds(10),
                              [&] { return done->status.has_value(); }));
    CHECK(done->status->ok());
    CHECK(done->thread != std::this_thread::get_id());
  }
  CHECK_FALSE(writer.gate_timed_out());
  REQUIRE(writer.writer_threads().size() == 1);
  CHECK(writer.writer_threads()[0] != std::this_thread::get_id());
  const std::map<std::string, std::string> files = writer.contents();
  REQUIRE(files.count("counter") == 1);
  CHECK(files.at("counter") == CounterStateMachine::encode_snapshot(5, 1));

  // A fresh replica loads it and continues from there.
  raft::testing::MemorySnapshotReader reader(
      raft::SnapshotMeta{raft::LogId{LogIndex(1), raft::Term(1)}, raft::Configuration(), {}},
      files);
  CounterStateMachine restored;
  REQUIRE(restored.on_snapshot_load(reader).ok());
  CHECK(restored.value() == 5);
  CHECK(restored.applied_index() == LogIndex(1));
  std::vector<ScriptedIterator::Entry> replay;
  replay.push_back({CounterCommand::increment(7).encode(), nullptr});
  ScriptedIterator replay_iter(LogIndex(2), std::move(replay));
  restored.on_apply(replay_iter);
  CHECK(restored.value() == fsm.value());
}

TEST_CASE("a counter refuses to load a snapshot without its file or with a damaged one",
          "[counter][snapshot]") {
  const raft::SnapshotMeta meta{raft::LogId{LogIndex(4), raft::Term(2)}, raft::Configuration(), {}};
  CounterStateMachine fsm;
  raft::testing::MemorySnapshotReader empty(meta, {});
  CHECK(fsm.on_snapshot_load(empty).is_not_found());
  raft::testing::MemorySnapshotReader damaged(meta, {{"counter", "pontoon-counter 1 x 4\n"}});
  CHECK(fsm.on_snapshot_load(damaged).is_invalid_argument());
  CHECK(fsm.value() == 0);
  CHECK(fsm.applied_index() == LogIndex(0));
}

namespace {

using SimCounterGroup = raft::testing::SimServiceGroup<CounterStateMachine, CounterService>;
using raft::testing::Reply;

std::string increment_request(int64_t delta) {
  pontoon::counter::IncrementRequest request;
  request.set_delta(delta);
  return request.SerializeAsString();
}

int64_t value_in(const Reply& reply) {
  pontoon::counter::IncrementResponse response;
  PONTOON_CHECK(response.ParseFromString(reply.body));
  return response.value();
}

}  // namespace

TEST_CASE("a one-node counter group answers increments and gets through its log", "[counter]") {
  SimCounterGroup group(1, 11, example::ServiceReadMode::kLog);
  REQUIRE(group.wait_for_leader() == 0u);
  std::vector<Reply> increments(3);
  for (int64_t delta : {1, 2, 3}) {
    group.service(0).handle_increment(increment_request(delta), increments[delta - 1].responder());
  }
  Reply get;
  group.service(0).handle_get(pontoon::counter::GetRequest().SerializeAsString(), get.responder());
  REQUIRE(group.run_until([&] { return get.status.has_value(); }));
  // Applied in the order proposed: each answer is the running total.
  for (const Reply& reply : increments) REQUIRE(reply.status == Status::OK());
  CHECK(value_in(increments[0]) == 1);
  CHECK(value_in(increments[1]) == 3);
  CHECK(value_in(increments[2]) == 6);
  REQUIRE(get.status == Status::OK());
  pontoon::counter::GetResponse get_response;
  REQUIRE(get_response.ParseFromString(get.body));
  CHECK(get_response.value() == 6);
  CHECK(group.fsm(0).value() == 6);
}

TEST_CASE("counter gets without the log see every acknowledged increment, on any replica",
          "[counter][read]") {
  for (example::ServiceReadMode mode :
       {example::ServiceReadMode::kIndex, example::ServiceReadMode::kLease,
        example::ServiceReadMode::kWaitFree}) {
    INFO("--read " << example::service_read_mode_name(mode));
    SimCounterGroup group(3, 13, mode);
    std::optional<size_t> leader = group.wait_for_leader();
    REQUIRE(leader.has_value());
    int64_t total = 0;
    for (int64_t delta : {5, 7, 11}) {
      Reply increment;
      group.service(*leader).handle_increment(increment_request(delta), increment.responder());
      REQUIRE(group.run_until([&] { return increment.status.has_value(); }));
      REQUIRE(increment.status == Status::OK());
      total += delta;
      const raft::LogIndex last = group.node(*leader).get_status().last_log_index;
      for (size_t i = 0; i < 3; ++i) {
        INFO("replica " << i);
        Reply get;
        group.service(i).handle_get(pontoon::counter::GetRequest().SerializeAsString(),
                                    get.responder());
        REQUIRE(group.run_until([&] { return get.status.has_value(); }));
        REQUIRE(get.status == Status::OK());
        pontoon::counter::GetResponse response;
        REQUIRE(response.ParseFromString(get.body));
        CHECK(response.value() == total);
      }
      // Reads added nothing to the log.
      CHECK(group.node(*leader).get_status().last_log_index == last);
    }
  }
}

TEST_CASE("a counter follower redirects to the leader without proposing", "[counter]") {
  SimCounterGroup group(3, 12);
  std::optional<size_t> leader = group.wait_for_leader();
  REQUIRE(leader.has_value());
  const size_t follower = (*leader + 1) % 3;
  // Wait until the follower has heard from the leader, so it can name it.
  REQUIRE(group.run_until([&] { return !group.node(follower).leader_id().empty(); }));
  const raft::LogIndex last_before = group.node(*leader).get_status().last_log_index;

  Reply redirected;
  group.service(follower).handle_increment(increment_request(1), redirected.responder());
  REQUIRE(redirected.status.has_value());  // Answered at once, from the handler.
  CHECK(redirected.status->is_not_leader());
  CHECK(example::leader_hint(*redirected.status) == group.cluster().peer(*leader).endpoint());
  CHECK(group.node(*leader).get_status().last_log_index == last_before);

  Reply direct;
  group.service(*leader).handle_increment(increment_request(41), direct.responder());
  REQUIRE(group.run_until([&] { return direct.status.has_value(); }));
  REQUIRE(direct.status == Status::OK());
  CHECK(value_in(direct) == 41);
  // Every replica converges on the same value.
  REQUIRE(group.run_until([&] {
    for (size_t i = 0; i < 3; ++i) {
      if (group.fsm(i).value() != 41) return false;
    }
    return true;
  }));
}

TEST_CASE("a counter status answers role, term, leader, indexes and value on any replica",
          "[counter]") {
  SimCounterGroup group(3, 13);
  std::optional<size_t> leader = group.wait_for_leader();
  REQUIRE(leader.has_value());
  Reply incr;
  group.service(*leader).handle_increment(increment_request(7), incr.responder());
  REQUIRE(group.run_until([&] { return incr.status.has_value(); }));
  for (size_t i = 0; i < 3; ++i) {
    INFO(i);
    Reply reply;
    group.service(i).handle_status(pontoon::counter::StatusRequest().SerializeAsString(),
                                   reply.responder());
    REQUIRE(reply.status == Status::OK());
    pontoon::counter::StatusResponse status;
    REQUIRE(status.ParseFromString(reply.body));
    CHECK(status.peer() == group.cluster().peer(i).endpoint());
    CHECK(status.role() == (i == *leader ? "leader" : "follower"));
    CHECK(status.term() >= 1);
    CHECK(status.first_log_index() == 1);
    CHECK(status.last_log_index() >= status.commit_index());
    CHECK(status.commit_index() >= status.applied_index());
    if (i == *leader) {
      CHECK(status.leader() == status.peer());
      CHECK(status.applied_index() == status.last_log_index());
      CHECK(status.value() == 7);
    }
  }
}

TEST_CASE("counter requests that do not parse are refused with EINVAL", "[counter]") {
  SimCounterGroup group(1, 14);
  REQUIRE(group.wait_for_leader() == 0u);
  Reply reply;
  group.service(0).handle_increment("\xff\xff\xff", reply.responder());
  REQUIRE(reply.status.has_value());
  CHECK(reply.status->is_invalid_argument());
}
