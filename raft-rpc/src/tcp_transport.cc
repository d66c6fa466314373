#include "raft/rpc/tcp_transport.h"

#include "raft/check.h"
#include "raft/executor.h"
#include "raft/logging.h"
#include "raft/rpc/method_ids.h"
#include "raft/rpc/raft_codec.h"

namespace raft::rpc {
namespace {

constexpr size_t kMaxIoThreads = 256;

// The reply when no replica matches; names the group so the caller's logs say what is wrong.
Status no_such_replica(const GroupId& group_id, const PeerId& peer, const std::string& here) {
  return Status::NotFound("no replica of group '" + group_id + "' with peer id " +
                          peer.to_string() + " is registered at " + here);
}

bool is_raft_method(uint32_t method_id) {
  return method_id == method::kRequestVote || method_id == method::kAppendEntries ||
         method_id == method::kInstallSnapshot || method_id == method::kGetFile ||
         method_id == method::kTimeoutNow || method_id == method::kReadIndex;
}

}  // namespace

Status TcpTransportOptions::validate() const {
  if (io_threads < 1 || io_threads > kMaxIoThreads) {
    return Status::InvalidArgument("io_threads must be in [1, " + std::to_string(kMaxIoThreads) +
                                   "], got " + std::to_string(io_threads));
  }
  if (Status s = server.validate(); !s.ok()) {
    return Status::InvalidArgument("server." + std::string(s.message()));
  }
  if (Status s = client.validate(); !s.ok()) {
    return Status::InvalidArgument("client." + std::string(s.message()));
  }
  return Status::OK();
}

bool TcpTransport::Registration::enter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  ++active_calls_;
  return true;
}

void TcpTransport::Registration::leave() {
  std::lock_guard<std::mutex> lock(mu_);
  PONTOON_CHECK(active_calls_ > 0);
  if (--active_calls_ == 0 && closed_) idle_.notify_all();
}

void TcpTransport::Registration::close_and_wait() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  idle_.wait(lock, [this] { return active_calls_ == 0; });
}

TcpTransport::TcpTransport(std::string listen_endpoint, TcpTransportOptions options)
    : listen_endpoint_(std::move(listen_endpoint)), options_(std::move(options)) {}

TcpTransport::~TcpTransport() { shutdown(); }

Status TcpTransport::start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (state_.load() != State::kNew) {
    return Status::InvalidArgument("transport for " + listen_endpoint_ + " was already started");
  }
  if (Status s = options_.validate(); !s.ok()) return s;
  auto pool = std::make_unique<IoContextPool>(options_.io_threads, "pontoon-io");
  auto server = std::make_unique<RpcServer>(pool.get(), options_.server);
  register_raft_method(server.get(), method::kRequestVote, &RaftService::handle_request_vote);
  register_raft_method(server.get(), method::kAppendEntries, &RaftService::handle_append_entries);
  register_raft_method(server.get(), method::kInstallSnapshot,
                       &RaftService::handle_install_snapshot);
  register_raft_method(server.get(), method::kGetFile, &RaftService::handle_get_file);
  register_raft_method(server.get(), method::kTimeoutNow, &RaftService::handle_timeout_now);
  register_raft_method(server.get(), method::kReadIndex, &RaftService::handle_read_index);
  for (auto& [method_id, handler] : extra_methods_) {
    if (Status s = server->register_method(method_id, handler); !s.ok()) return s;
  }
  if (Status s = server->start(listen_endpoint_); !s.ok()) return s;
  pool_ = std::move(pool);
  server_ = std::move(server);
  client_ = std::make_unique<RpcClient>(pool_.get(), options_.client);
  pool_->start();
  state_.store(State::kRunning);
  return Status::OK();
}

Status TcpTransport::register_method(uint32_t method_id, RpcServer::Handler handler) {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (state_.load() != State::kNew) {
    return Status::InvalidArgument("methods must be registered before the transport starts");
  }
  if (is_raft_method(method_id) || extra_methods_.count(method_id) > 0) {
    return Status::InvalidArgument("method id " + std::to_string(method_id) +
                                   " is already registered");
  }
  extra_methods_.emplace(method_id, std::move(handler));
  return Status::OK();
}

void TcpTransport::shutdown() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  const State previous = state_.exchange(State::kShutdown);
  if (previous != State::kRunning) return;
  // Threads first: afterwards no handler runs, so the server and the client may close their
  // sockets and fail their calls from this thread.
  pool_->stop();
  server_->stop();
  client_->shutdown();
  PONTOON_LOG(kInfo) << "transport " << listen_address() << " shut down";
}

uint16_t TcpTransport::listen_port() const {
  PONTOON_CHECK(server_ != nullptr);
  return server_->port();
}

std::string TcpTransport::listen_address() const {
  const size_t colon = listen_endpoint_.rfind(':');
  return listen_endpoint_.substr(0, colon) + ":" + std::to_string(listen_port());
}

const RpcServer& TcpTransport::rpc_server() const {
  PONTOON_CHECK(server_ != nullptr);
  return *server_;
}

Status TcpTransport::register_service(const GroupId& group_id, const PeerId& self,
                                      RaftService* service) {
  PONTOON_CHECK(service != nullptr);
  if (group_id.empty()) return Status::InvalidArgument("empty group id");
  if (self.empty()) return Status::InvalidArgument("empty peer id");
  std::lock_guard<std::mutex> lock(routes_mu_);
  auto [it, inserted] =
      routes_.emplace(RouteKey(group_id, self), std::make_shared<Registration>(service));
  if (!inserted) {
    return Status::InvalidArgument("group '" + group_id + "' peer " + self.to_string() +
                                   " is already registered");
  }
  return Status::OK();
}

void TcpTransport::unregister_service(const GroupId& group_id, const PeerId& self) {
  std::shared_ptr<Registration> registration;
  {
    std::lock_guard<std::mutex> lock(routes_mu_);
    auto it = routes_.find(RouteKey(group_id, self));
    if (it == routes_.end()) return;
    registration = std::move(it->second);
    routes_.erase(it);
  }
  // Outside routes_mu_: a call in progress for this service must not block the others.
  registration->close_and_wait();
}

std::shared_ptr<TcpTransport::Registration> TcpTransport::find_registration(
    const GroupId& group_id, const PeerId& peer) const {
  std::lock_guard<std::mutex> lock(routes_mu_);
  auto it = routes_.find(RouteKey(group_id, peer));
  return it == routes_.end() ? nullptr : it->second;
}

template <typename Request, typename Response>
void TcpTransport::register_raft_method(RpcServer* server, uint32_t method_id,
                                        void (RaftService::*handle)(const Request&,
                                                                    RpcCallback<Response>)) {
  // The server is new and holds only Raft's methods yet, so the id cannot be taken.
  PONTOON_CHECK(
      server
          ->register_method(method_id,
                            [this, handle](const std::string& body, RpcServer::Responder respond) {
                              serve(body, std::move(respond), handle);
                            })
          .ok());
}

template <typename Request, typename Response>
void TcpTransport::serve(const std::string& request_body, RpcServer::Responder respond,
                         void (RaftService::*handle)(const Request&, RpcCallback<Response>)) {
  Request request;
  if (Status s = decode(request_body, &request); !s.ok()) {
    PONTOON_LOG(kWarn) << "transport " << listen_address() << ": rejected request: " << s;
    respond(s, std::string());
    return;
  }
  std::shared_ptr<Registration> registration = find_registration(request.group_id, request.peer_id);
  if (registration == nullptr || !registration->enter()) {
    respond(no_such_replica(request.group_id, request.peer_id, listen_address()), std::string());
    return;
  }
  // This IO thread holds no lock here: the service may run the handler on it (executor.h).
  raft::InlineDispatchScope inline_dispatch;
  (registration->service()->*handle)(
      request, [respond = std::move(respond)](const Status& status, const Response& response) {
        respond(status, status.ok() ? encode(response) : std::string());
      });
  registration->leave();
}

template <typename Request, typename Response>
void TcpTransport::send(uint32_t method_id, const Request& request, Duration timeout,
                        RpcCallback<Response> done) {
  PONTOON_CHECK(done != nullptr);
  if (state_.load() != State::kRunning) {
    done(Status::Shutdown("transport for " + listen_endpoint_ + " is not running"), Response{});
    return;
  }
  if (request.peer_id.empty()) {
    done(Status::InvalidArgument("request has no peer_id"), Response{});
    return;
  }
  client_->call(request.peer_id.endpoint(), method_id, encode(request), timeout,
                [done = std::move(done)](const Status& status, std::string body) {
                  if (!status.ok()) {
                    done(status, Response{});
                    return;
                  }
                  Response response;
                  if (Status s = decode(body, &response); !s.ok()) {
                    done(s, Response{});
                    return;
                  }
                  // Called without locks (rpc_client.h): the caller's lane may run it here.
                  raft::InlineDispatchScope inline_dispatch;
                  done(Status::OK(), response);
                });
}

void TcpTransport::request_vote(const RequestVoteRequest& request, Duration timeout,
                                RpcCallback<RequestVoteResponse> done) {
  send(method::kRequestVote, request, timeout, std::move(done));
}

void TcpTransport::append_entries(const AppendEntriesRequest& request, Duration timeout,
                                  RpcCallback<AppendEntriesResponse> done) {
  send(method::kAppendEntries, request, timeout, std::move(done));
}

void TcpTransport::install_snapshot(const InstallSnapshotRequest& request, Duration timeout,
                                    RpcCallback<InstallSnapshotResponse> done) {
  send(method::kInstallSnapshot, request, timeout, std::move(done));
}

void TcpTransport::get_file(const GetFileRequest& request, Duration timeout,
                            RpcCallback<GetFileResponse> done) {
  send(method::kGetFile, request, timeout, std::move(done));
}

void TcpTransport::timeout_now(const TimeoutNowRequest& request, Duration timeout,
                               RpcCallback<TimeoutNowResponse> done) {
  send(method::kTimeoutNow, request, timeout, std::move(done));
}

void TcpTransport::read_index(const ReadIndexRequest& request, Duration timeout,
                              RpcCallback<ReadIndexResponse> done) {
  send(method::kReadIndex, request, timeout, std::move(done));
}

}  // namespace raft::rpc
