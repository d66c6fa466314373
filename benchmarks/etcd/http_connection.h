// HttpConnection: one HTTP/1.1 keep-alive client connection, driven by C++20 coroutines on
// Boost.Asio. Just enough HTTP for etcd's v3 JSON gateway and its /health and /metrics
// endpoints: one request at a time, bodies framed by Content-Length or chunked encoding.
//
// Thread-safety: not thread-safe; one coroutine uses a connection at a time (the socket lives
// on the executor it was made with). Errors are values (HttpResponse::error), never
// exceptions: a failed request leaves the connection closed, and the next request reconnects.
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs it first.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench::etcd {

struct HttpResponse {
  // Set on a connection or protocol failure; then status is 0 and body empty.
  boost::system::error_code error;
  std::string error_detail;  // What went wrong, for messages (with `error`).
  int status = 0;
  std::string body;

  bool ok() const { return !error && status == 200; }
};

class HttpConnection {
 public:
  HttpConnection(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint server);

  // Sends `method` `path` with `body` (as application/json when not empty) and reads the whole
  // response. Connects first if not connected.
  boost::asio::awaitable<HttpResponse> request(std::string_view method, std::string_view path,
                                               std::string_view body);

  // Closes the socket (a later request reconnects).
  void close();

 private:
  // Reads the body announced by `headers` into response->body; false with response->error set
  // if the stream breaks or the framing is not understood.
  boost::asio::awaitable<bool> read_body(std::string_view headers, size_t body_start,
                                         HttpResponse* response);
  // Makes the first `bytes` bytes of the stream available in buffer_ (reading as needed).
  boost::asio::awaitable<bool> fill(size_t bytes, HttpResponse* response);

  boost::asio::ip::tcp::socket socket_;
  const boost::asio::ip::tcp::endpoint server_;
  const std::string host_header_;
  // Bytes received and not yet consumed: the start of the next response, at most.
  std::string buffer_;
  // The request being sent; reused so a steady state does not allocate for it.
  std::string request_;
};

// Standard base64 (RFC 4648, with padding), as the gateway's JSON wants for keys and values.
std::string base64_encode(std::string_view bytes);

}  // namespace bench::etcd
