// RpcServer: accepts TCP connections and serves framed requests with registered handlers.
//
// A handler is registered per method id (method_ids.h). It receives the request body (a
// serialized protobuf message) and a Responder, which it must call exactly once, from any
// thread, now or later. The Responder sends either the response body (OK) or the Status as
// an error response; the client sees that Status. Requests on one connection may be answered
// out of order: the request id matches them up.
//
// Every connection lives on its own strand of the IoContextPool. Handlers run on that strand,
// i.e. on an IO thread, one request of a connection at a time: they must not block. A
// malformed, truncated-then-closed or oversized frame closes that connection with a kWarn
// log line; other connections are unaffected.
//
// Lifecycle: register_method()* → start() → (pool stopped) → stop(). The pool must outlive
// the server.
// Thread-safety: register_method() and start() from one thread before the server is served;
// the counters from any thread; stop() once the pool has stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "raft/rpc/frame.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/status.h"

namespace raft::rpc {

struct RpcServerOptions {
  // Largest frame (header + body) accepted or sent. Larger incoming frames close the
  // connection; a larger response is replaced by an EIO error response.
  uint64_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Accepted connections beyond this are closed at once.
  size_t max_connections = 1024;
  // Requests a connection may have in handlers at once; more are answered with EBUSY.
  size_t max_unanswered_requests_per_connection = 4096;
  // Response bytes queued on one connection; beyond it the client is not reading and the
  // connection is closed. REQUIRES: >= max_frame_bytes.
  uint64_t max_write_queue_bytes = uint64_t{256} << 20;

  // EINVAL naming the first bad option.
  Status validate() const;
};

class RpcServer {
 public:
  // Sends the response: `response_body` if `status` is OK, else `status` as an error.
  // Call exactly once (a second call is a programmer error and aborts). If every copy is
  // destroyed without a call, the client gets EIO instead of waiting for its timeout.
  using Responder = std::function<void(const Status& status, std::string response_body)>;
  using Handler = std::function<void(const std::string& request_body, Responder respond)>;

  // REQUIRES: pool != nullptr and outlives the server; options.validate() is OK.
  RpcServer(IoContextPool* pool, RpcServerOptions options);
  // Stops the server. REQUIRES: as for stop().
  ~RpcServer();

  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // EINVAL if `method_id` already has a handler. REQUIRES: start() not yet called.
  Status register_method(uint32_t method_id, Handler handler);

  // Listens on `endpoint` ("ip:port"; port 0 asks the kernel for a free port, see port()) and
  // accepts connections once the pool runs. EINVAL for a bad endpoint, EIO naming the
  // address if it cannot be bound. REQUIRES: called at most once with an OK result.
  Status start(std::string_view endpoint);

  // The bound port. REQUIRES: start() returned OK.
  uint16_t port() const;

  // Closes the listener and every connection. Idempotent.
  // REQUIRES: the pool has stopped (or never started), so no handler of this server runs.
  void stop();

  // Connections accepted since start (including ones closed since, or refused over the
  // limit), and the number open now.
  uint64_t accepted_connections() const;
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raft::rpc
