// TcpTransport: raft::RaftTransport over TCP, for real deployments.
//
// One TcpTransport serves every Raft group of a process: it listens on one endpoint and
// routes incoming RequestVote, AppendEntries, InstallSnapshot and GetFile (method ids 1-4,
// method_ids.h) by (group id, receiver peer id) to the registered RaftService; it sends
// outgoing ones to request.peer_id.endpoint() over one multiplexed
// connection per remote endpoint (RpcClient). Messages are protobuf (proto/raft.proto) in
// frames (frame.h).
//
// Errors seen by callers of request_vote, append_entries, install_snapshot and get_file (the
// response is then default):
//   ENOENT naming the group and peer  — the remote process hosts no such replica;
//   EINVAL/ECORRUPTION                — the remote rejected the request, or its reply, as
//                                       malformed;
//   ETIMEDOUT, EHOSTDOWN, EBUSY       — see RpcClient;
//   ESHUTDOWN                         — this transport is not running (not started, or shut
//                                       down; shutdown() fails outstanding calls with it).
// `done` runs on an IO thread, or inline on the calling thread if the call fails at once
// (not running, EBUSY, EINVAL): callers must not hold a lock that `done` takes.
//
// Incoming calls run the service's handle_* on an IO thread; they must not block.
//
// Threading: one IoContextPool of options.io_threads threads runs all network IO and timers.
// Every method may be called from any thread, except that shutdown() (and the destructor)
// must not run on an IO thread, i.e. not from inside a `done` or a handle_* call.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "raft/rpc/io_context_pool.h"
#include "raft/rpc/rpc_client.h"
#include "raft/rpc/rpc_server.h"
#include "raft/transport.h"

namespace raft::rpc {

struct TcpTransportOptions {
  // Threads of the IoContextPool; by default one per core (DESIGN.md, "Threads").
  size_t io_threads = std::max(1u, std::thread::hardware_concurrency());
  RpcServerOptions server;
  RpcClientOptions client;

  // EINVAL naming the first bad option.
  Status validate() const;
};

class TcpTransport final : public RaftTransport {
 public:
  // `listen_endpoint` is "ip:port"; port 0 picks a free port (see listen_port()).
  explicit TcpTransport(std::string listen_endpoint, TcpTransportOptions options = {});
  // Shuts down. REQUIRES: not on an IO thread.
  ~TcpTransport() override;

  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Validates the options (EINVAL naming the option), binds the listen endpoint (EIO naming
  // the address if it cannot) and starts the IO threads. EINVAL if already started or shut
  // down. Services may be registered before or after.
  Status start();

  // Stops the IO threads, closes every connection, and fails every outstanding outgoing call
  // with ESHUTDOWN (their callbacks run on this thread). Later calls fail with ESHUTDOWN.
  // Idempotent; final (a transport cannot be restarted). REQUIRES: not on an IO thread.
  void shutdown();

  // Serves `method_id` (method_ids.h) on the same port as Raft, for a service that lives
  // beside its groups (an example service, the CLI). EINVAL if the id is taken or the
  // transport has already started.
  Status register_method(uint32_t method_id, RpcServer::Handler handler);

  // The port actually bound. REQUIRES: start() returned OK.
  uint16_t listen_port() const;
  // "ip:port" actually bound. REQUIRES: start() returned OK.
  std::string listen_address() const;

  // The server, for diagnostics (connection counts). REQUIRES: start() returned OK.
  const RpcServer& rpc_server() const;

  // RaftTransport.
  Status register_service(const GroupId& group_id, const PeerId& self,
                          RaftService* service) override;
  // REQUIRES: not called from within a handle_* call of that same service (it would wait for
  // itself).
  void unregister_service(const GroupId& group_id, const PeerId& self) override;
  void request_vote(const RequestVoteRequest& request, Duration timeout,
                    RpcCallback<RequestVoteResponse> done) override;
  void append_entries(const AppendEntriesRequest& request, Duration timeout,
                      RpcCallback<AppendEntriesResponse> done) override;
  void install_snapshot(const InstallSnapshotRequest& request, Duration timeout,
                        RpcCallback<InstallSnapshotResponse> done) override;
  void get_file(const GetFileRequest& request, Duration timeout,
                RpcCallback<GetFileResponse> done) override;
  void timeout_now(const TimeoutNowRequest& request, Duration timeout,
                   RpcCallback<TimeoutNowResponse> done) override;
  void read_index(const ReadIndexRequest& request, Duration timeout,
                  RpcCallback<ReadIndexResponse> done) override;

 private:
  // One (group, peer) → service binding. Calls into the service hold an "active call"; on
  // unregister the binding is closed, then waited on until no call is active.
  class Registration {
   public:
    explicit Registration(RaftService* service) : service_(service) {}
    RaftService* service() const { return service_; }
    // False once closed; otherwise the caller may use service() until leave().
    bool enter();
    void leave();
    // After this returns no call is active and enter() fails.
    void close_and_wait();

   private:
    RaftService* const service_;
    std::mutex mu_;
    std::condition_variable idle_;
    int active_calls_ = 0;  // Guarded by mu_. Invariant: >= 0.
    bool closed_ = false;   // Guarded by mu_.
  };

  enum class State { kNew, kRunning, kShutdown };
  using RouteKey = std::pair<GroupId, PeerId>;

  std::shared_ptr<Registration> find_registration(const GroupId& group_id,
                                                  const PeerId& peer) const;
  // Registers `method_id` on `server` to decode its requests and hand them to `handle`.
  template <typename Request, typename Response>
  void register_raft_method(RpcServer* server, uint32_t method_id,
                            void (RaftService::*handle)(const Request&, RpcCallback<Response>));
  template <typename Request, typename Response>
  void serve(const std::string& request_body, RpcServer::Responder respond,
             void (RaftService::*handle)(const Request&, RpcCallback<Response>));
  template <typename Request, typename Response>
  void send(uint32_t method_id, const Request& request, Duration timeout,
            RpcCallback<Response> done);

  const std::string listen_endpoint_;
  std::map<uint32_t, RpcServer::Handler> extra_methods_;  // Guarded by lifecycle_mu_.
  const TcpTransportOptions options_;

  std::mutex lifecycle_mu_;  // Serialises start() and shutdown().
  // Set under lifecycle_mu_; read without it by calls, which is why it is atomic. The
  // pointers below are set before state_ becomes kRunning and never reset before the
  // destructor, so a caller that saw kRunning may use them.
  std::atomic<State> state_{State::kNew};
  // Declared in destruction order: client and server go before the pool they run on.
  std::unique_ptr<IoContextPool> pool_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RpcClient> client_;

  mutable std::mutex routes_mu_;
  std::map<RouteKey, std::shared_ptr<Registration>> routes_;  // Guarded by routes_mu_.
};

}  // namespace raft::rpc
