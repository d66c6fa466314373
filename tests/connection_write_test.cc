// Connection's write side: frames leave byte for byte in the order of the send() calls,
// whether the sending thread's sendmsg takes them whole, takes part of one (the rest then goes
// out from the strand, with everything sent meanwhile queued behind it), or a SendBatchScope
// collects more frames than one sendmsg's iovec array holds.
#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "connection.h"
#include "raft/rpc/frame.h"
#include "raft/send_batch.h"
#include "support/connection_pair.h"

using namespace raft;
using namespace raft::rpc;

namespace {

EncodedFrame frame_of(uint64_t request_id, size_t body_bytes, char fill) {
  std::string body(body_bytes, fill);
  // Not all one byte: a frame sent twice or out of order shows in the comparison.
  for (size_t i = 0; i < body_bytes; i += 97) body[i] = static_cast<char>(request_id + i);
  return testing::encoded_request(request_id, std::move(body));
}

}  // namespace

TEST_CASE(
    "connection: frames cut by a socket that takes them in part, and those sent behind "
    "them, leave whole and in order",
    "[connection][unit]") {
  // Fixed 64 KiB socket buffers: each round below offers a few times what the connection holds,
  // so the sending thread's sendmsg takes the round only in part (cutting a header or a body)
  // and the strand writes the rest as the peer reads. Nobody reads while a round is sent, so
  // the cut is real, wherever it falls.
  testing::ConnectionPair pair(/*buffer_bytes=*/64 * 1024);
  pair.run_io();
  std::mt19937 random(20261204);
  const size_t sizes[] = {0, 1, 7, 15, 16, 23, 24, 25, 1000, 4096, 30'000, 200'000};
  uint64_t request_id = 1;
  for (int round = 0; round < 40; ++round) {
    std::string expected;
    std::vector<EncodedFrame> frames;
    while (expected.size() < 600'000) {
      frames.push_back(frame_of(request_id++, sizes[random() % std::size(sizes)],
                                static_cast<char>('a' + round % 26)));
      expected += testing::wire_bytes(frames.back());
    }
    {
      // Every other round is collected by a scope and offered to one gathered sendmsg.
      std::optional<SendBatchScope> scope;
      if (round % 2 == 1) scope.emplace();
      for (EncodedFrame& frame : frames) REQUIRE(pair.sender->send(std::move(frame)));
    }
    const std::string received = pair.read_until_idle(expected.size());
    INFO("round " << round);
    REQUIRE(received.size() == expected.size());
    REQUIRE(received == expected);
  }
}

TEST_CASE("connection: a scope's batch of more frames than one sendmsg takes leaves in order",
          "[connection][unit]") {
  testing::ConnectionPair pair;
  pair.run_io();  // In case the socket takes less than all of them.
  std::string expected;
  {
    SendBatchScope scope;
    for (uint64_t id = 1; id <= 1000; ++id) {
      EncodedFrame frame = frame_of(id, id % 3 == 0 ? 0 : 10, 'x');
      expected += testing::wire_bytes(frame);
      REQUIRE(pair.sender->send(std::move(frame)));
    }
    CHECK(pair.peer.available() == 0);
  }
  CHECK(pair.read(expected.size()) == expected);
}
