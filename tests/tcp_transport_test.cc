// TcpTransport (and the RpcServer/RpcClient it is built on) over real sockets on 127.0.0.1.
// Every wait is on a condition with a deadline; nothing sleeps.
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

using namespace raft;
using namespace raft::rpc;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 10s;
constexpr auto kLongTimeout = std::chrono::duration_cast<Duration>(10s);

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

std::unique_ptr<TcpTransport> start_transport(const std::string& endpoint = "127.0.0.1:0",
                                              TcpTransportOptions options = {}) {
  auto transport = std::make_unique<TcpTransport>(endpoint, options);
  Status status = transport->start();
  REQUIRE(status.ok());
  return transport;
}

PeerId peer_of(const TcpTransport& transport, int32_t index = 0) {
  return PeerId("127.0.0.1", transport.listen_port(), index);
}

RequestVoteRequest vote_request(const GroupId& group, const PeerId& from, const PeerId& to,
                                int64_t term) {
  RequestVoteRequest request;
  request.group_id = group;
  request.server_id = from;
  request.peer_id = to;
  request.term = Term(term);
  request.last_log_id = LogId{LogIndex(4), Term(2)};
  return request;
}

AppendEntriesRequest append_request(const GroupId& group, const PeerId& from, const PeerId& to,
                                    int64_t term, int64_t prev_index, int entries) {
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

uint16_t unused_port() { return raft::testing::pick_free_port(); }

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

std::string frame_bytes(FrameKind kind, uint32_t method_id, uint64_t request_id, std::string body) {
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

bool vote_succeeds(TcpTransport& from, const PeerId& from_id, const PeerId& to) {
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  from.request_vote(vote_request("g1", from_id, to, 2), std::chrono::duration_cast<Duration>(2s),
                    outcome->callback());
  REQUIRE(outcome->wait());
  return outcome->status().ok() && outcome->response().granted;
}

}  // namespace

TEST_CASE("request_vote round-trips between two transports", "[tcp_transport]") {
  Pair pair;
  RequestVoteRequest request = vote_request("g1", pair.a_id, pair.b_id, 6);
  request.pre_vote = true;
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(request, kLongTimeout, outcome->callback());
  REQUIRE(outcome->wait());
  REQUIRE(outcome->status().ok());
  CHECK(outcome->response().term == Term(6));
  CHECK(outcome->response().granted);
  CHECK(outcome->calls() == 1);

  const std::vector<RequestVoteRequest> received = pair.service.votes();
  REQUIRE(received.size() == 1);
  CHECK(received[0].group_id == "g1");
  CHECK(received[0].server_id == pair.a_id);
  CHECK(received[0].peer_id == pair.b_id);
  CHECK(received[0].term == Term(6));
  CHECK(received[0].last_log_id == LogId{LogIndex(4), Term(2)});
  CHECK(received[0].pre_vote);
}

TEST_CASE("append_entries round-trips entries between two transports", "[tcp_transport]") {
  Pair pair;
  AppendEntriesRequest request = append_request("g1", pair.a_id, pair.b_id, 3, 10, 3);
  request.entries[1] = make_entry(EntryType::kConfiguration, LogIndex(12), Term(3), "conf");
  auto outcome = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(request, kLongTimeout, outcome->callback());
  REQUIRE(outcome->wait());
  REQUIRE(outcome->status().ok());
  CHECK(outcome->response().success);
  CHECK(outcome->response().term == Term(3));
  CHECK(outcome->response().last_log_index == LogIndex(13));

  const std::vector<AppendEntriesRequest> received = pair.service.appends();
  REQUIRE(received.size() == 1);
  CHECK(received[0].prev_log_id == request.prev_log_id);
  CHECK(received[0].committed_index == LogIndex(10));
  REQUIRE(received[0].entries.size() == 3);
  CHECK(received[0].entries[0]->data == "entry-11");
  CHECK(received[0].entries[1]->type == EntryType::kConfiguration);
  CHECK(received[0].entries[1]->data == "conf");
  CHECK(received[0].entries[2]->id == LogId{LogIndex(13), Term(3)});
}

TEST_CASE("install_snapshot and get_file reach the right group's service with every field",
          "[tcp_transport][snapshot]") {
  Pair pair;
  FakeService other_group;
  REQUIRE(pair.b->register_service("g2", pair.b_id, &other_group).ok());

  InstallSnapshotRequest install;
  install.group_id = "g2";
  install.server_id = pair.a_id;
  install.peer_id = pair.b_id;
  install.term = Term(7);
  install.meta.last_included = LogId{LogIndex(1000), Term(6)};
  install.meta.conf = Configuration({pair.a_id, pair.b_id, PeerId("127.0.0.1", 1, 3)});
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  install.files = {SnapshotFile{"data", kMiB, 0xdeadbeef}, SnapshotFile{"index.0", 0, 0},
                   SnapshotFile{"\x01 odd\tname", UINT64_MAX, UINT32_MAX}};
  install.reader_id = 0xfedcba9876543210ULL;
  auto installed = std::make_shared<Outcome<InstallSnapshotResponse>>();
  pair.a->install_snapshot(install, kLongTimeout, installed->callback());
  REQUIRE(installed->wait());
  REQUIRE(installed->status().ok());
  CHECK(installed->response().term == Term(7));
  CHECK(installed->response().success);

  const std::vector<InstallSnapshotRequest> received = other_group.installs();
  REQUIRE(received.size() == 1);
  CHECK(received[0].group_id == "g2");
  CHECK(received[0].server_id == pair.a_id);
  CHECK(received[0].peer_id == pair.b_id);
  CHECK(received[0].term == Term(7));
  CHECK(received[0].meta.last_included == install.meta.last_included);
  CHECK(received[0].meta.conf == install.meta.conf);
  REQUIRE(received[0].files.size() == install.files.size());
  for (size_t i = 0; i < install.files.size(); ++i) {
    INFO("file " << i);
    CHECK(received[0].files[i].name == install.files[i].name);
    CHECK(received[0].files[i].size == install.files[i].size);
    CHECK(received[0].files[i].crc32c == install.files[i].crc32c);
  }
  CHECK(received[0].reader_id == install.reader_id);

  // A 1 MiB chunk of every byte value, NUL included, comes back unchanged.
  std::string megabyte(kMiB, '\0');
  for (size_t i = 0; i < megabyte.size(); ++i) megabyte[i] = static_cast<char>(i * 31 % 256);
  other_group.set_file_chunk(GetFileResponse{megabyte, true});
  const GetFileRequest get{"g2", pair.a_id, pair.b_id, install.reader_id, "data", kMiB, kMiB};
  auto chunk = std::make_shared<Outcome<GetFileResponse>>();
  pair.a->get_file(get, kLongTimeout, chunk->callback());
  REQUIRE(chunk->wait());
  REQUIRE(chunk->status().ok());
  CHECK(chunk->response().data == megabyte);
  CHECK(chunk->response().eof);

  const std::vector<GetFileRequest> asked = other_group.file_requests();
  REQUIRE(asked.size() == 1);
  CHECK(asked[0].group_id == "g2");
  CHECK(asked[0].server_id == pair.a_id);
  CHECK(asked[0].peer_id == pair.b_id);
  CHECK(asked[0].reader_id == install.reader_id);
  CHECK(asked[0].file_name == "data");
  CHECK(asked[0].offset == kMiB);
  CHECK(asked[0].max_bytes == kMiB);

  // Short binary data and an empty, not-yet-final chunk keep their exact bytes and flag.
  for (const GetFileResponse& answer :
       {GetFileResponse{std::string("\0a\0\0b\0", 6), false}, GetFileResponse{"", false}}) {
    other_group.set_file_chunk(answer);
    auto small = std::make_shared<Outcome<GetFileResponse>>();
    pair.a->get_file(get, kLongTimeout, small->callback());
    REQUIRE(small->wait());
    REQUIRE(small->status().ok());
    CHECK(small->response().data == answer.data);
    CHECK_FALSE(small->response().eof);
  }

  CHECK(pair.service.installs().empty());
  CHECK(pair.service.file_requests().empty());
  pair.b->unregister_service("g2", pair.b_id);
}

TEST_CASE("a GetFile the receiver rejects fails with EINVAL and never reaches the service",
          "[tcp_transport][snapshot]") {
  Pair pair;
  auto outcome = std::make_shared<Outcome<GetFileResponse>>();
  pair.a->get_file(GetFileRequest{"g1", pair.a_id, pair.b_id, 1, "../escape", 0, 4096},
                   kLongTimeout, outcome->callback());
  REQUIRE(outcome->wait());
  CHECK(outcome->status().is_invalid_argument());
  CHECK(std::string(outcome->status().message()).find("file_name") != std::string::npos);

  auto unknown = std::make_shared<Outcome<InstallSnapshotResponse>>();
  InstallSnapshotRequest install;
  install.group_id = "no-such-group";
  install.server_id = pair.a_id;
  install.peer_id = pair.b_id;
  install.term = Term(1);
  install.meta.conf = Configuration({pair.a_id, pair.b_id});
  pair.a->install_snapshot(install, kLongTimeout, unknown->callback());
  REQUIRE(unknown->wait());
  CHECK(unknown->status().is_not_found());
  CHECK(pair.service.file_requests().empty());
  CHECK(pair.service.installs().empty());
}

TEST_CASE("one process routes requests to many groups and peers", "[tcp_transport]") {
  Pair pair;
  FakeService other_group;
  FakeService other_peer;
  const PeerId b_second = peer_of(*pair.b, 1);
  REQUIRE(pair.b->register_service("g2", pair.b_id, &other_group).ok());
  REQUIRE(pair.b->register_service("g1", b_second, &other_peer).ok());
  CHECK(pair.b->register_service("g1", pair.b_id, &other_peer).is_invalid_argument());

  auto to_g2 = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(vote_request("g2", pair.a_id, pair.b_id, 2), kLongTimeout,
                       to_g2->callback());
  auto to_second = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(vote_request("g1", pair.a_id, b_second, 2), kLongTimeout,
                       to_second->callback());
  REQUIRE(to_g2->wait());
  REQUIRE(to_second->wait());
  CHECK(to_g2->status().ok());
  CHECK(to_second->status().ok());
  CHECK(other_group.votes().size() == 1);
  CHECK(other_peer.votes().size() == 1);
  CHECK(pair.service.votes().empty());
  pair.b->unregister_service("g2", pair.b_id);
  pair.b->unregister_service("g1", b_second);
}

TEST_CASE("concurrent calls share one connection and each gets its own answer", "[tcp_transport]") {
  Pair pair;
  constexpr int kCalls = 200;
  // Hold every request, then answer in reverse order: only request ids can match them up.
  pair.service.hold(true);
  std::vector<std::shared_ptr<Outcome<AppendEntriesResponse>>> outcomes;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < kCalls / 4; ++i)
      outcomes.push_back(std::make_shared<Outcome<AppendEntriesResponse>>());
  }
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = t * (kCalls / 4); i < (t + 1) * (kCalls / 4); ++i) {
        // Term i + 1 and i entries identify call i in its answer.
        pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, i + 1, 100, i % 5),
                               kLongTimeout, outcomes[i]->callback());
      }
    });
  }
  for (std::thread& t : callers) t.join();
  REQUIRE(pair.service.wait_for_requests(0, kCalls));
  auto held = pair.service.take_held_appends();
  REQUIRE(held.size() == kCalls);
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    it->second(Status::OK(), FakeService::answer(it->first));
  }
  for (int i = 0; i < kCalls; ++i) {
    INFO("call " << i);
    REQUIRE(outcomes[i]->wait());
    REQUIRE(outcomes[i]->status().ok());
    CHECK(outcomes[i]->response().term == Term(i + 1));
    CHECK(outcomes[i]->response().last_log_index == LogIndex(100 + i % 5));
    CHECK(outcomes[i]->calls() == 1);
  }
  CHECK(pair.b->rpc_server().accepted_connections() == 1);
}

TEST_CASE("a request for an unknown group fails with a status naming the group",
          "[tcp_transport]") {
  Pair pair;
  auto outcome = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(append_request("no-such-group", pair.a_id, pair.b_id, 1, 0, 1),
                         kLongTimeout, outcome->callback());
  REQUIRE(outcome->wait());
  CHECK(outcome->status().is_not_found());
  CHECK(std::string(outcome->status().message()).find("no-such-group") != std::string::npos);
  CHECK_FALSE(outcome->response().success);

  // A known group but another peer index is just as unknown.
  auto wrong_peer = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(vote_request("g1", pair.a_id, peer_of(*pair.b, 9), 1), kLongTimeout,
                       wrong_peer->callback());
  REQUIRE(wrong_peer->wait());
  CHECK(wrong_peer->status().is_not_found());
}

TEST_CASE("garbage, oversized and truncated frames close only the offending connection",
          "[tcp_transport]") {
  Pair pair;
  REQUIRE(vote_succeeds(*pair.a, pair.a_id, pair.b_id));
  const uint16_t port = pair.b->listen_port();

  SECTION("garbage bytes") {
    RawSocket raw(port);
    raw.write("GET / HTTP/1.1\r\nHost: pontoon\r\n\r\n");
    CHECK(raw.wait_closed_by_peer());
  }
  SECTION("a length beyond max_frame_bytes") {
    RawSocket raw(port);
    std::string header = frame_bytes(FrameKind::kRequest, method::kAppendEntries, 1, "");
    header[20] = 0x7f;  // Announces a ~2 GiB body; only the header is ever sent.
    raw.write(header);
    CHECK(raw.wait_closed_by_peer());
  }
  SECTION("a valid frame followed by garbage is answered, then the connection closed") {
    RawSocket raw(port);
    std::string stream = frame_bytes(FrameKind::kRequest, 999, 42, "");
    stream += std::string(kFrameHeaderBytes, '\0');
    raw.write(stream);
    std::string received;
    CHECK(raw.wait_closed_by_peer(&received));
    // The unknown-method error for request 42 arrived before the close.
    CHECK(received.size() > kFrameHeaderBytes);
  }
  SECTION("a response frame sent to a server") {
    RawSocket raw(port);
    raw.write(frame_bytes(FrameKind::kResponse, method::kRequestVote, 1, ""));
    CHECK(raw.wait_closed_by_peer());
  }
  SECTION("a frame cut short by the peer closing") {
    RawSocket raw(port);
    const std::string frame = frame_bytes(FrameKind::kRequest, method::kRequestVote, 1, "abcdef");
    raw.write(frame.substr(0, frame.size() - 3));
    raw.close();
  }
  // The well-behaved client is still served, on its original connection.
  CHECK(vote_succeeds(*pair.a, pair.a_id, pair.b_id));
  CHECK(vote_succeeds(*pair.a, pair.a_id, pair.b_id));
}

TEST_CASE("a malformed request body gets an error response, not a closed connection",
          "[tcp_transport]") {
  Pair pair;
  IoContextPool pool(1, "test-client");
  RpcClient client(&pool, RpcClientOptions{});
  PoolStopper stopper{pool};
  pool.start();
  const std::string endpoint = pair.b->listen_address();

  std::promise<Status> garbage;
  client.call(endpoint, method::kAppendEntries, "\xff\xff\xff not protobuf", kLongTimeout,
              [&](const Status& status, std::string) { garbage.set_value(status); });
  auto garbage_result = garbage.get_future();
  REQUIRE(garbage_result.wait_for(kDeadline) == std::future_status::ready);
  CHECK(garbage_result.get().is_corruption());

  std::promise<Status> unknown_method;
  client.call(endpoint, 4242, "", kLongTimeout,
              [&](const Status& status, std::string) { unknown_method.set_value(status); });
  auto unknown_result = unknown_method.get_future();
  REQUIRE(unknown_result.wait_for(kDeadline) == std::future_status::ready);
  Status unknown = unknown_result.get();
  CHECK(unknown.is_not_found());
  CHECK(std::string(unknown.message()).find("4242") != std::string::npos);

  CHECK(pair.b->rpc_server().accepted_connections() == 1);
  pool.stop();
  client.shutdown();
}

TEST_CASE("a call to a peer that is not listening fails within its timeout", "[tcp_transport]") {
  auto a = start_transport();
  const PeerId nobody("127.0.0.1", unused_port());
  const auto timeout = std::chrono::duration_cast<Duration>(2s);
  const auto started = std::chrono::steady_clock::now();
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  a->request_vote(vote_request("g1", peer_of(*a), nobody, 1), timeout, outcome->callback());
  REQUIRE(outcome->wait());
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const Status status = outcome->status();
  CHECK((status.is_unavailable() || status.is_timed_out()));
  CHECK(elapsed < timeout + 1s);
  CHECK(outcome->calls() == 1);
}

TEST_CASE("a call times out when the service does not answer in time", "[tcp_transport]") {
  Pair pair;
  pair.service.hold(true);
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  const auto started = std::chrono::steady_clock::now();
  pair.a->request_vote(vote_request("g1", pair.a_id, pair.b_id, 2),
                       std::chrono::duration_cast<Duration>(200ms), outcome->callback());
  REQUIRE(outcome->wait());
  CHECK(outcome->status().is_timed_out());
  CHECK(std::chrono::steady_clock::now() - started >= 200ms);

  // The answer arriving after the timeout is dropped: the callback ran exactly once. A second
  // call, answered normally, proves the late response has been processed by then (responses
  // on one connection are handled in order).
  REQUIRE(pair.service.wait_for_requests(1, 0));
  for (auto& done : pair.service.take_held_votes())
    done(Status::OK(), RequestVoteResponse{Term(2), true});
  pair.service.hold(false);
  CHECK(vote_succeeds(*pair.a, pair.a_id, pair.b_id));
  CHECK(outcome->calls() == 1);
  CHECK(outcome->status().is_timed_out());
}

TEST_CASE("calls succeed again after the peer restarts", "[tcp_transport]") {
  auto a = start_transport();
  auto b = start_transport();
  const uint16_t port = b->listen_port();
  const PeerId b_id = peer_of(*b);
  FakeService service;
  REQUIRE(b->register_service("g1", b_id, &service).ok());
  REQUIRE(vote_succeeds(*a, peer_of(*a), b_id));

  b.reset();  // Shuts b down; a's connection breaks.
  auto while_down = std::make_shared<Outcome<RequestVoteResponse>>();
  a->request_vote(vote_request("g1", peer_of(*a), b_id, 2),
                  std::chrono::duration_cast<Duration>(2s), while_down->callback());
  REQUIRE(while_down->wait());
  CHECK((while_down->status().is_unavailable() || while_down->status().is_timed_out()));

  auto restarted = start_transport("127.0.0.1:" + std::to_string(port));
  FakeService restarted_service;
  REQUIRE(restarted->register_service("g1", b_id, &restarted_service).ok());
  // Reconnection backs off (at most max_reconnect_backoff, 1 s): retry until it is back.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool succeeded = false;
  while (!succeeded && std::chrono::steady_clock::now() < deadline) {
    succeeded = vote_succeeds(*a, peer_of(*a), b_id);
  }
  CHECK(succeeded);
  CHECK(restarted_service.votes().size() >= 1);
}

TEST_CASE("shutdown fails every pending call exactly once", "[tcp_transport]") {
  Pair pair;
  pair.service.hold(true);
  constexpr int kCalls = 20;
  std::vector<std::shared_ptr<Outcome<AppendEntriesResponse>>> outcomes;
  for (int i = 0; i < kCalls; ++i) {
    outcomes.push_back(std::make_shared<Outcome<AppendEntriesResponse>>());
    pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, 1, i, 1), kLongTimeout,
                           outcomes[i]->callback());
  }
  REQUIRE(pair.service.wait_for_requests(0, kCalls));
  pair.a->shutdown();
  for (auto& outcome : outcomes) {
    CHECK(outcome->calls() == 1);
    CHECK(outcome->status().is_shutdown());
  }
  // Answers arriving now find nobody to deliver to.
  for (auto& [request, done] : pair.service.take_held_appends()) {
    done(Status::OK(), FakeService::answer(request));
  }
  // Calls after shutdown fail at once.
  auto late = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, 1, 0, 1), kLongTimeout,
                         late->callback());
  CHECK(late->calls() == 1);
  CHECK(late->status().is_shutdown());
  pair.b->shutdown();
  for (auto& outcome : outcomes) CHECK(outcome->calls() == 1);
}

TEST_CASE("unregister_service waits for a call in progress and then refuses new ones",
          "[tcp_transport]") {
  Pair pair;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pair.service.set_append_hook(
      [&, released](const AppendEntriesRequest& request, RpcCallback<AppendEntriesResponse> done) {
        entered.set_value();
        released.wait();
        done(Status::OK(), FakeService::answer(request));
      });
  auto in_progress = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, 1, 0, 1), kLongTimeout,
                         in_progress->callback());
  REQUIRE(entered.get_future().wait_for(kDeadline) == std::future_status::ready);

  auto unregistered =
      std::async(std::launch::async, [&] { pair.b->unregister_service("g1", pair.b_id); });
  // While the handler runs, unregister must not return.
  CHECK(unregistered.wait_for(200ms) == std::future_status::timeout);
  release.set_value();
  REQUIRE(unregistered.wait_for(kDeadline) == std::future_status::ready);
  REQUIRE(in_progress->wait());
  CHECK(in_progress->status().ok());

  auto after = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(vote_request("g1", pair.a_id, pair.b_id, 2), kLongTimeout,
                       after->callback());
  REQUIRE(after->wait());
  CHECK(after->status().is_not_found());
  CHECK(pair.service.votes().empty());
}

TEST_CASE("a service that drops a request without answering yields EIO, not a hang",
          "[tcp_transport]") {
  Pair pair;
  pair.service.set_append_hook(
      [](const AppendEntriesRequest&, RpcCallback<AppendEntriesResponse> done) { (void)done; });
  auto outcome = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, 1, 0, 1), kLongTimeout,
                         outcome->callback());
  REQUIRE(outcome->wait());
  CHECK(outcome->status().is_io_error());
}

TEST_CASE("application errors from a service travel back as its status", "[tcp_transport]") {
  Pair pair;
  std::thread responder;
  pair.service.set_append_hook(
      [&](const AppendEntriesRequest&, RpcCallback<AppendEntriesResponse> done) {
        // Answer from another thread, as a Node's executor would.
        responder = std::thread([done] { done(Status::Busy("log manager queue is full"), {}); });
      });
  auto outcome = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(append_request("g1", pair.a_id, pair.b_id, 1, 0, 1), kLongTimeout,
                         outcome->callback());
  REQUIRE(outcome->wait());
  responder.join();
  CHECK(outcome->status() == Status::Busy("log manager queue is full"));
}

TEST_CASE("start reports a bad listen address or bad options", "[tcp_transport]") {
  auto first = start_transport();
  TcpTransport taken("127.0.0.1:" + std::to_string(first->listen_port()));
  Status status = taken.start();
  CHECK(status.is_io_error());
  CHECK(std::string(status.message()).find("127.0.0.1:" + std::to_string(first->listen_port())) !=
        std::string::npos);

  TcpTransport bad_address("not-an-ip:80");
  CHECK(bad_address.start().is_invalid_argument());

  TcpTransportOptions options;
  options.server.max_frame_bytes = 10;
  TcpTransport bad_options("127.0.0.1:0", options);
  Status bad = bad_options.start();
  CHECK(bad.is_invalid_argument());
  CHECK(std::string(bad.message()).find("server.max_frame_bytes") != std::string::npos);

  TcpTransportOptions no_threads;
  no_threads.io_threads = 0;
  CHECK(TcpTransport("127.0.0.1:0", no_threads).start().is_invalid_argument());

  // Calls on a transport that never started fail at once.
  auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
  bad_options.request_vote(vote_request("g1", PeerId("127.0.0.1", 1), PeerId("127.0.0.1", 2), 1),
                           kLongTimeout, outcome->callback());
  CHECK(outcome->calls() == 1);
  CHECK(outcome->status().is_shutdown());
}

TEST_CASE("a request larger than max_frame_bytes fails with EINVAL before it is sent",
          "[tcp_transport]") {
  TcpTransportOptions options;
  options.client.max_frame_bytes = 4096;
  Pair pair(options);
  AppendEntriesRequest request = append_request("g1", pair.a_id, pair.b_id, 1, 0, 1);
  request.entries[0] = make_entry(EntryType::kData, LogIndex(1), Term(1), std::string(8192, 'x'));
  auto outcome = std::make_shared<Outcome<AppendEntriesResponse>>();
  pair.a->append_entries(request, kLongTimeout, outcome->callback());
  REQUIRE(outcome->wait());
  CHECK(outcome->status().is_invalid_argument());
  CHECK(pair.service.appends().empty());
}

TEST_CASE("rpc server handlers may respond later from any thread", "[rpc]") {
  IoContextPool pool(2, "test-rpc");
  RpcServer server(&pool, RpcServerOptions{});
  std::vector<std::thread> responders;
  std::mutex responders_mu;
  REQUIRE(server
              .register_method(7,
                               [&](const std::string& body, RpcServer::Responder respond) {
                                 std::lock_guard<std::mutex> lock(responders_mu);
                                 responders.emplace_back([body, respond] {
                                   if (body == "fail") {
                                     respond(Status::NotLeader("leader is 10.0.0.3:8100"), "");
                                   } else {
                                     respond(Status::OK(), "echo:" + body);
                                   }
                                 });
                               })
              .ok());
  CHECK(server.register_method(7, [](const std::string&, RpcServer::Responder) {})
            .is_invalid_argument());
  REQUIRE(server.start("127.0.0.1:0").ok());
  RpcClient client(&pool, RpcClientOptions{});
  PoolStopper stopper{pool};
  pool.start();
  const std::string endpoint = "127.0.0.1:" + std::to_string(server.port());

  std::promise<std::pair<Status, std::string>> echo;
  client.call(endpoint, 7, "ping", kLongTimeout, [&](const Status& status, std::string body) {
    echo.set_value({status, std::move(body)});
  });
  std::promise<std::pair<Status, std::string>> fail;
  client.call(endpoint, 7, "fail", kLongTimeout, [&](const Status& status, std::string body) {
    fail.set_value({status, std::move(body)});
  });
  auto echo_result = echo.get_future();
  auto fail_result = fail.get_future();
  REQUIRE(echo_result.wait_for(kDeadline) == std::future_status::ready);
  REQUIRE(fail_result.wait_for(kDeadline) == std::future_status::ready);
  auto [echo_status, echo_body] = echo_result.get();
  CHECK(echo_status.ok());
  CHECK(echo_body == "echo:ping");
  CHECK(fail_result.get().first == Status::NotLeader("leader is 10.0.0.3:8100"));

  pool.stop();
  server.stop();
  client.shutdown();
  for (std::thread& t : responders) t.join();
}

TEST_CASE("calls beyond max_pending_calls_per_endpoint fail with EBUSY", "[tcp_transport]") {
  TcpTransportOptions options;
  options.client.max_pending_calls_per_endpoint = 4;
  Pair pair(options);
  pair.service.hold(true);
  std::vector<std::shared_ptr<Outcome<RequestVoteResponse>>> outcomes;
  for (int i = 0; i < 5; ++i) {
    outcomes.push_back(std::make_shared<Outcome<RequestVoteResponse>>());
    pair.a->request_vote(vote_request("g1", pair.a_id, pair.b_id, 2), kLongTimeout,
                         outcomes.back()->callback());
  }
  // The fifth is refused at once; the others are unaffected.
  CHECK(outcomes[4]->calls() == 1);
  CHECK(outcomes[4]->status().is_busy());
  REQUIRE(pair.service.wait_for_requests(4, 0));
  for (auto& done : pair.service.take_held_votes()) {
    done(Status::OK(), RequestVoteResponse{Term(2), true});
  }
  for (int i = 0; i < 4; ++i) {
    REQUIRE(outcomes[i]->wait());
    CHECK(outcomes[i]->status().ok());
  }
}

TEST_CASE("calls to an unreachable peer keep failing fast while the client backs off",
          "[tcp_transport]") {
  auto a = start_transport();
  const PeerId nobody("127.0.0.1", unused_port());
  const auto timeout = std::chrono::duration_cast<Duration>(100ms);
  for (int i = 0; i < 20; ++i) {
    INFO("call " << i);
    const auto started = std::chrono::steady_clock::now();
    auto outcome = std::make_shared<Outcome<RequestVoteResponse>>();
    a->request_vote(vote_request("g1", peer_of(*a), nobody, 1), timeout, outcome->callback());
    REQUIRE(outcome->wait());
    CHECK((outcome->status().is_unavailable() || outcome->status().is_timed_out()));
    CHECK(std::chrono::steady_clock::now() - started < timeout + 1s);
    CHECK(outcome->calls() == 1);
  }
}

TEST_CASE("timeout_now reaches the target's service and its answer comes back",
          "[tcp_transport][transfer]") {
  Pair pair;
  FakeService other_group;
  REQUIRE(pair.b->register_service("g2", pair.b_id, &other_group).ok());
  auto answered = std::make_shared<Outcome<TimeoutNowResponse>>();
  pair.a->timeout_now(TimeoutNowRequest{"g2", pair.a_id, pair.b_id, Term(41)}, kLongTimeout,
                      answered->callback());
  REQUIRE(answered->wait());
  REQUIRE(answered->status().ok());
  CHECK(answered->response().term == Term(42));
  CHECK(answered->response().success);
  const std::vector<TimeoutNowRequest> received = other_group.timeout_nows();
  REQUIRE(received.size() == 1);
  CHECK(received[0].group_id == "g2");
  CHECK(received[0].server_id == pair.a_id);
  CHECK(received[0].peer_id == pair.b_id);
  CHECK(received[0].term == Term(41));
}

TEST_CASE("read_index answers and its EAGAIN both cross the wire", "[tcp_transport][read]") {
  Pair pair;
  FakeService again_group;
  REQUIRE(pair.b->register_service("again", pair.b_id, &again_group).ok());
  auto answered = std::make_shared<Outcome<ReadIndexResponse>>();
  pair.a->read_index(ReadIndexRequest{"g1", pair.a_id, pair.b_id, false}, kLongTimeout,
                     answered->callback());
  REQUIRE(answered->wait());
  REQUIRE(answered->status().ok());
  CHECK(answered->response().index == LogIndex(99));
  auto refused = std::make_shared<Outcome<ReadIndexResponse>>();
  pair.a->read_index(ReadIndexRequest{"again", pair.a_id, pair.b_id, false}, kLongTimeout,
                     refused->callback());
  REQUIRE(refused->wait());
  CHECK(refused->status().is_again());
  CHECK(std::string(refused->status().message()).find("no entry of this term") !=
        std::string::npos);
}

// The write path sends from the calling thread when nothing is queued and leaves the rest
// (a frame larger than the socket buffer takes) to the connection's strand; calls made
// before the connection is up go out through the strand too. Neither may reorder frames.
TEST_CASE("frames from one thread arrive in call order, across connection setup and partial writes",
          "[rpc]") {
  IoContextPool pool(2, "test-rpc");
  RpcServer server(&pool, RpcServerOptions{});
  std::mutex arrived_mu;
  std::vector<std::string> arrived;  // Each request's sequence number, in arrival order.
  REQUIRE(server
              .register_method(7,
                               [&](const std::string& body, RpcServer::Responder respond) {
                                 {
                                   std::lock_guard<std::mutex> lock(arrived_mu);
                                   arrived.push_back(body.substr(0, body.find(':')));
                                 }
                                 // Echoed whole: large answers take the partial path back.
                                 respond(Status::OK(), body);
                               })
              .ok());
  REQUIRE(server.start("127.0.0.1:0").ok());
  RpcClient client(&pool, RpcClientOptions{});
  PoolStopper stopper{pool};
  pool.start();
  const std::string endpoint = "127.0.0.1:" + std::to_string(server.port());

  // Enough calls, made back to back, that the connection comes up while they are made.
  constexpr int kCalls = 3000;
  // Every 40th of the first 400 requests is 4 MiB, far more than a loopback socket buffer
  // takes at once.
  auto body_of = [](int i) {
    std::string body = std::to_string(i) + ":";
    const bool large = i < 400 && i % 40 == 7;
    body.append(large ? (size_t{4} << 20) : 16, static_cast<char>('a' + i % 26));
    return body;
  };
  std::vector<std::promise<std::pair<Status, std::string>>> answers(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client.call(endpoint, 7, body_of(i), kLongTimeout,
                [&answers, i](const Status& status, std::string body) {
                  answers[i].set_value({status, std::move(body)});
                });
  }
  for (int i = 0; i < kCalls; ++i) {
    INFO("call " << i);
    auto answer = answers[i].get_future();
    REQUIRE(answer.wait_for(kDeadline) == std::future_status::ready);
    auto [status, body] = answer.get();
    REQUIRE(status.ok());
    CHECK(body == body_of(i));
  }
  {
    std::lock_guard<std::mutex> lock(arrived_mu);
    REQUIRE(arrived.size() == kCalls);
    for (int i = 0; i < kCalls; ++i) CHECK(arrived[i] == std::to_string(i));
  }
  CHECK(server.accepted_connections() == 1);
  pool.stop();
  server.stop();
  client.shutdown();
}

// Timeouts have no timer per call: one sweep per endpoint, armed for the earliest deadline.
TEST_CASE("a short call times out at its own deadline while a longer one stays pending",
          "[tcp_transport]") {
  Pair pair;
  pair.service.hold(true);
  auto patient = std::make_shared<Outcome<RequestVoteResponse>>();
  auto hasty = std::make_shared<Outcome<RequestVoteResponse>>();
  pair.a->request_vote(vote_request("g1", pair.a_id, pair.b_id, 2), kLongTimeout,
                       patient->callback());
  REQUIRE(pair.service.wait_for_requests(1, 0));  // The long call is pending and armed first.
  const auto started = std::chrono::steady_clock::now();
  pair.a->request_vote(vote_request("g1", pair.a_id, pair.b_id, 3),
                       std::chrono::duration_cast<Duration>(150ms), hasty->callback());
  REQUIRE(hasty->wait());
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(hasty->status().is_timed_out());
  CHECK(waited >= 150ms);
  CHECK(waited < 5s);  // Not held back to the long call's 10 s deadline.
  CHECK(patient->calls() == 0);
  // The long call still completes normally once answered.
  REQUIRE(pair.service.wait_for_requests(2, 0));
  auto held = pair.service.take_held_votes();
  REQUIRE(held.size() == 2);
  for (auto& done : held) done(Status::OK(), RequestVoteResponse{Term(3), true});
  REQUIRE(patient->wait());
  CHECK(patient->status().ok());
  CHECK(patient->calls() == 1);
  CHECK(hasty->calls() == 1);
}
