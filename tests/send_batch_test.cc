// SendBatchScope (raft/send_batch.h) and how Connection collects the frames a thread sends
// inside one: nothing leaves until the outermost scope ends, then everything leaves in the
// order of the send() calls, whichever thread made them.
#include <catch2/catch.hpp>

#include <poll.h>
#include <thread>

#include "connection.h"
#include "raft/rpc/fiber_threads.h"
#include "raft/rpc/frame.h"
#include "raft/send_batch.h"
#include "support/connection_pair.h"

using namespace raft;
using namespace raft::rpc;

TEST_CASE("send batch: deferred flushes run when the outermost scope ends, in order",
          "[send-batch][unit]") {
  std::vector<int> ran;
  CHECK_FALSE(SendBatchScope::active());
  {
    SendBatchScope outer;
    CHECK(SendBatchScope::active());
    SendBatchScope::defer([&] { ran.push_back(1); });
    {
      SendBatchScope inner;
      SendBatchScope::defer([&] { ran.push_back(2); });
    }
    CHECK(ran.empty());  // The inner scope does not flush.
    SendBatchScope::defer([&] {
      ran.push_back(3);
      SendBatchScope::defer([&] { ran.push_back(4); });  // Deferred while flushing: runs too.
    });
  }
  CHECK(ran == std::vector<int>{1, 2, 3, 4});
  CHECK_FALSE(SendBatchScope::active());
}

TEST_CASE("send batch: flush() runs what was deferred at once and keeps the scope open",
          "[send-batch][unit]") {
  int ran = 0;
  SendBatchScope scope;
  SendBatchScope::defer([&] { ++ran; });
  SendBatchScope::flush();
  CHECK(ran == 1);
  CHECK(SendBatchScope::active());
}

namespace {

EncodedFrame frame_with(const std::string& body, uint64_t request_id) {
  return testing::encoded_request(request_id, body);
}

}  // namespace

TEST_CASE("connection: frames sent inside a scope leave together when it ends, in order",
          "[send-batch][unit]") {
  testing::ConnectionPair pair;
  const EncodedFrame first = frame_with("first", 1);
  const EncodedFrame second = frame_with("second", 2);
  const EncodedFrame third = frame_with("third", 3);
  {
    SendBatchScope scope;
    REQUIRE(pair.sender->send(first));
    // Another thread, outside any scope, joins the batch rather than overtaking it.
    std::thread other([&] { REQUIRE(pair.sender->send(second)); });
    other.join();
    CHECK(pair.peer.available() == 0);  // Nothing has left yet.
  }
  CHECK(pair.read(first.size() + second.size()) ==
        testing::wire_bytes(first) + testing::wire_bytes(second));
  // Outside a scope a frame leaves at once, from the sending thread.
  REQUIRE(pair.sender->send(third));
  CHECK(pair.read(third.size()) == testing::wire_bytes(third));
}

TEST_CASE("connection: wait_for_callback sends what the thread collected before it blocks",
          "[send-batch][unit]") {
  testing::ConnectionPair pair;
  const EncodedFrame frame = frame_with("ask", 9);
  bool arrived = false;
  std::thread answerer;
  {
    SendBatchScope scope;
    REQUIRE(pair.sender->send(frame));
    CHECK(pair.peer.available() == 0);
    // The "answer" comes only once the request is readable (or after 10 s without it): a wait
    // that kept the request collected would wait for the timeout.
    wait_for_callback([&](std::function<void()> resume) {
      answerer = std::thread([&, resume = std::move(resume)] {
        pollfd readable{pair.peer.native_handle(), POLLIN, 0};
        arrived = ::poll(&readable, 1, 10000) == 1;
        resume();
      });
    });
  }
  answerer.join();
  CHECK(arrived);
  CHECK(pair.read(frame.size()) == testing::wire_bytes(frame));
}
