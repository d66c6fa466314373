// RpcClient: calls methods on remote RpcServers.
//
// One connection per remote endpoint (an RpcChannel), opened on the first call and shared by
// every call to that endpoint: concurrent calls are multiplexed on it by request id, and
// responses may arrive in any order. Each call has its own timeout. When the connection
// fails, the calls in flight on it fail with EHOSTDOWN and the next call reconnects, no
// sooner than a backoff that doubles from min_reconnect_backoff up to max_reconnect_backoff
// with each failed attempt and resets once a response arrives.
//
// The callback of a call runs exactly once, with one of:
//   OK and the response body;
//   the Status the server's handler answered with;
//   ETIMEDOUT when the timeout passed first;
//   EHOSTDOWN when the endpoint could not be reached or the connection broke;
//   EBUSY when too many calls (or bytes) are pending to the endpoint;
//   EINVAL for a bad endpoint or a request larger than max_frame_bytes;
//   ESHUTDOWN when the client is (or gets) shut down before the answer;
//   ECORRUPTION when the server's error response is unreadable.
// It runs on an IO thread, except that a call failing before it is queued (EBUSY, EINVAL,
// ESHUTDOWN from call(); ESHUTDOWN from shutdown()) runs it inline on the calling thread:
// don't hold a lock in call() that the callback takes.
//
// Lifecycle: the pool must outlive the client; shutdown() needs the pool stopped first.
// Thread-safety: call() from any thread; shutdown() from any non-IO thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "raft/clock.h"
#include "raft/rpc/frame.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/status.h"

namespace raft::rpc {

struct RpcClientOptions {
  // Largest frame (header + body) sent or accepted. A larger request fails with EINVAL; a
  // larger response closes the connection.
  uint64_t max_frame_bytes = kDefaultMaxFrameBytes;
  // A connection attempt taking longer fails its waiting calls with EHOSTDOWN.
  Duration connect_timeout = std::chrono::seconds(1);
  Duration min_reconnect_backoff = std::chrono::milliseconds(10);
  Duration max_reconnect_backoff = std::chrono::seconds(1);
  // Calls, and request bytes, outstanding to one endpoint; beyond them calls fail with EBUSY.
  size_t max_pending_calls_per_endpoint = 4096;
  uint64_t max_pending_bytes_per_endpoint = uint64_t{256} << 20;

  // EINVAL naming the first bad option.
  Status validate() const;
};

class RpcClient {
 public:
  using Callback = std::function<void(const Status& status, std::string response_body)>;

  // REQUIRES: pool != nullptr and outlives the client; options.validate() is OK.
  RpcClient(IoContextPool* pool, RpcClientOptions options);
  // Shuts down. REQUIRES: as for shutdown().
  ~RpcClient();

  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Calls `method_id` at `endpoint` ("ip:port") with `request_body`; `done` runs once, at
  // the latest about `timeout` after the call (see the class comment).
  void call(std::string_view endpoint, uint32_t method_id, std::string request_body,
            Duration timeout, Callback done);

  // Fails every outstanding call with ESHUTDOWN (callbacks run on this thread) and makes
  // later calls fail the same way. Idempotent.
  // REQUIRES: the pool has stopped (or never started), so no handler of this client runs.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace raft::rpc
