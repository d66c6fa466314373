// RpcChannel: the client side of one remote endpoint. Owns at most one connection to it,
// the calls pending on it, their timers, and the reconnect backoff. See rpc_client.h for the
// behaviour callers see.
//
// Threading: pending calls are shared with the calling threads and guarded by mu_; whoever
// removes a call from pending_ runs its callback, which is what makes "exactly once" hold
// between a response, a timeout, a broken connection and shutdown. Everything else (socket,
// connection state, timers, outbox) belongs to strand_. shutdown() touches strand state
// directly, which is sound only because the pool's threads have been joined by then.
//
// The fast path: once connected, a call writes its frame from the calling thread
// (Connection::send), without a hop to the strand, unless calls posted to the strand before
// it have not gone out yet (they go first, so frames leave in call order). Timeouts need no
// timer per call: each call carries its deadline, and one sweep timer on the strand, armed
// for the earliest deadline, fails the calls that passed theirs.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "connection.h"
#include "raft/rpc/rpc_client.h"

namespace raft::rpc {

class RpcChannel : public std::enable_shared_from_this<RpcChannel> {
 public:
  // REQUIRES: options valid; endpoint has a non-zero port.
  RpcChannel(boost::asio::io_context& context, boost::asio::ip::tcp::endpoint endpoint,
             const RpcClientOptions& options);

  RpcChannel(const RpcChannel&) = delete;
  RpcChannel& operator=(const RpcChannel&) = delete;

  // Any thread.
  void call(uint32_t method_id, std::string request_body, Duration timeout,
            RpcClient::Callback done);

  // REQUIRES: the pool has stopped. Idempotent.
  void shutdown();

 private:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using tcp = boost::asio::ip::tcp;

  using SteadyTime = std::chrono::steady_clock::time_point;

  struct PendingCall {
    RpcClient::Callback done;
    uint64_t request_bytes = 0;
    SteadyTime deadline;
    Duration timeout{};  // For the message.
  };

  enum class State {
    kIdle,        // No connection; the next call connects at once.
    kBackoff,     // No connection; backoff_timer_ runs, then we connect if calls wait.
    kConnecting,  // connecting_ is in async_connect.
    kConnected,   // connection_ is open.
  };

  // Strand.
  void start_call(uint64_t request_id, EncodedFrame frame);
  // Arms sweep_timer_ for sweep_at_; sweep() fails the calls past their deadline.
  void arm_sweep();
  void sweep();
  void connect();
  void on_connect(const boost::system::error_code& ec, const std::shared_ptr<tcp::socket>& socket);
  void enter_backoff();
  // Drops frames of calls no longer pending from outbox_. Takes mu_.
  void prune_outbox();
  void on_frame(const std::shared_ptr<Connection>& connection, Frame frame);
  void on_close(const std::shared_ptr<Connection>& connection, const Status& reason);

  // Any thread (takes mu_). complete() returns false if the call was already completed.
  bool complete(uint64_t request_id, const Status& status, std::string body);
  void fail_all(const Status& status);

  const tcp::endpoint endpoint_;
  const std::string name_;  // "ip:port", for messages.
  const RpcClientOptions options_;
  Strand strand_;
  std::atomic<uint64_t> next_request_id_{1};

  std::mutex mu_;
  bool shutdown_ = false;                    // Guarded by mu_.
  std::map<uint64_t, PendingCall> pending_;  // Guarded by mu_.
  uint64_t pending_bytes_ = 0;               // Guarded by mu_. Sum of request_bytes.
  // Guarded by mu_: the open connection calls may write to directly (set once on_connect has
  // flushed the outbox, cleared before on_close fails the pending calls), and the calls
  // posted to start_call() that have not run yet.
  std::shared_ptr<Connection> live_connection_;
  uint64_t strand_starts_ = 0;
  // Guarded by mu_: when sweep_timer_ fires (max() when it is not armed). A call whose
  // deadline is earlier posts arm_sweep().
  SteadyTime sweep_at_ = SteadyTime::max();

  // Strand-only state.
  State state_ = State::kIdle;
  std::shared_ptr<tcp::socket> connecting_;  // Set iff state_ == kConnecting.
  bool connect_timed_out_ = false;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer sweep_timer_;
  Duration backoff_;                        // Delay before the next attempt after a failure.
  std::shared_ptr<Connection> connection_;  // Set iff state_ == kConnected.
  // Frames of calls waiting for a connection, in call order.
  // Invariant (after prune_outbox): every entry's call is in pending_.
  std::deque<std::pair<uint64_t, EncodedFrame>> outbox_;
};

}  // namespace raft::rpc
