#include "raft/rpc/rpc_client.h"

#include <mutex>
#include <unordered_map>

#include "endpoint.h"
#include "raft/check.h"
#include "rpc_channel.h"

namespace raft::rpc {

Status RpcClientOptions::validate() const {
  if (Status s = validate_max_frame_bytes(max_frame_bytes, "max_frame_bytes"); !s.ok()) return s;
  if (connect_timeout <= Duration::zero()) {
    return Status::InvalidArgument("connect_timeout must be positive");
  }
  if (min_reconnect_backoff <= Duration::zero()) {
    return Status::InvalidArgument("min_reconnect_backoff must be positive");
  }
  if (max_reconnect_backoff < min_reconnect_backoff) {
    return Status::InvalidArgument("max_reconnect_backoff must be >= min_reconnect_backoff");
  }
  if (max_pending_calls_per_endpoint < 1) {
    return Status::InvalidArgument("max_pending_calls_per_endpoint must be >= 1");
  }
  if (max_pending_bytes_per_endpoint < max_frame_bytes) {
    return Status::InvalidArgument("max_pending_bytes_per_endpoint must be >= max_frame_bytes");
  }
  return Status::OK();
}

struct RpcClient::Impl {
  IoContextPool* pool = nullptr;
  RpcClientOptions options;

  std::mutex mu;
  bool shutdown = false;  // Guarded by mu.
  // Keyed by the endpoint text as given. Guarded by mu.
  std::unordered_map<std::string, std::shared_ptr<RpcChannel>> channels;
};

RpcClient::RpcClient(IoContextPool* pool, RpcClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  PONTOON_CHECK(pool != nullptr);
  PONTOON_CHECK_MSG(options.validate().ok(), "invalid RpcClientOptions");
  impl_->pool = pool;
  impl_->options = options;
}

RpcClient::~RpcClient() { shutdown(); }

void RpcClient::call(std::string_view endpoint, uint32_t method_id, std::string request_body,
                     Duration timeout, Callback done) {
  PONTOON_CHECK(done != nullptr);
  std::shared_ptr<RpcChannel> channel;
  Status refused;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->shutdown) {
      refused = Status::Shutdown("rpc client is shut down");
    } else if (auto it = impl_->channels.find(std::string(endpoint)); it != impl_->channels.end()) {
      channel = it->second;
    } else {
      Result<boost::asio::ip::tcp::endpoint> parsed = parse_endpoint(endpoint);
      if (!parsed.ok()) {
        refused = parsed.status();
      } else if (parsed->port() == 0) {
        refused = Status::InvalidArgument("cannot call port 0 of " + std::string(endpoint));
      } else {
        channel =
            std::make_shared<RpcChannel>(impl_->pool->next_context(), *parsed, impl_->options);
        impl_->channels.emplace(std::string(endpoint), channel);
      }
    }
  }
  if (!refused.ok()) {
    done(refused, std::string());
    return;
  }
  channel->call(method_id, std::move(request_body), timeout, std::move(done));
}

void RpcClient::shutdown() {
  PONTOON_CHECK_MSG(!impl_->pool->running(),
                    "RpcClient::shutdown() requires its IoContextPool to be stopped");
  std::unordered_map<std::string, std::shared_ptr<RpcChannel>> channels;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->shutdown = true;
    channels.swap(impl_->channels);
  }
  for (auto& [endpoint, channel] : channels) channel->shutdown();
}

}  // namespace raft::rpc
