// Shared by the TcpTransport tests: a recording RaftService, a call outcome that can be
// waited for with a deadline, a raw socket to play a misbehaving peer, and two started
// transports. Every wait is on a condition with a deadline; nothing sleeps.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include "support/temp_dir.h"

#include "raft/rpc/frame.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/method_ids.h"
#include "raft/rpc/rpc_client.h"
#include "raft/rpc/rpc_server.h"
#include "raft/rpc/tcp_transport.h"

namespace raft::rpc::tcp_test {

using namespace std::chrono_literals;

inline constexpr auto kDeadline = 10s;
inline constexpr auto kLongTimeout = std::chrono::duration_cast<Duration>(10s);

// Collects the outcome of one call and counts how often its callback ran.
// Always held by shared_ptr: the callback keeps it alive however late it runs.
template <typename Response>
class Outcome : public std::enable_shared_from_this<Outcome<Response>> {
 public:
  RpcCallback<Response> callback() {
    return [self = this->shared_from_this()](const Status& status, const Response& response) {
      std::lock_guard<std::mutex> lock(self->mu_);
      ++self->calls_;
      self->status_ = status;
      self->response_ = response;
      self->cv_.notify_all();
    };
  }
  // True once the callback ran, false at the deadline.
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [this] { return calls_ > 0; });
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  Response response() {
    std::lock_guard<std::mutex> lock(mu_);
    return response_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  Status status_;
  Response response_;
};

// A RaftService that records what it receives. By default it answers at once: a vote is
// granted iff the term is even; an append succeeds and reports the last index it carried; an
// InstallSnapshot succeeds; a GetFile gets the chunk set with set_file_chunk.
// With hold(true) it keeps the `done` callbacks for the test to answer (or drop) later.
class FakeService : public RaftService {
 public:
  void handle_request_vote(const RequestVoteRequest& request,
                           RpcCallback<RequestVoteResponse> done) override {
    std::unique_lock<std::mutex> lock(mu_);
    votes_.push_back(request);
    cv_.notify_all();
    if (holding_) {
      held_votes_.push_back(std::move(done));
      return;
    }
    lock.unlock();
    done(Status::OK(), RequestVoteResponse{request.term, request.term.value() % 2 == 0});
  }

  void handle_append_entries(const AppendEntriesRequest& request,
                             RpcCallback<AppendEntriesResponse> done) override {
    std::unique_lock<std::mutex> lock(mu_);
    appends_.push_back(request);
    cv_.notify_all();
    if (on_append_) {
      auto hook = on_append_;
      lock.unlock();
      hook(request, std::move(done));
      return;
    }
    if (holding_) {
      held_appends_.emplace_back(request, std::move(done));
      return;
    }
    lock.unlock();
    done(Status::OK(), answer(request));
  }

  void handle_install_snapshot(const InstallSnapshotRequest& request,
                               RpcCallback<InstallSnapshotResponse> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      installs_.push_back(request);
    }
    done(Status::OK(), InstallSnapshotResponse{request.term, true});
  }

  void handle_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done) override {
    GetFileResponse chunk;
    {
      std::lock_guard<std::mutex> lock(mu_);
      file_requests_.push_back(request);
      chunk = file_chunk_;
    }
    done(Status::OK(), chunk);
  }

  // Answers success with the request's term + 1 (the election it would start).
  void handle_timeout_now(const TimeoutNowRequest& request,
                          RpcCallback<TimeoutNowResponse> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      timeout_nows_.push_back(request);
    }
    done(Status::OK(), TimeoutNowResponse{request.term + 1, true});
  }

  // Answers EAGAIN for group "again", else index 99: both kinds of answer cross the wire.
  void handle_read_index(const ReadIndexRequest& request,
                         RpcCallback<ReadIndexResponse> done) override {
    if (request.group_id == "again") {
      done(Status::Again("no entry of this term committed yet"), {});
      return;
    }
    done(Status::OK(), ReadIndexResponse{LogIndex(99)});
  }

  std::vector<TimeoutNowRequest> timeout_nows() {
    std::lock_guard<std::mutex> lock(mu_);
    return timeout_nows_;
  }

  static AppendEntriesResponse answer(const AppendEntriesRequest& request) {
    AppendEntriesResponse response;
    response.term = request.term;
    response.success = true;
    response.last_log_index =
        request.prev_log_id.index + static_cast<int64_t>(request.entries.size());
    return response;
  }

  void hold(bool holding) {
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = holding;
  }
  void set_append_hook(
      std::function<void(const AppendEntriesRequest&, RpcCallback<AppendEntriesResponse>)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_append_ = std::move(hook);
  }

  // What every GetFile is answered with.
  void set_file_chunk(GetFileResponse chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    file_chunk_ = std::move(chunk);
  }

  bool wait_for_requests(size_t votes, size_t appends) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline,
                        [&] { return votes_.size() >= votes && appends_.size() >= appends; });
  }

  std::vector<RequestVoteRequest> votes() {
    std::lock_guard<std::mutex> lock(mu_);
    return votes_;
  }
  std::vector<AppendEntriesRequest> appends() {
    std::lock_guard<std::mutex> lock(mu_);
    return appends_;
  }
  std::vector<InstallSnapshotRequest> installs() {
    std::lock_guard<std::mutex> lock(mu_);
    return installs_;
  }
  std::vector<GetFileRequest> file_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return file_requests_;
  }
  std::vector<std::pair<AppendEntriesRequest, RpcCallback<AppendEntriesResponse>>>
  take_held_appends() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(held_appends_);
  }
  std::vector<RpcCallback<RequestVoteResponse>> take_held_votes() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(held_votes_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool holding_ = false;
  std::function<void(const AppendEntriesRequest&, RpcCallback<AppendEntriesResponse>)> on_append_;
  std::vector<RequestVoteRequest> votes_;
  std::vector<AppendEntriesRequest> appends_;
  std::vector<InstallSnapshotRequest> installs_;
  std::vector<GetFileRequest> file_requests_;
  std::vector<TimeoutNowRequest> timeout_nows_;
  GetFileResponse file_chunk_;
  std::vector<RpcCallback<RequestVoteResponse>> held_votes_;
  std::vector<std::pair<AppendEntriesRequest, RpcCallback<AppendEntriesResponse>>> held_appends_;
};

inline std::unique_ptr<TcpTransport> start_transport(const std::string& endpoint = "127.0.0.1:0",
                                                     TcpTransportOptions options = {}) {
  auto transport = std::make_unique<TcpTransport>(endpoint, options);
  Status status = transport->start();
  REQUIRE(status.ok());
  return transport;
}

inline PeerId peer_of(const TcpTransport& transport, int32_t index = 0) {
  return PeerId("127.0.0.1", transport.listen_port(), index);
}

inline RequestVoteRequest vote_request(const GroupId& group, const PeerId& from, const PeerId& to,
                                       int64_t term) {
  RequestVoteRequest request;
  request.group_id = group;
  request.server_id = from;
  request.peer_id = to;
  request.term = Term(term);
  request.last_log_id = LogId{LogIndex(4), Term(2)};
  return request;
}

inline AppendEntriesRequest append_request(const GroupId& group, const PeerId& from,
                                           const PeerId& to, int64_t term, int64_t prev_index,
                                           int entries) {
  AppendEntriesRequest request;
  request.group_id = group;
  request.server_id = from;
  request.peer_id = to;
  request.term = Term(term);
  request.prev_log_id = LogId{LogIndex(prev_index), Term(term)};
  request.committed_index = LogIndex(prev_index);
  for (int i = 1; i <= entries; ++i) {
    request.entries.push_back(make_entry(EntryType::kData, LogIndex(prev_index + i), Term(term),
                                         "entry-" + std::to_string(prev_index + i)));
  }
  return request;
}

inline uint16_t unused_port() { return raft::testing::pick_free_port(); }

// A plain blocking socket, to play a misbehaving peer.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(std::string_view bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }
  // True if the peer closes the connection before the deadline. Anything the peer sends
  // before closing is returned in `*received`.
  bool wait_closed_by_peer(std::string* received = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    char buffer[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return true;  // EOF or reset.
      if (received != nullptr) received->append(buffer, static_cast<size_t>(n));
    }
    return false;
  }

 private:
  int fd_;
};

inline std::string frame_bytes(FrameKind kind, uint32_t method_id, uint64_t request_id,
                               std::string body) {
  Frame frame;
  frame.kind = kind;
  frame.method_id = method_id;
  frame.request_id = request_id;
  frame.body = std::move(body);
  Result<std::string> encoded = encode_frame(frame, kDefaultMaxFrameBytes);
  REQUIRE(encoded.ok());
  return std::move(encoded).value();
}

// Stops a pool when it goes out of scope; declared after the server and client that use the
// pool, so that it runs before their destructors (which require a stopped pool), even when a
// REQUIRE leaves the test early.
struct PoolStopper {
  IoContextPool& pool;
  ~PoolStopper() { pool.stop(); }
};

// Two transports, `a` calling `b`, with a FakeService registered on `b` for group "g1".
struct Pair {
  explicit Pair(TcpTransportOptions options = {}) {
    a = start_transport("127.0.0.1:0", options);
    b = start_transport("127.0.0.1:0", options);
    a_id = peer_of(*a);
    b_id = peer_of(*b);
    REQUIRE(b->register_service("g1", b_id, &service).ok());
  }
  ~Pair() {
    a->shutdown();
    b->shutdown();
  }
  FakeService service;
  std::unique_ptr<TcpTransport> a;
  std::unique_ptr<TcpTransport> b;
  PeerId a_id;
  PeerId b_id;
};

inline bool vote_succeeds(TcpTransport& from, const PeerId& from_id, const PeerId& to) {
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  from.request_vote(vote_request("g1", from_id, to, 2), std::chrono::duration_cast<Duration>(2s),
                    outcome->callback());
  REQUIRE(outcome->wait());
  return outcome->status().ok() && outcome->response().granted;
}

}  // namespace raft::rpc::tcp_test
