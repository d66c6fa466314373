#include "rpc_channel.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <vector>

#include "endpoint.h"
#include "raft/check.h"
#include "raft/logging.h"
#include "rpc_error.h"

namespace raft::rpc {
namespace {

int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

RpcChannel::RpcChannel(boost::asio::io_context& context, tcp::endpoint endpoint,
                       const RpcClientOptions& options)
    : endpoint_(std::move(endpoint)),
      name_(endpoint_to_string(endpoint_)),
      options_(options),
      strand_(boost::asio::make_strand(context)),
      connect_timer_(strand_),
      backoff_timer_(strand_),
      sweep_timer_(strand_),
      backoff_(options.min_reconnect_backoff) {
  PONTOON_CHECK(endpoint_.port() != 0);
  PONTOON_CHECK(options_.validate().ok());
}

void RpcChannel::call(uint32_t method_id, std::string request_body, Duration timeout,
                      RpcClient::Callback done) {
  PONTOON_CHECK(done != nullptr);
  const uint64_t request_bytes = request_body.size();
  Frame frame;
  frame.kind = FrameKind::kRequest;
  frame.method_id = method_id;
  frame.request_id = next_request_id_.fetch_add(1, std::memory_order_relaxed);
  frame.body = std::move(request_body);
  const uint64_t request_id = frame.request_id;
  Result<EncodedFrame> encoded = encode_frame_parts(std::move(frame), options_.max_frame_bytes);
  if (!encoded.ok()) {
    done(Status::InvalidArgument("request to " + name_ + ": " +
                                 std::string(encoded.status().message())),
         std::string());
    return;
  }
  Status refused;
  std::shared_ptr<Connection> direct;
  bool arm = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) {
      refused = Status::Shutdown("rpc client is shut down");
    } else if (pending_.size() >= options_.max_pending_calls_per_endpoint) {
      refused = Status::Busy(std::to_string(pending_.size()) + " calls already pending to " +
                             name_ + " (max_pending_calls_per_endpoint)");
    } else if (pending_bytes_ + request_bytes > options_.max_pending_bytes_per_endpoint) {
      refused = Status::Busy(std::to_string(pending_bytes_) + " request bytes already pending to " +
                             name_ + " (max_pending_bytes_per_endpoint)");
    } else {
      PendingCall& pending = pending_[request_id];
      pending.done = std::move(done);
      pending.request_bytes = request_bytes;
      pending.timeout = timeout;
      // Clamped so that a "never" timeout cannot overflow the deadline.
      pending.deadline = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::min<Duration>(timeout, std::chrono::hours(24 * 365 * 100)));
      pending_bytes_ += request_bytes;
      if (pending.deadline < sweep_at_) {
        sweep_at_ = pending.deadline;
        arm = true;
      }
      if (live_connection_ != nullptr && strand_starts_ == 0) {
        direct = live_connection_;
      } else {
        // The call is in pending_ before start_call can run. If the pool stops first,
        // start_call never runs and shutdown() fails the call from pending_ instead.
        ++strand_starts_;
        boost::asio::post(strand_, [self = shared_from_this(), id = request_id,
                                    bytes = std::move(encoded).value()]() mutable {
          self->start_call(id, std::move(bytes));
        });
      }
    }
  }
  if (arm) boost::asio::post(strand_, [self = shared_from_this()] { self->arm_sweep(); });
  // A connection that refuses the frame is closing: its close fails every pending call,
  // this one included (it was pending before live_connection_ could be cleared).
  if (direct != nullptr) (void)direct->send(std::move(encoded).value());
  if (!refused.ok()) done(refused, std::string());
}

void RpcChannel::start_call(uint64_t request_id, EncodedFrame frame) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    PONTOON_CHECK(strand_starts_ > 0);
    --strand_starts_;
    if (pending_.count(request_id) == 0) return;  // Already failed, e.g. with a lost connection.
  }
  if (state_ == State::kConnected) {
    connection_->send(std::move(frame));
    return;
  }
  // Calls that time out while waiting leave their frames behind; drop those before the
  // outbox outgrows the pending calls it can hold.
  if (outbox_.size() >= options_.max_pending_calls_per_endpoint) prune_outbox();
  outbox_.emplace_back(request_id, std::move(frame));
  if (state_ == State::kIdle) connect();
}

void RpcChannel::arm_sweep() {
  SteadyTime at;
  {
    std::lock_guard<std::mutex> lock(mu_);
    at = sweep_at_;
  }
  if (at == SteadyTime::max()) return;
  // Re-arming cancels the wait before; its handler sees operation_aborted and returns.
  sweep_timer_.expires_at(at);
  sweep_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->sweep();
  });
}

void RpcChannel::sweep() {
  std::vector<std::pair<uint64_t, Duration>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const SteadyTime now = std::chrono::steady_clock::now();
    SteadyTime next = SteadyTime::max();
    for (const auto& [request_id, call] : pending_) {
      if (call.deadline <= now) {
        expired.emplace_back(request_id, call.timeout);
      } else {
        next = std::min(next, call.deadline);
      }
    }
    sweep_at_ = next;
  }
  for (const auto& [request_id, timeout] : expired) {
    complete(request_id,
             Status::TimedOut("call " + std::to_string(request_id) + " to " + name_ +
                              " timed out after " + std::to_string(to_ms(timeout)) + " ms"),
             std::string());
  }
  arm_sweep();
}

void RpcChannel::prune_outbox() {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(outbox_, [this](const auto& entry) { return pending_.count(entry.first) == 0; });
  PONTOON_CHECK(outbox_.size() <= pending_.size());
}

void RpcChannel::connect() {
  PONTOON_CHECK(state_ == State::kIdle || state_ == State::kBackoff);
  PONTOON_CHECK(connecting_ == nullptr);
  PONTOON_CHECK(connection_ == nullptr);
  state_ = State::kConnecting;
  connect_timed_out_ = false;
  auto socket = std::make_shared<tcp::socket>(strand_);
  connecting_ = socket;
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait(
      [self = shared_from_this(), socket](const boost::system::error_code& ec) {
        if (ec || self->connecting_ != socket) return;
        // Closing aborts the connect; on_connect then reports the timeout.
        self->connect_timed_out_ = true;
        boost::system::error_code ignored;
        socket->close(ignored);
      });
  socket->async_connect(endpoint_,
                        [self = shared_from_this(), socket](const boost::system::error_code& ec) {
                          self->on_connect(ec, socket);
                        });
}

void RpcChannel::on_connect(const boost::system::error_code& ec,
                            const std::shared_ptr<tcp::socket>& socket) {
  if (socket != connecting_) return;
  PONTOON_CHECK(state_ == State::kConnecting);
  connecting_.reset();
  connect_timer_.cancel();
  if (ec) {
    const std::string why =
        connect_timed_out_
            ? "timed out after " + std::to_string(to_ms(options_.connect_timeout)) + " ms"
            : ec.message();
    PONTOON_LOG(kDebug) << "cannot connect to " << name_ << ": " << why;
    outbox_.clear();
    enter_backoff();
    fail_all(Status::Unavailable("cannot connect to " + name_ + ": " + why));
    return;
  }
  boost::system::error_code ignored;
  socket->set_option(tcp::no_delay(true), ignored);
  Connection::Limits limits;
  limits.max_frame_bytes = options_.max_frame_bytes;
  // Requests queued here are bounded by max_pending_bytes_per_endpoint, plus framing.
  limits.max_write_queue_bytes =
      std::max(options_.max_pending_bytes_per_endpoint, options_.max_frame_bytes) +
      options_.max_pending_calls_per_endpoint * kFrameHeaderBytes;
  connection_ =
      std::make_shared<Connection>(std::move(*socket), "rpc client connection to " + name_, limits);
  state_ = State::kConnected;
  std::weak_ptr<RpcChannel> weak_self = weak_from_this();
  connection_->start(
      [weak_self](const std::shared_ptr<Connection>& c, Frame frame) {
        if (auto self = weak_self.lock()) self->on_frame(c, std::move(frame));
      },
      [weak_self](const std::shared_ptr<Connection>& c, const Status& reason) {
        if (auto self = weak_self.lock()) self->on_close(c, reason);
      });
  // A call that timed out while we connected need not be sent.
  prune_outbox();
  std::deque<std::pair<uint64_t, EncodedFrame>> waiting;
  waiting.swap(outbox_);
  for (auto& [request_id, frame] : waiting) connection_->send(std::move(frame));
  std::lock_guard<std::mutex> lock(mu_);
  live_connection_ = connection_;
}

void RpcChannel::enter_backoff() {
  PONTOON_CHECK(connection_ == nullptr);
  PONTOON_CHECK(connecting_ == nullptr);
  state_ = State::kBackoff;
  backoff_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, options_.max_reconnect_backoff);
  backoff_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kBackoff) return;
    if (self->outbox_.empty()) {
      self->state_ = State::kIdle;
    } else {
      self->connect();
    }
  });
}

void RpcChannel::on_frame(const std::shared_ptr<Connection>& connection, Frame frame) {
  if (frame.kind != FrameKind::kResponse) {
    connection->close(Status::Corruption("unexpected request frame on a client connection"),
                      /*protocol_error=*/true);
    return;
  }
  // The endpoint answers: the next failure starts backing off from the minimum again.
  backoff_ = options_.min_reconnect_backoff;
  const uint64_t request_id = frame.request_id;
  bool found = false;
  if (frame.is_error()) {
    found = complete(request_id, decode_rpc_error(frame.body), std::string());
  } else {
    found = complete(request_id, Status::OK(), std::move(frame.body));
  }
  if (!found) {
    PONTOON_LOG(kDebug) << "response from " << name_ << " to call " << request_id
                        << " arrived after the call completed";
  }
}

void RpcChannel::on_close(const std::shared_ptr<Connection>& connection, const Status& reason) {
  if (connection != connection_) return;
  connection_.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_connection_.reset();
  }
  PONTOON_LOG(kInfo) << "connection to " << name_ << " lost: " << reason;
  enter_backoff();
  fail_all(
      Status::Unavailable("connection to " + name_ + " lost: " + std::string(reason.message())));
}

bool RpcChannel::complete(uint64_t request_id, const Status& status, std::string body) {
  PendingCall call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(request_id);
    if (it == pending_.end()) return false;
    call = std::move(it->second);
    pending_.erase(it);
    PONTOON_CHECK(pending_bytes_ >= call.request_bytes);
    pending_bytes_ -= call.request_bytes;
  }
  call.done(status, std::move(body));
  return true;
}

void RpcChannel::fail_all(const Status& status) {
  std::map<uint64_t, PendingCall> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls.swap(pending_);
    pending_bytes_ = 0;
  }
  // In request-id order, i.e. the order the calls were made.
  for (auto& [request_id, call] : calls) call.done(status, std::string());
}

void RpcChannel::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    live_connection_.reset();
  }
  // No pool thread runs any more, so strand state may be touched from here.
  boost::system::error_code ignored;
  if (std::shared_ptr<Connection> connection = std::move(connection_)) {
    connection->close(Status::Shutdown("rpc client is shut down"), /*protocol_error=*/false);
  }
  if (connecting_ != nullptr) {
    connecting_->close(ignored);
    connecting_.reset();
  }
  connect_timer_.cancel();
  backoff_timer_.cancel();
  sweep_timer_.cancel();
  outbox_.clear();
  state_ = State::kIdle;
  fail_all(Status::Shutdown("rpc client is shut down"));
}

}  // namespace raft::rpc
