#include "raft/rpc/rpc_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "connection.h"
#include "endpoint.h"
#include "raft/check.h"
#include "raft/executor.h"
#include "raft/logging.h"
#include "rpc_error.h"

namespace raft::rpc {
namespace {

using boost::asio::ip::tcp;

// After a failed accept (typically EMFILE) wait before the next one rather than spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

// Encodes a response frame for (method_id, request_id): the body if `status` is OK, else the
// status as an error. A response too large for max_frame_bytes becomes an EIO error, which
// always fits.
EncodedFrame encode_response(uint32_t method_id, uint64_t request_id, const Status& status,
                             std::string body, uint64_t max_frame_bytes) {
  Frame frame;
  frame.kind = FrameKind::kResponse;
  frame.method_id = method_id;
  frame.request_id = request_id;
  if (status.ok()) {
    frame.body = std::move(body);
  } else {
    frame.flags = kFrameFlagError;
    frame.body = encode_rpc_error(status);
  }
  Result<EncodedFrame> encoded = encode_frame_parts(std::move(frame), max_frame_bytes);
  if (encoded.ok()) return std::move(encoded).value();
  PONTOON_LOG(kWarn) << "response to method " << method_id << " dropped: " << encoded.status();
  frame.flags = kFrameFlagError;
  frame.body = encode_rpc_error(Status::IoError(encoded.status().message()));
  encoded = encode_frame_parts(std::move(frame), max_frame_bytes);
  PONTOON_CHECK(encoded.ok());
  return std::move(encoded).value();
}

// The state behind a Responder: which request it answers, and whether it has.
class ResponseSlot {
 public:
  ResponseSlot(std::weak_ptr<Connection> connection, uint32_t method_id, uint64_t request_id,
               uint64_t max_frame_bytes)
      : connection_(std::move(connection)),
        method_id_(method_id),
        request_id_(request_id),
        max_frame_bytes_(max_frame_bytes) {}

  ~ResponseSlot() {
    if (!responded_.load(std::memory_order_acquire)) {
      respond(Status::IoError("the handler of method " + std::to_string(method_id_) +
                              " dropped the request without responding"),
              std::string());
    }
  }

  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  void respond(const Status& status, std::string body) {
    PONTOON_CHECK_MSG(!responded_.exchange(true, std::memory_order_acq_rel),
                      "an RPC handler responded twice to one request");
    std::shared_ptr<Connection> connection = connection_.lock();
    if (connection == nullptr) return;  // The client is gone; nobody to answer.
    PONTOON_CHECK(connection->unanswered_requests().fetch_sub(1) >= 1);
    connection->send(
        encode_response(method_id_, request_id_, status, std::move(body), max_frame_bytes_));
  }

 private:
  const std::weak_ptr<Connection> connection_;
  const uint32_t method_id_;
  const uint64_t request_id_;
  const uint64_t max_frame_bytes_;
  std::atomic<bool> responded_{false};
};

}  // namespace

Status RpcServerOptions::validate() const {
  if (Status s = validate_max_frame_bytes(max_frame_bytes, "max_frame_bytes"); !s.ok()) return s;
  if (max_connections < 1) return Status::InvalidArgument("max_connections must be >= 1");
  if (max_unanswered_requests_per_connection < 1) {
    return Status::InvalidArgument("max_unanswered_requests_per_connection must be >= 1");
  }
  if (max_write_queue_bytes < max_frame_bytes) {
    return Status::InvalidArgument("max_write_queue_bytes must be >= max_frame_bytes");
  }
  return Status::OK();
}

struct RpcServer::Impl {
  Impl(IoContextPool* p, RpcServerOptions o)
      : pool(p), options(o), acceptor(p->context()), accept_retry_timer(p->context()) {}

  void do_accept();
  void on_accept(const boost::system::error_code& ec, const std::shared_ptr<tcp::socket>& socket);
  void on_frame(const std::shared_ptr<Connection>& connection, Frame frame);
  void on_close(const std::shared_ptr<Connection>& connection);
  void reply_error(Connection& connection, const Frame& request, const Status& status) const;

  IoContextPool* const pool;
  const RpcServerOptions options;

  // Written before start() and read-only afterwards, so handlers read them without a lock.
  std::unordered_map<uint32_t, Handler> handlers;
  std::string listen_name;
  uint16_t port = 0;
  bool started = false;

  // Touched by the accept handler (one accept is outstanding at a time, so never
  // concurrently) and by stop() once the pool has stopped.
  tcp::acceptor acceptor;
  boost::asio::steady_timer accept_retry_timer;

  std::atomic<uint64_t> accepted{0};

  mutable std::mutex mu;
  bool stopped = false;                                         // Guarded by mu.
  std::unordered_set<std::shared_ptr<Connection>> connections;  // Guarded by mu.
};

void RpcServer::Impl::do_accept() {
  // A fresh strand per connection, on the pool's threads in turn: its handlers are serialised,
  // different connections' handlers run in parallel.
  auto socket = std::make_shared<tcp::socket>(boost::asio::make_strand(pool->next_context()));
  acceptor.async_accept(
      *socket, [this, socket](const boost::system::error_code& ec) { on_accept(ec, socket); });
}

void RpcServer::Impl::on_accept(const boost::system::error_code& ec,
                                const std::shared_ptr<tcp::socket>& socket) {
  if (ec == boost::asio::error::operation_aborted) return;  // stop() closed the acceptor.
  if (ec) {
    PONTOON_LOG(kWarn) << "rpc server " << listen_name << ": accept failed: " << ec.message();
    accept_retry_timer.expires_after(kAcceptRetryDelay);
    accept_retry_timer.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec) do_accept();
    });
    return;
  }
  accepted.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code peer_ec;
  const tcp::endpoint peer = socket->remote_endpoint(peer_ec);
  const std::string peer_name = peer_ec ? std::string("unknown peer") : endpoint_to_string(peer);
  boost::system::error_code ignored;
  socket->set_option(tcp::no_delay(true), ignored);

  // Taken before the socket is moved into its Connection: a moved-from socket has no executor.
  const boost::asio::any_io_executor strand = socket->get_executor();
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (connections.size() >= options.max_connections) {
      PONTOON_LOG(kWarn) << "rpc server " << listen_name << ": refusing connection from "
                         << peer_name << ": max_connections " << options.max_connections
                         << " reached";
      socket->close(ignored);
    } else {
      Connection::Limits limits;
      limits.max_frame_bytes = options.max_frame_bytes;
      limits.max_write_queue_bytes = options.max_write_queue_bytes;
      connection = std::make_shared<Connection>(
          std::move(*socket), "rpc server " + listen_name + " connection from " + peer_name,
          limits);
      connections.insert(connection);
    }
  }
  if (connection != nullptr) {
    // start() must run on the connection's strand like everything else it does.
    boost::asio::post(strand, [this, connection] {
      connection->start(
          [this](const std::shared_ptr<Connection>& c, Frame frame) {
            on_frame(c, std::move(frame));
          },
          [this](const std::shared_ptr<Connection>& c, const Status&) { on_close(c); });
    });
  }
  do_accept();
}

void RpcServer::Impl::reply_error(Connection& connection, const Frame& request,
                                  const Status& status) const {
  connection.send(encode_response(request.method_id, request.request_id, status, std::string(),
                                  options.max_frame_bytes));
}

void RpcServer::Impl::on_frame(const std::shared_ptr<Connection>& connection, Frame frame) {
  if (frame.kind != FrameKind::kRequest) {
    connection->close(Status::Corruption("unexpected response frame on a server connection"),
                      /*protocol_error=*/true);
    return;
  }
  auto it = handlers.find(frame.method_id);
  if (it == handlers.end()) {
    reply_error(*connection, frame,
                Status::NotFound("unknown method id " + std::to_string(frame.method_id)));
    return;
  }
  std::atomic<uint64_t>& unanswered = connection->unanswered_requests();
  if (unanswered.load() >= options.max_unanswered_requests_per_connection) {
    reply_error(*connection, frame,
                Status::Busy("too many unanswered requests on this connection (max " +
                             std::to_string(options.max_unanswered_requests_per_connection) + ")"));
    return;
  }
  unanswered.fetch_add(1);
  auto slot = std::make_shared<ResponseSlot>(connection, frame.method_id, frame.request_id,
                                             options.max_frame_bytes);
  // This IO thread holds no lock here: lanes the handler dispatches to may run on it
  // (executor.h), saving a worker's wake-up on the request's path.
  raft::InlineDispatchScope inline_dispatch;
  it->second(frame.body, [slot](const Status& status, std::string body) {
    slot->respond(status, std::move(body));
  });
}

void RpcServer::Impl::on_close(const std::shared_ptr<Connection>& connection) {
  std::lock_guard<std::mutex> lock(mu);
  connections.erase(connection);
}

RpcServer::RpcServer(IoContextPool* pool, RpcServerOptions options) {
  PONTOON_CHECK(pool != nullptr);
  PONTOON_CHECK_MSG(options.validate().ok(), "invalid RpcServerOptions");
  impl_ = std::make_unique<Impl>(pool, options);
}

RpcServer::~RpcServer() { stop(); }

Status RpcServer::register_method(uint32_t method_id, Handler handler) {
  PONTOON_CHECK_MSG(!impl_->started, "register_method() after start()");
  PONTOON_CHECK(handler != nullptr);
  if (!impl_->handlers.emplace(method_id, std::move(handler)).second) {
    return Status::InvalidArgument("method id " + std::to_string(method_id) +
                                   " already has a handler");
  }
  return Status::OK();
}

Status RpcServer::start(std::string_view endpoint) {
  PONTOON_CHECK_MSG(!impl_->started, "RpcServer::start() called twice");
  Result<tcp::endpoint> parsed = parse_endpoint(endpoint);
  if (!parsed.ok()) return parsed.status();
  tcp::acceptor& acceptor = impl_->acceptor;
  boost::system::error_code ec;
  auto fail = [&](std::string_view step) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Status::IoError("cannot listen on " + std::string(endpoint) + ": " + std::string(step) +
                           ": " + ec.message());
  };
  if (acceptor.open(parsed->protocol(), ec); ec) return fail("open");
  // A restarted server must be able to bind while old connections sit in TIME_WAIT.
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail("setsockopt");
  if (acceptor.bind(*parsed, ec); ec) return fail("bind");
  if (acceptor.listen(boost::asio::socket_base::max_listen_connections, ec); ec) {
    return fail("listen");
  }
  const tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");
  impl_->port = bound.port();
  impl_->listen_name = endpoint_to_string(bound);
  impl_->started = true;
  PONTOON_LOG(kInfo) << "rpc server listening on " << impl_->listen_name;
  impl_->do_accept();
  return Status::OK();
}

uint16_t RpcServer::port() const {
  PONTOON_CHECK(impl_->started);
  return impl_->port;
}

void RpcServer::stop() {
  PONTOON_CHECK_MSG(!impl_->pool->running(),
                    "RpcServer::stop() requires its IoContextPool to be stopped");
  std::unordered_set<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    connections.swap(impl_->connections);
  }
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->accept_retry_timer.cancel();
  for (const std::shared_ptr<Connection>& connection : connections) {
    connection->close(Status::Shutdown("server stopped"), /*protocol_error=*/false);
  }
}

uint64_t RpcServer::accepted_connections() const {
  return impl_->accepted.load(std::memory_order_relaxed);
}

size_t RpcServer::open_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections.size();
}

}  // namespace raft::rpc
