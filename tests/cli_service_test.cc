// The CLI service (raft/rpc/cli_service.h) and CliClient on a real TCP cluster in one process:
// every command, and the errors an operator meets (unknown group, bad text, a follower asked,
// a change while another runs). docs/operations.md describes the commands.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cli.pb.h"
#include "raft/rpc/cli_client.h"
#include "raft/rpc/cli_service.h"
#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/leader_hint.h"
#include "raft/rpc/method_ids.h"
#include "raft/rpc/rpc_client.h"
#include "support/tcp_cluster.h"

using namespace raft;
using namespace raft::testing;
using std::chrono::seconds;

namespace {

namespace pb = ::pontoon::cli;

constexpr auto kWait = seconds(30);

// A TcpCluster whose members each serve a CliService, and an RpcClient to call them with.
// Members listed in `initial` form the first configuration; the others start joining.
class CliCluster {
 public:
  CliCluster(size_t size, const std::vector<size_t>& initial, TcpClusterOptions options = {})
      : services_(make_services(size)),
        cluster_(size, with_cli(std::move(options), &services_)),
        pool_(1, "cli-test"),
        rpc_(&pool_, rpc::RpcClientOptions{}) {
    cluster_.set_initial_members(initial);
    pool_.start();
  }

  ~CliCluster() {
    for (size_t i = 0; i < cluster_.size(); ++i) {
      if (cluster_.node(i)) stop(i);
    }
    pool_.stop();
    rpc_.shutdown();
  }

  TcpCluster& cluster() { return cluster_; }
  rpc::RpcClient& rpc() { return rpc_; }

  void start(size_t i) {
    cluster_.start(i);
    REQUIRE(services_[i]->add_node(cluster_.node(i)).ok());
  }
  void stop(size_t i) {
    services_[i]->remove_node(cluster_.node(i)->group_id());
    cluster_.stop(i);
  }

  // A client that knows only `members` (their endpoints).
  rpc::CliClient client(const std::vector<size_t>& members, const GroupId& group = "tcp") {
    std::vector<PeerId> replicas;
    for (size_t i : members) replicas.push_back(cluster_.peer(i));
    return rpc::CliClient(&rpc_, group, std::move(replicas), kWait);
  }

  // Waits for a leader that has committed an entry of its term, and so its configuration: until
  // then membership changes are EBUSY ("not committed yet").
  size_t wait_for_leader() {
    REQUIRE(cluster_.propose_and_wait("leader ready", kWait).ok());
    std::optional<size_t> leader = cluster_.wait_for_leader(kWait);
    REQUIRE(leader.has_value());
    return *leader;
  }

  // One raw call of `method_id` to member i, for requests CliClient would never send.
  std::pair<Status, std::string> call(size_t i, uint32_t method_id, const std::string& body) {
    auto reply = std::make_shared<std::promise<std::pair<Status, std::string>>>();
    std::future<std::pair<Status, std::string>> result = reply->get_future();
    rpc_.call(cluster_.peer(i).endpoint(), method_id, body, kWait,
              [reply](const Status& status, std::string response) {
                reply->set_value({status, std::move(response)});
              });
    return result.get();
  }

 private:
  static std::vector<std::unique_ptr<rpc::CliService>> make_services(size_t size) {
    std::vector<std::unique_ptr<rpc::CliService>> services;
    for (size_t i = 0; i < size; ++i) services.push_back(std::make_unique<rpc::CliService>());
    return services;
  }
  static TcpClusterOptions with_cli(TcpClusterOptions options,
                                    std::vector<std::unique_ptr<rpc::CliService>>* services) {
    options.before_listen = [services](size_t i, rpc::TcpTransport& transport) {
      const Status registered = (*services)[i]->register_on(transport);
      PONTOON_CHECK_MSG(registered.ok(), registered.to_string().c_str());
    };
    return options;
  }

  // Declared first: the services outlive the cluster's transports.
  std::vector<std::unique_ptr<rpc::CliService>> services_;
  TcpCluster cluster_;
  rpc::IoContextPool pool_;
  rpc::RpcClient rpc_;
};

pb::Target target(const GroupId& group) {
  pb::Target t;
  t.set_group_id(group);
  return t;
}

}  // namespace

TEST_CASE("cli service: add-peer makes a joining replica a voter, remove-peer takes it out",
          "[cli][tcp][membership]") {
  CliCluster cli(4, {0, 1, 2});
  for (size_t i = 0; i < 4; ++i) cli.start(i);
  cli.wait_for_leader();
  rpc::CliClient client = cli.client({0, 1, 2});

  rpc::ChangeResult added = client.add_peer(cli.cluster().peer(3));
  INFO("add-peer: " << added.status);
  REQUIRE(added.ok());
  CHECK_FALSE(added.outcome_unknown);
  Result<Configuration> four = client.list_peers();
  REQUIRE(four.ok());
  CHECK(*four == cli.cluster().conf());
  // The joined replica learns its own membership from the log.
  CHECK(cli.cluster().wait_until(
      [&] { return cli.cluster().node(3)->get_status().conf.contains(cli.cluster().peer(3)); },
      kWait));

  rpc::ChangeResult removed = client.remove_peer(cli.cluster().peer(3));
  INFO("remove-peer: " << removed.status);
  REQUIRE(removed.ok());
  Result<Configuration> three = client.list_peers();
  REQUIRE(three.ok());
  CHECK(*three == cli.cluster().initial_conf());
}

TEST_CASE("cli service: learners are added, reset and removed", "[cli][tcp][learners]") {
  CliCluster cli(4, {0, 1, 2});
  for (size_t i = 0; i < 4; ++i) cli.start(i);
  cli.wait_for_leader();
  rpc::CliClient client = cli.client({0, 1, 2});
  const PeerId learner = cli.cluster().peer(3);

  REQUIRE(client.add_learners({learner}).ok());
  Result<Configuration> with_learner = client.list_peers();
  REQUIRE(with_learner.ok());
  CHECK(with_learner->learners() == std::vector<PeerId>{learner});
  CHECK(with_learner->size() == 3);

  const PeerId other("127.0.0.1", 1);  // Never started: a learner need not catch up.
  REQUIRE(client.reset_learners({other}).ok());
  Result<Configuration> reset = client.list_peers();
  REQUIRE(reset.ok());
  CHECK(reset->learners() == std::vector<PeerId>{other});

  REQUIRE(client.remove_learners({other}).ok());
  Result<Configuration> none = client.list_peers();
  REQUIRE(none.ok());
  CHECK(none->learners().empty());
}

TEST_CASE("cli service: change-peers replaces a voter through the joint configuration",
          "[cli][tcp][membership]") {
  CliCluster cli(4, {0, 1, 2});
  for (size_t i = 0; i < 4; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();
  rpc::CliClient client = cli.client({0, 1, 2, 3});
  // Keep the leader, drop another member, bring in member 3.
  const size_t dropped = leader == 0 ? 1 : 0;
  std::vector<PeerId> peers{cli.cluster().peer(3)};
  for (size_t i = 0; i < 3; ++i) {
    if (i != dropped) peers.push_back(cli.cluster().peer(i));
  }
  const Configuration target{peers};
  rpc::ChangeResult changed = client.change_peers(target);
  INFO("change-peers: " << changed.status);
  REQUIRE(changed.ok());
  Result<Configuration> now = client.list_peers();
  REQUIRE(now.ok());
  CHECK(*now == target);
}

TEST_CASE("cli service: get-leader, status and snapshot report what the nodes know",
          "[cli][tcp][status]") {
  TcpClusterOptions options;
  options.snapshots = true;
  CliCluster cli(3, {0, 1, 2}, options);
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();
  REQUIRE(cli.cluster().propose_and_wait("one", kWait).ok());
  REQUIRE(cli.cluster().propose_and_wait("two", kWait).ok());
  rpc::CliClient client = cli.client({0, 1, 2});

  Result<PeerId> reported = client.get_leader();
  REQUIRE(reported.ok());
  CHECK(*reported == cli.cluster().peer(leader));

  rpc::ChangeResult snapshot = client.snapshot(PeerId());
  INFO("snapshot: " << snapshot.status);
  REQUIRE(snapshot.ok());
  CHECK(snapshot.replica == cli.cluster().peer(leader));

  Result<NodeStatus> status = client.status(cli.cluster().peer(leader));
  REQUIRE(status.ok());
  CHECK(status->group_id == "tcp");
  CHECK(status->peer_id == cli.cluster().peer(leader));
  CHECK(status->role == Role::kLeader);
  CHECK(status->term > Term(0));
  CHECK(status->leader_id == cli.cluster().peer(leader));
  CHECK(status->commit_index >= LogIndex(3));  // The leader's first entry, "one", "two".
  CHECK(status->applied_index >= LogIndex(3));
  CHECK(status->last_log_index >= status->commit_index);
  CHECK(status->last_snapshot.index >= LogIndex(3));
  CHECK(status->last_snapshot.term == status->term);
  CHECK(status->conf == cli.cluster().conf());
  CHECK(status->old_conf.empty());
  CHECK(status->snapshot_install_error.ok());
  REQUIRE(status->peers.size() == 2);
  // The pipeline counters only grow: what the CLI reported is at most what the node has now.
  const NodeStatus local = cli.cluster().node(leader)->get_status();
  REQUIRE(local.peers.size() == 2);
  for (size_t i = 0; i < status->peers.size(); ++i) {
    const PeerReplicationStatus& follower = status->peers[i];
    CHECK(follower.peer != cli.cluster().peer(leader));
    CHECK(follower.match_index <= status->last_log_index);
    CHECK(follower.next_index > follower.match_index);
    CHECK(follower.peer == local.peers[i].peer);
    CHECK(follower.window_resets <= local.peers[i].window_resets);
    CHECK(follower.resends <= local.peers[i].resends);
    CHECK(follower.out_of_order_acks <= local.peers[i].out_of_order_acks);
    // "one" and "two" at least went out, and the counts crossed the wire.
    CHECK(follower.appends_sent >= 1);
    CHECK(follower.entries_sent >= 2);
    CHECK(follower.entries_sent >= follower.appends_sent);
    CHECK(follower.appends_sent <= local.peers[i].appends_sent);
    CHECK(follower.entries_sent <= local.peers[i].entries_sent);
  }

  const size_t follower = (leader + 1) % 3;
  Result<NodeStatus> follower_status = client.status(cli.cluster().peer(follower));
  REQUIRE(follower_status.ok());
  CHECK(follower_status->role == Role::kFollower);
  CHECK(follower_status->leader_id == cli.cluster().peer(leader));
  CHECK(follower_status->peers.empty());
  // A follower snapshots on its own when asked by name.
  CHECK(client.snapshot(cli.cluster().peer(follower)).ok());
}

TEST_CASE("cli service: an unknown group is ENOENT naming it", "[cli][tcp][errors]") {
  CliCluster cli(3, {0, 1, 2});
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  cli.wait_for_leader();
  rpc::CliClient client = cli.client({0, 1, 2}, "no-such-group");
  Result<PeerId> leader = client.get_leader();
  REQUIRE_FALSE(leader.ok());
  CHECK(leader.status().is_not_found());
  CHECK_THAT(std::string(leader.status().message()), Catch::Contains("no-such-group"));
  rpc::ChangeResult added = client.add_peer(PeerId("127.0.0.1", 1));
  CHECK(added.status.is_not_found());
  CHECK_FALSE(added.outcome_unknown);
  CHECK(client.status(cli.cluster().peer(0)).status().is_not_found());

  // A peer id that is not the replica's own is caught too.
  pb::StatusRequest request;
  *request.mutable_target() = target("tcp");
  request.mutable_target()->set_peer_id(cli.cluster().peer(1).to_string());
  CHECK(cli.call(0, rpc::method::kCliStatus, request.SerializeAsString()).first.is_not_found());
}

TEST_CASE("cli service: text that does not parse is EINVAL naming the argument",
          "[cli][tcp][errors]") {
  CliCluster cli(3, {0, 1, 2});
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();

  pb::AddPeerRequest add;
  *add.mutable_target() = target("tcp");
  add.set_peer("not-a-peer");
  Status bad_peer = cli.call(leader, rpc::method::kCliAddPeer, add.SerializeAsString()).first;
  CHECK(bad_peer.is_invalid_argument());
  CHECK_THAT(std::string(bad_peer.message()), Catch::Contains("peer 'not-a-peer'"));

  pb::ChangePeersRequest change;
  *change.mutable_target() = target("tcp");
  change.set_new_peers("127.0.0.1:1,127.0.0.1:1");
  Status bad_conf =
      cli.call(leader, rpc::method::kCliChangePeers, change.SerializeAsString()).first;
  CHECK(bad_conf.is_invalid_argument());
  CHECK_THAT(std::string(bad_conf.message()), Catch::Contains("new_peers"));

  pb::LearnersRequest learners;
  *learners.mutable_target() = target("tcp");
  learners.add_learners("127.0.0.1:2");
  learners.add_learners("127.0.0.1:99999");
  Status bad_learner =
      cli.call(leader, rpc::method::kCliAddLearners, learners.SerializeAsString()).first;
  CHECK(bad_learner.is_invalid_argument());
  CHECK_THAT(std::string(bad_learner.message()), Catch::Contains("learners '127.0.0.1:99999'"));

  CHECK(cli.call(leader, rpc::method::kCliStatus, "\xff\xff\xff").first.is_invalid_argument());
  // The node still serves.
  CHECK(cli.client({0, 1, 2}).status(cli.cluster().peer(leader)).ok());
}

TEST_CASE("cli service: a follower answers a leader-only op with EPERM naming the leader",
          "[cli][tcp][errors]") {
  CliCluster cli(4, {0, 1, 2});
  for (size_t i = 0; i < 4; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();
  const size_t follower = (leader + 1) % 3;

  pb::LearnersRequest request;
  *request.mutable_target() = target("tcp");
  request.add_learners(cli.cluster().peer(3).to_string());
  Status refused =
      cli.call(follower, rpc::method::kCliAddLearners, request.SerializeAsString()).first;
  REQUIRE(refused.is_not_leader());
  CHECK(rpc::leader_hint(refused) == cli.cluster().peer(leader));
  // Nothing was proposed.
  CHECK(cli.cluster().node(leader)->list_learners().empty());

  // A client that knows only the follower follows the redirect.
  rpc::ChangeResult added = cli.client({follower}).add_learners({cli.cluster().peer(3)});
  INFO("add-learners: " << added.status);
  REQUIRE(added.ok());
  CHECK(added.replica == cli.cluster().peer(leader));
  CHECK(cli.cluster().node(leader)->list_learners() == std::vector<PeerId>{cli.cluster().peer(3)});
}

TEST_CASE(
    "cli service: a change while another runs is EBUSY; a peer that never catches up is "
    "ECATCHUP",
    "[cli][tcp][errors]") {
  CliCluster cli(4, {0, 1, 2});
  cli.cluster().options().catchup_timeout_ms = 3000;
  for (size_t i = 0; i < 3; ++i) cli.start(i);  // Member 3 never starts.
  const size_t leader = cli.wait_for_leader();
  const PeerId absent = cli.cluster().peer(3);

  // The first change waits for `absent` to catch up, which it never does.
  std::future<rpc::ChangeResult> first = std::async(std::launch::async, [&] {
    return cli.client({0, 1, 2}).add_peer(absent);
  });
  // The leader replicates to a catching-up peer before the change goes any further; its
  // status shows that once it is published again, which each committed entry does.
  const auto replicating_to_absent = [&] {
    for (const PeerReplicationStatus& peer : cli.cluster().node(leader)->get_status().peers) {
      if (peer.peer == absent) return true;
    }
    return false;
  };
  for (int i = 0; i < 1000 && !replicating_to_absent(); ++i) {
    REQUIRE(cli.cluster().propose_and_wait("nudge " + std::to_string(i), kWait).ok());
  }
  REQUIRE(replicating_to_absent());
  rpc::ChangeResult second = cli.client({0, 1, 2}).add_learners({PeerId("127.0.0.1", 1)});
  INFO("second change: " << second.status);
  CHECK(second.status.is_busy());
  CHECK_FALSE(second.outcome_unknown);

  rpc::ChangeResult first_result = first.get();
  INFO("first change: " << first_result.status);
  CHECK(first_result.status.is_catchup());
  CHECK_FALSE(first_result.outcome_unknown);
  CHECK(cli.cluster().node(leader)->list_peers().size() == 3);
}

TEST_CASE("cli service: transfer-leader hands leadership to the named voter",
          "[cli][tcp][transfer]") {
  CliCluster cli(3, {0, 1, 2});
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();
  rpc::CliClient client = cli.client({0, 1, 2});

  const size_t target = (leader + 1) % 3;
  rpc::ChangeResult transferred = client.transfer_leader(cli.cluster().peer(target));
  INFO("transfer-leader: " << transferred.status);
  REQUIRE(transferred.ok());
  CHECK(transferred.replica == cli.cluster().peer(leader));
  CHECK(cli.cluster().wait_until(
      [&] {
        Result<PeerId> now = client.get_leader();
        return now.ok() && *now == cli.cluster().peer(target);
      },
      kWait));

  // No peer named: the most up-to-date other voter takes over.
  REQUIRE(cli.cluster().propose_and_wait("after the transfer", kWait).ok());
  rpc::ChangeResult to_any = client.transfer_leader(PeerId());
  INFO("transfer-leader (any): " << to_any.status);
  REQUIRE(to_any.ok());
  CHECK(to_any.replica == cli.cluster().peer(target));
  CHECK(cli.cluster().wait_until(
      [&] {
        std::optional<size_t> now = cli.cluster().leader();
        return now.has_value() && *now != target;
      },
      kWait));
}

TEST_CASE("cli service: transfer-leader to a non-voter is EINVAL", "[cli][tcp][transfer]") {
  CliCluster cli(3, {0, 1, 2});
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  cli.wait_for_leader();
  rpc::ChangeResult refused = cli.client({0, 1, 2}).transfer_leader(PeerId("127.0.0.1", 1));
  INFO("transfer-leader: " << refused.status);
  CHECK(refused.status.is_invalid_argument());
  CHECK_FALSE(refused.outcome_unknown);
}

TEST_CASE("cli service: a removed replica's stale leader does not mislead the client",
          "[cli][tcp][membership]") {
  TcpClusterOptions options;
  options.snapshots = true;
  CliCluster cli(3, {0, 1, 2}, options);
  for (size_t i = 0; i < 3; ++i) cli.start(i);
  const size_t leader = cli.wait_for_leader();
  const size_t removed = (leader + 1) % 3;
  const size_t next = (leader + 2) % 3;
  rpc::CliClient client = cli.client({0, 1, 2});
  rpc::ChangeResult removal = client.remove_peer(cli.cluster().peer(removed));
  INFO("remove-peer: " << removal.status);
  REQUIRE(removal.ok());
  // The removed replica hears from no leader again, so it keeps naming the old one.
  rpc::ChangeResult transferred = client.transfer_leader(cli.cluster().peer(next));
  INFO("transfer-leader: " << transferred.status);
  REQUIRE(transferred.ok());
  REQUIRE(cli.cluster().wait_until([&] { return cli.cluster().node(next)->is_leader(); }, kWait));
  REQUIRE(cli.cluster().node(removed)->leader_id() == cli.cluster().peer(leader));

  // A client that asks the removed replica first still finds the leader of the newest term.
  rpc::CliClient removed_first = cli.client({removed, leader, next});
  Result<PeerId> found = removed_first.get_leader();
  REQUIRE(found.ok());
  CHECK(*found == cli.cluster().peer(next));
  rpc::ChangeResult snapshot = removed_first.snapshot(PeerId());
  INFO("snapshot: " << snapshot.status);
  CHECK(snapshot.ok());
  CHECK(snapshot.replica == cli.cluster().peer(next));
}
