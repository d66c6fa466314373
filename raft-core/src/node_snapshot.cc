// NodeImpl and snapshots: the triggers (Node::snapshot, the interval timer, the log-distance
// margin), InstallSnapshot on a follower (Raft §7), and the leader serving its snapshot's
// files to followers with GetFile. The snapshot work itself is SnapshotExecutor's.
#include "node_impl.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

// ---------------------------------------------------------------------------------------------
// Snapshot triggers: Node::snapshot, the interval timer and the log-distance margin.

void NodeImpl::snapshot(std::unique_ptr<Closure> done) {
  if (!node_lane_) {
    run_closure(std::move(done), Status::Shutdown("node is not initialized"));
    return;
  }
  auto holder = std::make_shared<std::unique_ptr<Closure>>(std::move(done));
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  node_lane_->post([weak, holder] {
    auto self = weak.lock();
    if (!self) {
      run_closure(std::move(*holder), Status::Shutdown("node is gone"));
      return;
    }
    if (!self->snapshot_executor_) {
      run_closure(
          std::move(*holder),
          Status::InvalidArgument("snapshots are off: NodeOptions.snapshot_storage is not set"));
    } else if (self->role_ == Role::kShutdown) {
      run_closure(std::move(*holder), Status::Shutdown("node is shutting down"));
    } else if (self->role_ == Role::kError) {
      run_closure(std::move(*holder), Status::IoError("node is stopped on an error"));
    } else {
      self->snapshot_executor_->snapshot(std::move(*holder));
    }
  });
}

void NodeImpl::schedule_snapshot_timer(bool first) {
  const int64_t interval_ms = options_.snapshot_interval_s * 1000;
  // The first one comes at a random point of the first interval, so that the groups of one
  // process (started together) spread their snapshots out.
  const int64_t delay_ms =
      first ? std::uniform_int_distribution<int64_t>(1, interval_ms)(rng_) : interval_ms;
  const uint64_t generation = ++snapshot_timer_generation_;
  post_after_ms(delay_ms, [generation](NodeImpl& node) { node.on_snapshot_timer(generation); });
}

void NodeImpl::on_snapshot_timer(uint64_t generation) {
  if (generation != snapshot_timer_generation_) return;
  if (role_ == Role::kShutdown || role_ == Role::kError) return;
  if (!snapshot_executor_->saving()) snapshot_executor_->snapshot(nullptr);
  schedule_snapshot_timer(false);
}

void NodeImpl::maybe_snapshot_by_margin() {
  if (!snapshot_executor_ || options_.snapshot_log_index_margin <= 0) return;
  if (snapshot_executor_->saving() || role_ == Role::kShutdown || role_ == Role::kError) return;
  const int64_t since = fsm_caller_->applied_index() - snapshot_executor_->last_snapshot_id().index;
  if (since >= options_.snapshot_log_index_margin) snapshot_executor_->snapshot(nullptr);
}

// ---------------------------------------------------------------------------------------------
// InstallSnapshot, follower side (Raft §7).

void NodeImpl::handle_install_snapshot(const InstallSnapshotRequest& request,
                                       RpcCallback<InstallSnapshotResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_install_snapshot);
}

void NodeImpl::on_install_snapshot(const InstallSnapshotRequest& request,
                                   RpcCallback<InstallSnapshotResponse> done) {
  if (role_ == Role::kShutdown) {
    done(Status::Shutdown("node is shutting down"), InstallSnapshotResponse{});
    return;
  }
  if (role_ == Role::kError) {
    done(Status::IoError("node is stopped on an error"), InstallSnapshotResponse{});
    return;
  }
  InstallSnapshotResponse response;
  if (request.term < current_term_) {
    response.term = current_term_;
    done(Status::OK(), response);
    return;
  }
  follow_leader(request.term, request.server_id);
  response.term = current_term_;
  if (!snapshot_executor_) {
    PONTOON_LOG(kWarn) << "group " << group_id_ << " peer " << server_id_
                       << ": refuses a snapshot from " << request.server_id
                       << ": NodeOptions.snapshot_storage is not set";
    done(Status::OK(), response);
    return;
  }
  if (request.meta.last_included.index <= ballot_box_.commit_index()) {
    // Everything the snapshot covers is committed and durable here already.
    response.success = true;
    done(Status::OK(), response);
    return;
  }
  const Term request_term = request.term;
  const SnapshotMeta meta = request.meta;
  // Runs on the node lane while the executor (and so this node) exists.
  snapshot_executor_->install(request, [this, done, request_term, meta](const Status& status) {
    InstallSnapshotResponse answer;
    answer.term = current_term_;
    answer.success = status.ok() && request_term == current_term_;
    if (status.ok()) {
      // The snapshot's configuration is the base now; configurations after it stay only if the
      // log kept its entries after the snapshot.
      conf_manager_.truncate_after(log_manager_->last_log_index());
      conf_manager_.set_base(meta.last_included, meta.configuration());
      if (ballot_box_.advance_to(meta.last_included.index)) on_commit_advanced();
    }
    publish_status();
    done(Status::OK(), answer);
  });
}

// ---------------------------------------------------------------------------------------------
// Serving the snapshot to followers, leader side.

void NodeImpl::open_served_snapshot(
    std::function<void(const Status&, const ServedSnapshot&)> done) {
  const LogId latest = snapshot_executor_ ? snapshot_executor_->last_snapshot_id() : LogId{};
  if (latest.index == LogIndex(0)) {
    done(Status::NotFound("this leader has no snapshot"), ServedSnapshot{});
    return;
  }
  if (served_.reader_id != 0 && served_.meta.last_included == latest) {
    done(Status::OK(), served_);
    return;
  }
  served_waiters_.push_back(std::move(done));
  if (served_waiters_.size() > 1) return;  // An open is already under way.
  std::weak_ptr<NodeImpl> weak = weak_from_this();
  std::shared_ptr<SnapshotStorage> storage = options_.snapshot_storage;
  snapshot_lane_->post([weak, storage] {
    Result<std::unique_ptr<SnapshotReader>> opened = storage->open_latest();
    std::shared_ptr<SnapshotReader> reader;
    Status status = opened.ok() ? Status::OK() : opened.status();
    if (opened.ok()) reader = std::move(opened).value();
    auto self = weak.lock();
    if (!self) return;
    self->post([reader, status](NodeImpl& node) {
      if (status.ok()) {
        node.served_reader_ = reader;
        node.served_.reader_id = node.next_reader_id_++;
        node.served_.meta = reader->meta();
        node.served_.files = reader->files();
      } else {
        PONTOON_LOG(kError) << "group " << node.group_id_
                            << ": cannot open the snapshot to send: " << status;
      }
      std::vector<std::function<void(const Status&, const ServedSnapshot&)>> waiters;
      waiters.swap(node.served_waiters_);
      for (auto& waiter : waiters) waiter(status, node.served_);
    });
  });
}

void NodeImpl::handle_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done) {
  dispatch(request, std::move(done), &NodeImpl::on_get_file);
}

void NodeImpl::on_get_file(const GetFileRequest& request, RpcCallback<GetFileResponse> done) {
  if (!served_reader_ || request.reader_id != served_.reader_id) {
    done(Status::NotFound("no snapshot is served under reader id " +
                          std::to_string(request.reader_id)),
         GetFileResponse{});
    return;
  }
  auto file = std::find_if(served_.files.begin(), served_.files.end(),
                           [&](const SnapshotFile& f) { return f.name == request.file_name; });
  if (file == served_.files.end()) {
    done(Status::InvalidArgument("the snapshot has no file " + request.file_name),
         GetFileResponse{});
    return;
  }
  uint64_t wanted = std::min<uint64_t>(request.max_bytes, options_.snapshot_chunk_bytes);
  if (options_.snapshot_throttle) wanted = options_.snapshot_throttle->acquire(wanted);
  const uint64_t size = file->size;
  std::shared_ptr<SnapshotReader> reader = served_reader_;
  const std::string name = request.file_name;
  const uint64_t offset = request.offset;
  // Reading is blocking IO: the snapshot lane does it and answers from there.
  snapshot_lane_->post([reader, name, offset, wanted, size, done] {
    GetFileResponse response;
    if (wanted > 0 && offset < size) {
      Result<std::string> chunk = reader->read_chunk(name, offset, wanted);
      if (!chunk.ok()) {
        done(chunk.status(), GetFileResponse{});
        return;
      }
      response.data = std::move(chunk).value();
      // A short read means the file ended early: say so, and the follower, which knows how
      // long the file should be, rejects it rather than wait for bytes that never come.
      response.eof = response.data.size() < std::min<uint64_t>(wanted, size - offset);
    }
    response.eof = response.eof || offset + response.data.size() >= size;
    done(Status::OK(), response);
  });
}

}  // namespace raft
