// InProcessNetwork on the simulation: delivery, delays, loss, one-way blocks, partitions,
// and callbacks that run exactly once.
#include <catch2/catch.hpp>

#include <optional>

#include "raft/rpc/in_process_transport.h"
#include "raft/sim_scheduler.h"

using namespace raft;
using namespace raft::rpc;

namespace {

using namespace std::chrono_literals;

PeerId peer(int n) { return PeerId("127.0.0.1", static_cast<uint16_t>(7000 + n)); }

// Grants every vote, accepts every snapshot, and records when requests arrive.
class EchoService : public RaftService {
 public:
  explicit EchoService(SimScheduler& scheduler) : scheduler_(scheduler) {}
  void handle_request_vote(const RequestVoteRequest& request,
                           RpcCallback<RequestVoteResponse> done) override {
    ++calls;
    last_arrival = scheduler_.now();
    RequestVoteResponse response;
    response.term = request.term;
    response.granted = true;
    done(Status::OK(), response);
  }
  void handle_append_entries(const AppendEntriesRequest&,
                             RpcCallback<AppendEntriesResponse> done) override {
    ++calls;
    done(Status::OK(), AppendEntriesResponse{});
  }
  void handle_install_snapshot(const InstallSnapshotRequest& request,
                               RpcCallback<InstallSnapshotResponse> done) override {
    ++calls;
    done(Status::OK(), InstallSnapshotResponse{request.term, true});
  }
  // Answers with the requested file name, so the caller sees its own request come back.
  void handle_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done) override {
    ++calls;
    done(Status::OK(), GetFileResponse{request.file_name, true});
  }
  void handle_timeout_now(const TimeoutNowRequest& request,
                          RpcCallback<TimeoutNowResponse> done) override {
    ++calls;
    done(Status::OK(), TimeoutNowResponse{request.term, true});
  }
  void handle_read_index(const ReadIndexRequest&, RpcCallback<ReadIndexResponse> done) override {
    ++calls;
    done(Status::OK(), ReadIndexResponse{LogIndex(7)});
  }
  int calls = 0;
  TimePoint last_arrival;

 private:
  SimScheduler& scheduler_;
};

// The outcome of one call, of any RPC.
template <typename Response>
struct Outcome {
  int completions = 0;
  Status status;
  Response response;
  TimePoint at;
};
using Call = Outcome<RequestVoteResponse>;

struct Fixture {
  Fixture() {
    network = std::make_shared<InProcessNetwork>(*scheduler, 7);
    for (int i = 0; i < 3; ++i) {
      services.push_back(std::make_unique<EchoService>(*scheduler));
      transports.push_back(network->transport_for(peer(i)));
      REQUIRE(transports[i]->register_service("g", peer(i), services[i].get()).ok());
    }
  }
  // Sends a RequestVote from `from` to `to` and runs the simulation until it completes.
  Call vote(int from, int to, Duration timeout = 1s) {
    RequestVoteRequest request{"g", peer(from), peer(to), Term(3), LogId{}, false};
    return run<RequestVoteResponse>([&](RpcCallback<RequestVoteResponse> done) {
      transports[from]->request_vote(request, timeout, std::move(done));
    });
  }
  Outcome<InstallSnapshotResponse> install_snapshot(int from, int to, Duration timeout = 1s) {
    InstallSnapshotRequest request;
    request.group_id = "g";
    request.server_id = peer(from);
    request.peer_id = peer(to);
    request.term = Term(3);
    request.meta =
        SnapshotMeta{LogId{LogIndex(10), Term(2)}, Configuration({peer(0), peer(1), peer(2)}), {}};
    request.files = {SnapshotFile{"data", 5, 0x1234}};
    request.reader_id = 42;
    return run<InstallSnapshotResponse>([&](RpcCallback<InstallSnapshotResponse> done) {
      transports[from]->install_snapshot(request, timeout, std::move(done));
    });
  }
  Outcome<GetFileResponse> get_file(int from, int to, Duration timeout = 1s) {
    GetFileRequest request{"g", peer(from), peer(to), 42, "data", 0, 1024};
    return run<GetFileResponse>([&](RpcCallback<GetFileResponse> done) {
      transports[from]->get_file(request, timeout, std::move(done));
    });
  }

  // Starts a call with `send` and runs the simulation until it completes.
  template <typename Response, typename Send>
  Outcome<Response> run(Send send) {
    Outcome<Response> outcome;
    send([&](const Status& status, const Response& r) {
      ++outcome.completions;
      outcome.status = status;
      outcome.response = r;
      outcome.at = scheduler->now();
    });
    scheduler->run_until([&] { return outcome.completions > 0; }, 10s);
    // Let anything late (a response after the timeout) arrive too.
    scheduler->run_for(5s);
    return outcome;
  }

  std::shared_ptr<SimScheduler> scheduler = std::make_shared<SimScheduler>(3);
  std::shared_ptr<InProcessNetwork> network;
  std::vector<std::unique_ptr<EchoService>> services;
  std::vector<std::shared_ptr<RaftTransport>> transports;
};

}  // namespace

TEST_CASE("in-process network delivers requests and responses after a bounded delay",
          "[in_process]") {
  Fixture f;
  f.network->set_delay(10ms, 20ms);
  const TimePoint sent = f.scheduler->now();
  Call call = f.vote(0, 1);
  CHECK(call.completions == 1);
  REQUIRE(call.status.ok());
  CHECK(call.response.granted);
  CHECK(f.services[1]->calls == 1);
  CHECK(f.services[1]->last_arrival - sent >= 10ms);
  CHECK(f.services[1]->last_arrival - sent <= 20ms);
  CHECK(call.at - sent >= 20ms);  // there and back
  CHECK(call.at - sent <= 40ms);
  CHECK(f.network->delivered() == 2);
}

TEST_CASE("in-process network: a lost message times the call out exactly once", "[in_process]") {
  Fixture f;
  f.network->set_drop_probability(1.0);
  const TimePoint sent = f.scheduler->now();
  Call call = f.vote(0, 1, 300ms);
  CHECK(call.completions == 1);
  CHECK(call.status.is_timed_out());
  CHECK(call.at - sent == 300ms);
  CHECK(f.services[1]->calls == 0);
  CHECK(f.network->dropped() == 1);
}

TEST_CASE("in-process network: a response slower than the deadline is not delivered twice",
          "[in_process]") {
  Fixture f;
  f.network->set_delay(200ms, 200ms);
  Call call = f.vote(0, 1, 300ms);  // the answer would arrive at 400 ms
  CHECK(call.completions == 1);
  CHECK(call.status.is_timed_out());
  CHECK(f.services[1]->calls == 1);  // the request did arrive
}

TEST_CASE(
    "in-process network: a block loses every message one way; partitions and isolation "
    "cut both ways",
    "[in_process]") {
  Fixture f;
  f.network->block(peer(0), peer(1));
  CHECK(f.vote(0, 1, 100ms).status.is_timed_out());
  CHECK(f.services[1]->calls == 0);
  // 1 -> 0 arrives, but the answer travels 0 -> 1 and is lost too.
  CHECK(f.vote(1, 0, 100ms).status.is_timed_out());
  CHECK(f.services[0]->calls == 1);
  f.network->heal();
  CHECK(f.vote(0, 1, 100ms).status.ok());

  f.network->partition({{peer(0)}, {peer(1), peer(2)}});
  CHECK(f.vote(0, 1, 100ms).status.is_timed_out());
  CHECK(f.vote(2, 0, 100ms).status.is_timed_out());
  CHECK(f.vote(1, 2, 100ms).status.ok());
  f.network->heal();

  f.network->isolate(peer(2));
  CHECK(f.vote(0, 2, 100ms).status.is_timed_out());
  CHECK(f.vote(2, 1, 100ms).status.is_timed_out());
  CHECK(f.vote(0, 1, 100ms).status.ok());
}

TEST_CASE("in-process network: no replica at the address answers EHOSTDOWN", "[in_process]") {
  Fixture f;
  f.transports[1]->unregister_service("g", peer(1));
  Call call = f.vote(0, 1);
  CHECK(call.status.is_unavailable());
  CHECK(std::string(call.status.message()).find("group g") != std::string::npos);
  CHECK(f.transports[1]->register_service("g", peer(1), f.services[1].get()).ok());
  CHECK(f.transports[1]->register_service("g", peer(1), f.services[1].get()).is_invalid_argument());
  CHECK(f.vote(0, 1).status.ok());
}

TEST_CASE("in-process network: a duplicated request reaches the service twice, the caller once",
          "[in_process]") {
  Fixture f;
  f.network->set_duplicate_probability(1.0);
  Call call = f.vote(0, 1);
  CHECK(call.completions == 1);
  CHECK(call.status.ok());
  CHECK(f.services[1]->calls == 2);
  CHECK(f.network->duplicated() == 1);
}

TEST_CASE("in-process network: InstallSnapshot and GetFile are lost across a partition",
          "[in_process]") {
  Fixture f;
  auto install = f.install_snapshot(0, 1);
  REQUIRE(install.status.ok());
  CHECK(install.response.success);
  CHECK(install.response.term == Term(3));
  auto chunk = f.get_file(1, 0);
  REQUIRE(chunk.status.ok());
  CHECK(chunk.response.data == "data");
  CHECK(chunk.response.eof);
  CHECK(f.services[0]->calls == 1);
  CHECK(f.services[1]->calls == 1);

  f.network->partition({{peer(0)}, {peer(1), peer(2)}});
  const uint64_t dropped = f.network->dropped();
  install = f.install_snapshot(0, 1, 100ms);
  CHECK(install.completions == 1);
  CHECK(install.status.is_timed_out());
  chunk = f.get_file(1, 0, 100ms);
  CHECK(chunk.completions == 1);
  CHECK(chunk.status.is_timed_out());
  CHECK(f.services[0]->calls == 1);
  CHECK(f.services[1]->calls == 1);
  CHECK(f.network->dropped() == dropped + 2);
  // Within a side they still get through.
  CHECK(f.install_snapshot(1, 2, 100ms).status.ok());
  CHECK(f.get_file(2, 1, 100ms).status.ok());

  f.network->heal();
  CHECK(f.install_snapshot(0, 1, 100ms).status.ok());
  CHECK(f.get_file(1, 0, 100ms).status.ok());
}

TEST_CASE("in-process network: InstallSnapshot and GetFile are dropped and duplicated like votes",
          "[in_process]") {
  Fixture f;
  f.network->set_duplicate_probability(1.0);
  auto install = f.install_snapshot(0, 1);
  CHECK(install.completions == 1);
  CHECK(install.status.ok());
  auto chunk = f.get_file(0, 1);
  CHECK(chunk.completions == 1);
  CHECK(chunk.status.ok());
  CHECK(f.services[1]->calls == 4);
  CHECK(f.network->duplicated() == 2);

  f.network->set_duplicate_probability(0);
  f.network->set_drop_probability(1.0);
  CHECK(f.install_snapshot(0, 1, 300ms).status.is_timed_out());
  CHECK(f.get_file(0, 1, 300ms).status.is_timed_out());
  CHECK(f.services[1]->calls == 4);
}
