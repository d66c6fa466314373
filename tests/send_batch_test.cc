// SendBatchScope (raft/send_batch.h) and how Connection collects the frames a thread sends
// inside one: nothing leaves until the outermost scope ends, then everything leaves in the
// order of the send() calls, whichever thread made them.
#include <catch2/catch.hpp>

#include <poll.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <thread>

#include "connection.h"
#include "raft/rpc/fiber_threads.h"
#include "raft/rpc/frame.h"
#include "raft/send_batch.h"

using namespace raft;
using namespace raft::rpc;
using boost::asio::ip::tcp;

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

// A connected pair on 127.0.0.1: `sender` wrapped in a Connection, `peer` read directly.
struct SocketPair {
  boost::asio::io_context io;
  tcp::socket peer{io};
  std::shared_ptr<Connection> sender;

  SocketPair() {
    tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(boost::asio::make_strand(io));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(peer);
    sender = std::make_shared<Connection>(std::move(client), "test", Connection::Limits{});
  }

  std::string read(size_t bytes) {
    std::string out(bytes, '\0');
    boost::asio::read(peer, boost::asio::buffer(out.data(), out.size()));
    return out;
  }
};

std::string frame_with(const std::string& body, uint64_t request_id) {
  Frame frame;
  frame.method_id = 7;
  frame.request_id = request_id;
  frame.body = body;
  Result<std::string> bytes = encode_frame(frame, kDefaultMaxFrameBytes);
  REQUIRE(bytes.ok());
  return *bytes;
}

}  // namespace

TEST_CASE("connection: frames sent inside a scope leave together when it ends, in order",
          "[send-batch][unit]") {
  SocketPair pair;
  const std::string first = frame_with("first", 1);
  const std::string second = frame_with("second", 2);
  const std::string third = frame_with("third", 3);
  {
    SendBatchScope scope;
    REQUIRE(pair.sender->send(first));
    // Another thread, outside any scope, joins the batch rather than overtaking it.
    std::thread other([&] { REQUIRE(pair.sender->send(second)); });
    other.join();
    CHECK(pair.peer.available() == 0);  // Nothing has left yet.
  }
  CHECK(pair.read(first.size() + second.size()) == first + second);
  // Outside a scope a frame leaves at once, from the sending thread.
  REQUIRE(pair.sender->send(third));
  CHECK(pair.read(third.size()) == third);
}

TEST_CASE("connection: wait_for_callback sends what the thread collected before it blocks",
          "[send-batch][unit]") {
  SocketPair pair;
  const std::string frame = frame_with("ask", 9);
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
  CHECK(pair.read(frame.size()) == frame);
}
