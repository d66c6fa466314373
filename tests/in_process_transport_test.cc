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

// Grants every vote and records when requests arrive.
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
  int calls = 0;
  TimePoint last_arrival;

 private:
  SimScheduler& scheduler_;
};

struct Call {
  int completions = 0;
  Status status;
  RequestVoteResponse response;
  TimePoint at;
};

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
    Call call;
    RequestVoteRequest request{"g", peer(from), peer(to), Term(3), LogId{}, false};
    transports[from]->request_vote(request, timeout,
                                   [&](const Status& status, const RequestVoteResponse& r) {
                                     ++call.completions;
                                     call.status = status;
                                     call.response = r;
                                     call.at = scheduler->now();
                                   });
    scheduler->run_until([&] { return call.completions > 0; }, 10s);
    // Let anything late (a response after the timeout) arrive too.
    scheduler->run_for(5s);
    return call;
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
