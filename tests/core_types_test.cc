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
