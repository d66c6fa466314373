// LeaderClient (example/common) against a replica that accepts connections but never answers,
// as a SIGSTOPped server or a leader cut off from its clients' answers: a write that times out
// there ends kUnknown, and the next call, from any thread, goes to another replica.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "leader_client.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/rpc_client.h"
#include "raft/rpc/rpc_server.h"

using namespace raft;
using namespace raft::rpc;
using example::CallResult;
using example::LeaderClient;

namespace {

constexpr uint32_t kMethod = 4001;

// A listening socket nobody accepts from: connecting succeeds (the kernel completes the
// handshake into the backlog), requests are buffered, and no answer ever comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    endpoint_ = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  ~SilentListener() { ::close(fd_); }
  const std::string& endpoint() const { return endpoint_; }

 private:
  int fd_ = -1;
  std::string endpoint_;
};

}  // namespace

TEST_CASE("a write that times out on a silent replica sends the next call elsewhere",
          "[leader_client]") {
  IoContextPool pool(1, "test-rpc");
  RpcServer server(&pool, RpcServerOptions{});
  REQUIRE(server
              .register_method(kMethod,
                               [](const std::string& body, RpcServer::Responder respond) {
                                 respond(Status::OK(), "answered " + body);
                               })
              .ok());
  REQUIRE(server.start("127.0.0.1:0").ok());
  RpcClient rpc(&pool, RpcClientOptions{});
  pool.start();
  {
    SilentListener silent;
    const std::string live = "127.0.0.1:" + std::to_string(server.port());
    // The silent replica comes first: it is the initial leader guess.
    LeaderClient client(&rpc, {silent.endpoint(), live}, std::chrono::milliseconds(300));

    CallResult first = client.call_leader(kMethod, "w1", /*read_only=*/false);
    CHECK(first.outcome == CallResult::Outcome::kUnknown);  // Sent, never answered.
    CHECK(first.endpoint == silent.endpoint());

    CallResult second = client.call_leader(kMethod, "w2", /*read_only=*/false);
    CHECK(second.outcome == CallResult::Outcome::kOk);
    CHECK(second.endpoint == live);
    CHECK(second.body == "answered w2");
    CHECK(second.attempts == 1);  // It did not wait out the silent replica again.
  }
  pool.stop();
  rpc.shutdown();
  server.stop();
}
