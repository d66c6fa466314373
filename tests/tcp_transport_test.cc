// TcpTransport (and the RpcServer/RpcClient it is built on) over real sockets on 127.0.0.1:
// what reaches the service, routing to groups and peers, sharing a connection, order.
// Every wait is on a condition with a deadline; nothing sleeps.

#include "support/tcp_transport_fixture.h"

using namespace raft;
using namespace raft::rpc;
using namespace raft::rpc::tcp_test;
using namespace std::chrono_literals;

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
