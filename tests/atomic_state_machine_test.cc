// example/atomic: AtomicCommand's format, AtomicStateMachine on a scripted iterator, and the
// command lines of atomic-server and atomic-client, and AtomicService on real Nodes in the
// deterministic simulation (gets in every --read mode, on every replica).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atomic.pb.h"
#include "atomic_command.h"
#include "atomic_flags.h"
#include "atomic_service.h"
#include "atomic_state_machine.h"
#include "server_flags.h"
#include "service_protocol.h"
#include "support/scripted_iterator.h"
#include "support/sim_service_group.h"

using atomic::AtomicClosure;
using atomic::AtomicCommand;
using atomic::AtomicResult;
using atomic::AtomicStateMachine;
using raft::LogIndex;
using raft::Status;
using raft::testing::ScriptedIterator;

namespace {

struct Outcome {
  std::optional<Status> status;
  AtomicResult result;
};

std::unique_ptr<raft::Closure> closure_into(Outcome* outcome) {
  return std::make_unique<AtomicClosure>([outcome](const Status& status, const AtomicResult& r) {
    outcome->status = status;
    outcome->result = r;
  });
}

std::vector<AtomicCommand> every_kind(const std::string& key) {
  return {AtomicCommand::get(key), AtomicCommand::set(key, -3),
          AtomicCommand::compare_and_set(key, INT64_MIN, INT64_MAX),
          AtomicCommand::fetch_add(key, 1)};
}

}  // namespace

TEST_CASE("atomic commands round-trip through their encodings, for every kind and key size",
          "[atomic]") {
  for (const std::string& key :
       {std::string("k"), std::string("k17"), std::string("\0\xff", 2), std::string(256, 'x')}) {
    for (const AtomicCommand& command : every_kind(key)) {
      INFO(static_cast<char>(command.kind) << " key of " << key.size() << " bytes");
      raft::Result<AtomicCommand> decoded = AtomicCommand::decode(command.encode());
      REQUIRE(decoded.ok());
      CHECK(*decoded == command);
    }
  }
  // Fixed bytes: tag, key length little-endian, key, operands little-endian.
  CHECK(AtomicCommand::get("ab").encode() == std::string("G\x02\0ab", 5));
  CHECK(AtomicCommand::set("a", 0x0102).encode() ==
        std::string("S\x01\0a\x02\x01\0\0\0\0\0\0", 12));
  CHECK(AtomicCommand::compare_and_set("a", 1, 2).encode().size() == 1 + 2 + 1 + 16);
  CHECK(AtomicCommand::fetch_add("a", -1).encode() ==
        std::string("A\x01\0a\xff\xff\xff\xff\xff\xff\xff\xff", 12));
}

TEST_CASE("atomic command decoding rejects anything but a well-formed command", "[atomic]") {
  const std::string set = AtomicCommand::set("key", 5).encode();
  for (const std::string& bad : {
           std::string(),
           std::string("G"),
           std::string("G\x01", 2),
           std::string("X\x01\0k", 4),     // Unknown tag.
           std::string("G\0\0", 3),        // Empty key.
           std::string("G\x02\0k", 4),     // Key shorter than announced.
           std::string("G\x01\0kk", 5),    // Trailing byte.
           set.substr(0, set.size() - 1),  // Truncated operand.
           set + "x",                      // Trailing byte after the operand.
           "S" + std::string("\x01\x01", 2) + std::string(257, 'k') + std::string(8, '\0'),
       }) {
    INFO(bad.size() << " bytes");
    CHECK(AtomicCommand::decode(bad).status().is_corruption());
  }
  CHECK(atomic::validate_key("").is_invalid_argument());
  CHECK(atomic::validate_key(std::string(257, 'k')).is_invalid_argument());
  CHECK(atomic::validate_key(std::string(256, 'k')).ok());
}

TEST_CASE("atomic registers start at 0 and follow set, compare_and_set and fetch_add", "[atomic]") {
  std::map<std::string, int64_t> registers;
  CHECK(apply_command(AtomicCommand::get("a"), &registers) == AtomicResult{0, true});
  CHECK(registers.empty());  // A read writes nothing.
  CHECK(apply_command(AtomicCommand::set("a", 5), &registers) == AtomicResult{5, true});
  // A cas that finds another value changes nothing and says what it found.
  CHECK(apply_command(AtomicCommand::compare_and_set("a", 4, 9), &registers) ==
        AtomicResult{5, false});
  CHECK(registers.at("a") == 5);
  CHECK(apply_command(AtomicCommand::compare_and_set("a", 5, 9), &registers) ==
        AtomicResult{9, true});
  CHECK(apply_command(AtomicCommand::fetch_add("a", -10), &registers) == AtomicResult{9, true});
  CHECK(registers.at("a") == -1);
  // A cas expecting 0 succeeds on a register never written.
  CHECK(apply_command(AtomicCommand::compare_and_set("b", 0, 1), &registers) ==
        AtomicResult{1, true});
  // Wrapping around, the same on every replica.
  apply_command(AtomicCommand::set("c", INT64_MAX), &registers);
  CHECK(apply_command(AtomicCommand::fetch_add("c", 1), &registers) ==
        AtomicResult{INT64_MAX, true});
  CHECK(registers.at("c") == INT64_MIN);
  CHECK(registers.size() == 3);
}

TEST_CASE(
    "the atomic state machine applies entries in log order and fills each closure with its "
    "entry's result",
    "[atomic]") {
  AtomicStateMachine fsm;
  Outcome set, failed_cas, swapped, added, got;
  bool foreign_ran = false;
  std::vector<ScriptedIterator::Entry> batch;
  batch.push_back({AtomicCommand::set("x", 10).encode(), closure_into(&set)});
  batch.push_back(
      {AtomicCommand::compare_and_set("x", 11, 12).encode(), closure_into(&failed_cas)});
  // Entries proposed elsewhere (no closure) and closures of another type are applied alike.
  batch.push_back({AtomicCommand::set("y", 1).encode(), nullptr});
  batch.push_back({AtomicCommand::compare_and_set("x", 10, 20).encode(), closure_into(&swapped)});
  batch.push_back({AtomicCommand::fetch_add("x", 5).encode(),
                   raft::make_closure([&](const Status& s) { foreign_ran = s.ok(); })});
  batch.push_back({AtomicCommand::fetch_add("y", 2).encode(), closure_into(&added)});
  batch.push_back({AtomicCommand::get("x").encode(), closure_into(&got)});
  ScriptedIterator iter(LogIndex(4), std::move(batch));
  fsm.on_apply(iter);

  CHECK(iter.passed() == 7);
  CHECK_FALSE(iter.error().has_value());
  REQUIRE(set.status == Status::OK());
  CHECK(set.result == AtomicResult{10, true});
  CHECK(failed_cas.result == AtomicResult{10, false});
  CHECK(swapped.result == AtomicResult{20, true});
  CHECK(foreign_ran);
  CHECK(added.result == AtomicResult{1, true});
  CHECK(got.result == AtomicResult{25, true});
  CHECK(fsm.value("x") == 25);
  CHECK(fsm.value("y") == 3);
  CHECK(fsm.value("never") == 0);
  CHECK(fsm.key_count() == 2);
  CHECK(fsm.applied_index() == LogIndex(10));
}

TEST_CASE("the atomic state machine refuses an entry it cannot decode and applies nothing after",
          "[atomic]") {
  AtomicStateMachine fsm;
  Outcome before, after;
  std::vector<ScriptedIterator::Entry> batch;
  batch.push_back({AtomicCommand::set("k", 1).encode(), closure_into(&before)});
  batch.push_back({"garbage", nullptr});
  batch.push_back({AtomicCommand::set("k", 100).encode(), closure_into(&after)});
  ScriptedIterator iter(LogIndex(3), std::move(batch));
  fsm.on_apply(iter);

  REQUIRE(iter.error().has_value());
  CHECK(iter.error()->is_corruption());
  CHECK(iter.error_index() == LogIndex(4));
  CHECK(iter.rollback_ntail() == 1);
  CHECK(std::string(iter.error()->message()).find("atomic entry 4") != std::string::npos);
  CHECK(before.result.value == 1);
  CHECK_FALSE(after.status.has_value());
  CHECK(fsm.value("k") == 1);
  CHECK(fsm.applied_index() == LogIndex(3));
}

TEST_CASE("an atomic closure that fails reports the error and no result", "[atomic]") {
  Outcome outcome;
  std::unique_ptr<raft::Closure> done = closure_into(&outcome);
  done->run(Status::NotLeader("leadership lost"));
  REQUIRE(outcome.status.has_value());
  CHECK(outcome.status->is_not_leader());
  CHECK(outcome.result == AtomicResult{});
}

TEST_CASE("atomic-server takes --read index|lease|wait-free|log, index by default", "[atomic]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("atomic-flags-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::vector<std::string> base = {
      "--group", "atomic",    "--peer", "127.0.0.1:8101", "--conf", "127.0.0.1:8101,127.0.0.1:8102",
      "--data",  dir.string()};
  raft::Result<example::ServerFlags> defaults = example::parse_server_flags(base);
  REQUIRE(defaults.ok());
  CHECK(defaults->read == example::ServiceReadMode::kIndex);
  for (example::ServiceReadMode mode :
       {example::ServiceReadMode::kIndex, example::ServiceReadMode::kLease,
        example::ServiceReadMode::kWaitFree, example::ServiceReadMode::kLog}) {
    std::vector<std::string> args = base;
    args.push_back("--read=" + std::string(example::service_read_mode_name(mode)));
    raft::Result<example::ServerFlags> parsed = example::parse_server_flags(args);
    REQUIRE(parsed.ok());
    CHECK(parsed->read == mode);
  }
  std::filesystem::remove_all(dir);

  for (const char* mode : {"stale", "Index", ""}) {
    INFO(mode);
    std::vector<std::string> args = base;
    args.push_back(std::string("--read=") + mode);
    raft::Result<example::ServerFlags> parsed = example::parse_server_flags(args);
    REQUIRE_FALSE(parsed.ok());
    CHECK(std::string(parsed.status().message()).starts_with("--read"));
    CHECK_FALSE(std::filesystem::exists(dir));  // Refused before the directory is made.
  }
}

TEST_CASE("atomic-client commands are checked, each error naming the command or flag", "[atomic]") {
  const std::string conf = "127.0.0.1:8101,127.0.0.1:8102";
  raft::Result<atomic::AtomicClientFlags> cas =
      atomic::parse_atomic_client_flags({"--conf", conf, "cas", "k1", "-5", "+7"});
  REQUIRE(cas.ok());
  CHECK(cas->command == atomic::AtomicClientFlags::Command::kCompareAndSet);
  CHECK(cas->key == "k1");
  CHECK(cas->operand == -5);
  CHECK(cas->new_value == 7);
  CHECK(cas->cluster.endpoints.size() == 2);

  struct Case {
    std::vector<std::string> args;
    const char* named;
  };
  for (const Case& c : std::vector<Case>{
           {{"get", "k"}, "--conf"},
           {{"--conf", conf}, "missing command"},
           {{"--conf", conf, "incr", "k"}, "unknown command"},
           {{"--conf", conf, "get"}, "get: missing KEY"},
           {{"--conf", conf, "get", ""}, "get: KEY"},
           {{"--conf", conf, "get", "k", "extra"}, "get: unexpected"},
           {{"--conf", conf, "set", "k"}, "set: missing VALUE"},
           {{"--conf", conf, "set", "k", "five"}, "set: VALUE"},
           {{"--conf", conf, "cas", "k", "1"}, "cas: missing NEW"},
           {{"--conf", conf, "cas", "k", "x", "1"}, "cas: EXPECTED"},
           {{"--conf", conf, "fetch-add", "k", "1.5"}, "fetch-add: DELTA"},
           {{"--conf", conf, "status", "k"}, "status: unexpected"},
           {{"--conf", conf, "--timeout-ms", "0", "status"}, "--timeout-ms"},
           {{"--conf", conf, "--clients", "2", "status"}, "--clients"},
       }) {
    INFO(c.named);
    raft::Result<atomic::AtomicClientFlags> parsed = atomic::parse_atomic_client_flags(c.args);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().is_invalid_argument());
    CHECK(std::string(parsed.status().message()).starts_with(c.named));
  }
}

namespace {

using SimAtomicGroup = raft::testing::SimServiceGroup<AtomicStateMachine, atomic::AtomicService>;
using raft::testing::Reply;
namespace pb = ::pontoon::atomic;

// Runs one handler call on `replica` to its answer; the answer's status must be OK.
template <typename Handler>
Reply call(SimAtomicGroup& group, Handler handler, const std::string& request) {
  Reply reply;
  handler(request, reply.responder());
  PONTOON_CHECK(group.run_until([&] { return reply.status.has_value(); }));
  return reply;
}

std::string get_request(const std::string& key) {
  pb::GetRequest request;
  request.set_key(key);
  return request.SerializeAsString();
}

// The value a get on `replica` answers. REQUIRES: the get succeeds.
std::optional<int64_t> get_on(SimAtomicGroup& group, size_t replica, const std::string& key) {
  atomic::AtomicService& service = group.service(replica);
  Reply reply = call(
      group, [&](const std::string& r, auto respond) { service.handle_get(r, respond); },
      get_request(key));
  if (reply.status != Status::OK()) return std::nullopt;
  pb::GetResponse response;
  PONTOON_CHECK(response.ParseFromString(reply.body));
  return response.value();
}

}  // namespace

TEST_CASE("atomic gets in every --read mode see every acknowledged update, on any replica",
          "[atomic][read]") {
  for (example::ServiceReadMode mode :
       {example::ServiceReadMode::kIndex, example::ServiceReadMode::kLease,
        example::ServiceReadMode::kWaitFree, example::ServiceReadMode::kLog}) {
    INFO("--read " << example::service_read_mode_name(mode));
    SimAtomicGroup group(3, 21, mode);
    std::optional<size_t> leader = group.wait_for_leader();
    REQUIRE(leader.has_value());
    atomic::AtomicService& on_leader = group.service(*leader);
    std::map<std::string, int64_t> expected = {{"a", 0}, {"b", 0}};
    for (int round = 0; round < 3; ++round) {
      INFO("round " << round);
      pb::SetRequest set;
      set.set_key("a");
      set.set_value(100 + round);
      Reply set_reply = call(
          group, [&](const std::string& r, auto respond) { on_leader.handle_set(r, respond); },
          set.SerializeAsString());
      REQUIRE(set_reply.status == Status::OK());
      expected["a"] = 100 + round;
      pb::FetchAddRequest add;
      add.set_key("b");
      add.set_delta(7);
      Reply add_reply = call(
          group,
          [&](const std::string& r, auto respond) { on_leader.handle_fetch_add(r, respond); },
          add.SerializeAsString());
      REQUIRE(add_reply.status == Status::OK());
      pb::FetchAddResponse previous;
      REQUIRE(previous.ParseFromString(add_reply.body));
      CHECK(previous.previous() == expected["b"]);
      expected["b"] += 7;

      const raft::LogIndex last = group.node(*leader).get_status().last_log_index;
      for (size_t i = 0; i < 3; ++i) {
        INFO("replica " << i << (i == *leader ? " (leader)" : " (follower)"));
        for (const auto& [key, value] : expected) {
          INFO("key " << key);
          // A follower in log mode redirects (EPERM) instead of proposing.
          if (mode == example::ServiceReadMode::kLog && i != *leader) {
            CHECK_FALSE(get_on(group, i, key).has_value());
            continue;
          }
          CHECK(get_on(group, i, key) == value);
        }
        CHECK(get_on(group, i, "never-written").value_or(0) == 0);
      }
      const raft::LogIndex after = group.node(*leader).get_status().last_log_index;
      if (mode == example::ServiceReadMode::kLog) {
        CHECK(after > last);  // Each get was an entry.
      } else {
        CHECK(after == last);  // Reads added nothing to the log.
      }
    }
  }
}

TEST_CASE("an atomic get with a bad key is refused with EINVAL in every --read mode",
          "[atomic][read]") {
  for (example::ServiceReadMode mode :
       {example::ServiceReadMode::kIndex, example::ServiceReadMode::kLease,
        example::ServiceReadMode::kWaitFree, example::ServiceReadMode::kLog}) {
    INFO("--read " << example::service_read_mode_name(mode));
    SimAtomicGroup group(1, 22, mode);
    REQUIRE(group.wait_for_leader() == 0u);
    Reply reply;
    group.service(0).handle_get(get_request(""), reply.responder());
    REQUIRE(reply.status.has_value());  // Answered at once, from the handler.
    CHECK(reply.status->is_invalid_argument());
  }
}
