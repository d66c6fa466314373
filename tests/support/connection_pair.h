// ConnectionPair: a connected pair of sockets on 127.0.0.1 for Connection's tests: `sender`
// wrapped in a Connection (on a strand of `io`), `peer` a plain socket the test reads directly.
//
// Thread-safety: read() runs on one thread at a time. run_io() starts one thread running `io`
// (which the Connection's queued writes need); the destructor stops and joins it.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "connection.h"
#include "raft/check.h"
#include "raft/rpc/frame.h"

namespace raft::rpc::testing {

// A request frame (method 7) with `body`, encoded for Connection::send().
inline EncodedFrame encoded_request(uint64_t request_id, std::string body) {
  Frame frame;
  frame.method_id = 7;
  frame.request_id = request_id;
  frame.body = std::move(body);
  Result<EncodedFrame> encoded = encode_frame_parts(std::move(frame), kDefaultMaxFrameBytes);
  PONTOON_CHECK(encoded.ok());
  return std::move(encoded).value();
}

// What `frame` looks like on the wire.
inline std::string wire_bytes(const EncodedFrame& frame) {
  return std::string(frame.header.data(), frame.header.size()) + frame.body;
}

struct ConnectionPair {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket peer{io};
  std::shared_ptr<Connection> sender;

  // `buffer_bytes` > 0 fixes the sender's send buffer and the peer's receive buffer (the kernel
  // doubles both and stops tuning them), so that a known amount fills the connection. Keep it
  // at 64 KiB or more: a receive window below loopback's 64 KiB MSS stalls TCP in window
  // probes, 200 ms apart.
  explicit ConnectionPair(int buffer_bytes = 0) {
    using boost::asio::ip::tcp;
    tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(boost::asio::make_strand(io));
    if (buffer_bytes > 0) {
      client.open(tcp::v4());
      client.set_option(boost::asio::socket_base::send_buffer_size(buffer_bytes));
    }
    client.connect(acceptor.local_endpoint());
    client.set_option(tcp::no_delay(true));  // As RpcChannel and RpcServer set it.
    acceptor.accept(peer);
    if (buffer_bytes > 0) {
      peer.set_option(boost::asio::socket_base::receive_buffer_size(buffer_bytes));
    }
    sender = std::make_shared<Connection>(std::move(client), "test", Connection::Limits{});
  }

  ~ConnectionPair() {
    work_.reset();
    if (io_thread_.joinable()) {
      io.stop();
      io_thread_.join();
    }
  }

  void run_io() {
    work_.emplace(io.get_executor());
    io_thread_ = std::thread([this] { io.run(); });
  }

  std::string read(size_t bytes) {
    std::string out(bytes, '\0');
    boost::asio::read(peer, boost::asio::buffer(out.data(), out.size()));
    return out;
  }

  // Reads up to `bytes`, giving up when nothing arrives for `idle_timeout_ms`: a sender that
  // lost bytes shows as a short result instead of a test that hangs.
  std::string read_until_idle(size_t bytes, int idle_timeout_ms = 10'000) {
    std::string out(bytes, '\0');
    size_t received = 0;
    while (received < bytes) {
      pollfd readable{peer.native_handle(), POLLIN, 0};
      if (::poll(&readable, 1, idle_timeout_ms) <= 0) break;
      const ssize_t n = ::recv(peer.native_handle(), out.data() + received, bytes - received, 0);
      if (n <= 0) break;
      received += static_cast<size_t>(n);
    }
    out.resize(received);
    return out;
  }

 private:
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread io_thread_;
};

}  // namespace raft::rpc::testing
