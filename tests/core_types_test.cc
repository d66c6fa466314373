#include <catch2/catch.hpp>

#include "raft/configuration.h"
#include "raft/peer_id.h"
#include "raft/status.h"
#include "raft/types.h"

using namespace raft;

TEST_CASE("status carries an errno-style code and a message", "[status]") {
  CHECK(Status::OK().ok());
  CHECK(Status::OK().to_string() == "OK");
  Status busy = Status::Busy("apply queue is full");
  CHECK_FALSE(busy.ok());
  CHECK(busy.is_busy());
  CHECK(busy.to_string() == "EBUSY: apply queue is full");
  CHECK(Status::NotLeader("x").code_name() == "EPERM");
  CHECK(Status::Stale("x").code_name() == "ESTALE");
  CHECK(Status::TimedOut("x").code_name() == "ETIMEDOUT");
  CHECK(Status::InvalidArgument("x").code_name() == "EINVAL");
  CHECK(Status::IoError("x").code_name() == "EIO");
  CHECK(Status::Shutdown("x").code_name() == "ESHUTDOWN");
  CHECK(Status::Corruption("x").code_name() == "ECORRUPTION");
}

TEST_CASE("result holds either a value or an error", "[status]") {
  Result<int> good(7);
  REQUIRE(good.ok());
  CHECK(*good == 7);
  Result<int> bad(Status::NotFound("no such entry"));
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().is_not_found());
}

TEST_CASE("term and log index are ordered counters", "[types]") {
  LogIndex a(5);
  LogIndex b = a + 3;
  CHECK(b.value() == 8);
  CHECK(b - a == 3);
  CHECK(a < b);
  ++a;
  CHECK(a == LogIndex(6));
  CHECK(Term(2) > Term(1));
}

TEST_CASE("peer id parses ip:port[:index] and rejects anything else", "[peer_id]") {
  Result<PeerId> plain = PeerId::parse("127.0.0.1:8100");
  REQUIRE(plain.ok());
  CHECK(plain->ip() == "127.0.0.1");
  CHECK(plain->port() == 8100);
  CHECK(plain->index() == 0);
  CHECK(plain->to_string() == "127.0.0.1:8100");

  Result<PeerId> indexed = PeerId::parse("10.0.0.2:9000:3");
  REQUIRE(indexed.ok());
  CHECK(indexed->index() == 3);
  CHECK(indexed->to_string() == "10.0.0.2:9000:3");
  CHECK(indexed->endpoint() == "10.0.0.2:9000");

  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
                          "127.0.0.1:80:", "127.0.0.1:80:-1", "300.0.0.1:80", "1.2.3:80", "host:80",
                          "127.0.0.1:8x"}) {
    INFO(bad);
    Result<PeerId> parsed = PeerId::parse(bad);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.status().is_invalid_argument());
  }
}

TEST_CASE("configuration parses a peer list, sorted and without duplicates", "[configuration]") {
  Result<Configuration> conf = Configuration::parse("127.0.0.1:3,127.0.0.1:1,127.0.0.1:2");
  REQUIRE(conf.ok());
  CHECK(conf->size() == 3);
  CHECK(conf->quorum() == 2);
  CHECK(conf->to_string() == "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3");
  CHECK(conf->contains(*PeerId::parse("127.0.0.1:2")));
  CHECK_FALSE(conf->contains(*PeerId::parse("127.0.0.1:4")));

  CHECK(Configuration::parse("").status().is_invalid_argument());
  CHECK(Configuration::parse("127.0.0.1:1,127.0.0.1:1").status().is_invalid_argument());
  CHECK(Configuration::parse("127.0.0.1:1,").status().is_invalid_argument());
  CHECK(Configuration::parse("127.0.0.1:1,nope").status().is_invalid_argument());
  CHECK(Configuration(std::vector<PeerId>(5, PeerId("1.1.1.1", 1))).size() == 1);
}

TEST_CASE("configuration carries election priorities through parse and to_string",
          "[configuration][priority]") {
  Result<Configuration> conf =
      Configuration::parse("127.0.0.1:3:0:100,127.0.0.1:1,127.0.0.1:2:1:0,127.0.0.1:4/learner");
  REQUIRE(conf.ok());
  const PeerId a = *PeerId::parse("127.0.0.1:1");
  const PeerId b = *PeerId::parse("127.0.0.1:2:1");
  const PeerId c = *PeerId::parse("127.0.0.1:3");
  CHECK(conf->contains(c));
  CHECK(conf->priority(c) == 100);
  CHECK(conf->priority(b) == Configuration::kNeverLeader);
  CHECK(conf->priority(a) == Configuration::kNoPriority);
  CHECK(conf->max_priority() == 100);
  CHECK(conf->to_string() == "127.0.0.1:1,127.0.0.1:2:1:0,127.0.0.1:3:0:100,127.0.0.1:4/learner");
  Result<Configuration> again = Configuration::parse(conf->to_string());
  REQUIRE(again.ok());
  CHECK(*again == *conf);
  // A priority is part of the configuration: changing one makes a different configuration.
  Configuration lowered = *conf;
  REQUIRE(lowered.set_priority(c, 5).ok());
  CHECK_FALSE(lowered == *conf);
  CHECK(lowered.max_priority() == 5);
  REQUIRE(lowered.set_priority(c, Configuration::kNoPriority).ok());
  CHECK(lowered.priority(c) == Configuration::kNoPriority);
  CHECK(lowered.set_priority(*PeerId::parse("127.0.0.1:4"), 1).is_invalid_argument());
  CHECK(lowered.set_priority(c, Configuration::kMaxPriority + 1).is_invalid_argument());
  // with_priorities_of keeps the priorities of voters it still has.
  Configuration fewer = Configuration({a, c}).with_priorities_of(*conf);
  CHECK(fewer.priority(c) == 100);
  CHECK(fewer.priority(b) == Configuration::kNoPriority);
  CHECK(Configuration({a, b}).max_priority() == Configuration::kNoPriority);

  for (const char* bad :
       {"127.0.0.1:1:0:x", "127.0.0.1:1:0:-1", "127.0.0.1:1:0:", "127.0.0.1:1:0:1000001",
        "127.0.0.1:1:0:99999999", "127.0.0.1:1,127.0.0.1:2:0:5/learner"}) {
    INFO(bad);
    Result<Configuration> parsed = Configuration::parse(bad);
    CHECK(parsed.status().is_invalid_argument());
  }
  Status learner = Configuration::parse("127.0.0.1:1,127.0.0.1:2:0:5/learner").status();
  CHECK(std::string(learner.message()).find("127.0.0.1:2:0:5/learner") != std::string::npos);
}
