// TcpTransport when things go wrong: bad frames and bodies, timeouts, restarts, shutdown,
// unregistering, limits and bad options. Every wait is on a condition with a deadline;
// nothing sleeps.

#include "support/tcp_transport_fixture.h"

using namespace raft;
using namespace raft::rpc;
using namespace raft::rpc::tcp_test;
using namespace std::chrono_literals;

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
