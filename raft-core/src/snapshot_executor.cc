#include "snapshot_executor.h"

#include <algorithm>

#include "raft/check.h"
#include "raft/logging.h"

namespace raft {

SnapshotExecutor::SnapshotExecutor(Options options) : options_(std::move(options)) {
  PONTOON_CHECK(options_.storage != nullptr);
  PONTOON_CHECK(options_.fsm_caller != nullptr);
  PONTOON_CHECK(options_.log_manager != nullptr);
}

template <typename Fn>
void SnapshotExecutor::post_to(const std::shared_ptr<Executor>& lane, Fn fn) {
  std::weak_ptr<SnapshotExecutor> weak = weak_from_this();
  lane->post([weak, fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

template <typename Fn>
void SnapshotExecutor::post_after(Duration delay, Fn fn) {
  std::weak_ptr<SnapshotExecutor> weak = weak_from_this();
  options_.node_lane->post_after(delay, [weak, fn = std::move(fn)]() mutable {
    if (auto self = weak.lock()) fn(*self);
  });
}

Result<std::optional<SnapshotMeta>> SnapshotExecutor::open_latest() {
  Result<std::unique_ptr<SnapshotReader>> reader = options_.storage->open_latest();
  if (!reader.ok()) {
    if (reader.status().is_not_found()) return std::optional<SnapshotMeta>();
    return Status(reader.status().code(), "group " + options_.group_id +
                                              ": cannot open the latest snapshot: " +
                                              std::string(reader.status().message()));
  }
  opened_ = std::move(reader).value();
  last_snapshot_id_ = opened_->meta().last_included;
  return std::optional<SnapshotMeta>(opened_->meta());
}

void SnapshotExecutor::load_opened() {
  if (!opened_) return;
  auto job = std::make_shared<SnapshotLoadJob>();
  job->reader = std::move(opened_);
  const GroupId group = options_.group_id;
  const LogIndex index = job->reader->meta().last_included.index;
  std::weak_ptr<SnapshotExecutor> weak = weak_from_this();
  std::shared_ptr<Executor> node_lane = options_.node_lane;
  job->on_loaded = [weak, node_lane, group, index](const Status& status) {
    if (status.ok()) {
      PONTOON_LOG(kInfo) << "group " << group << ": loaded the snapshot at " << index;
      return;
    }
    node_lane->post([weak, status] {
      if (auto self = weak.lock()) self->options_.on_error(status);
    });
  };
  // The fsm ring is empty this early, so the job cannot be refused.
  PONTOON_CHECK(options_.fsm_caller->load_snapshot(std::move(job)).ok());
}

void SnapshotExecutor::snapshot(std::unique_ptr<Closure> done) {
  if (stopping_) {
    run_closure(std::move(done), Status::Shutdown("node is shutting down"));
    return;
  }
  if (saving_) {
    run_closure(std::move(done), Status::Busy("a snapshot is being saved"));
    return;
  }
  if (download_) {
    run_closure(std::move(done), Status::Busy("a snapshot from the leader is being installed"));
    return;
  }
  saving_ = true;
  done_ = std::move(done);
  const LogIndex min_index = last_snapshot_id_.index;
  post_to(options_.snapshot_lane,
          [min_index](SnapshotExecutor& self) { self.start_save(min_index); });
}

void SnapshotExecutor::start_save(LogIndex min_index) {
  // Snapshot lane: only options_ may be touched here, the rest belongs to the node lane.
  Result<std::unique_ptr<SnapshotWriter>> writer = options_.storage->create_writer();
  if (!writer.ok()) {
    Status failed = writer.status();
    post_to(options_.node_lane, [failed](SnapshotExecutor& self) { self.finish_save(failed, {}); });
    return;
  }
  auto job = std::make_shared<SnapshotSaveJob>();
  job->writer = std::move(writer).value();
  job->min_index = min_index;
  std::weak_ptr<SnapshotExecutor> weak = weak_from_this();
  std::weak_ptr<SnapshotSaveJob> weak_job = job;
  job->on_saved = [weak, weak_job](const Status& status) {
    // The job is alive here: the closure calling this owns it.
    std::shared_ptr<SnapshotSaveJob> locked = weak_job.lock();
    if (auto self = weak.lock(); self && locked) self->on_saved(locked, status);
  };
  Status queued = options_.fsm_caller->save_snapshot(job);
  if (!queued.ok()) {
    post_to(options_.node_lane, [queued](SnapshotExecutor& self) { self.finish_save(queued, {}); });
  }
}

void SnapshotExecutor::on_saved(const std::shared_ptr<SnapshotSaveJob>& job, const Status& status) {
  // Any thread (the state machine's). Publishing is blocking IO: the snapshot lane does it.
  post_to(options_.snapshot_lane, [job, status](SnapshotExecutor& self) {
    if (status.is_not_found()) {
      // Nothing applied since the last snapshot: there is nothing to publish.
      self.post_to(self.options_.node_lane,
                   [](SnapshotExecutor& node_side) { node_side.finish_save(Status::OK(), {}); });
      return;
    }
    // A save that completes while the node stops is still published: it is a valid snapshot.
    Status published = status;
    const SnapshotMeta meta = job->meta;
    if (published.ok()) published = self.options_.storage->publish(std::move(job->writer), meta);
    std::optional<SnapshotMeta> result;
    if (published.ok()) result = meta;
    self.post_to(self.options_.node_lane, [published, result](SnapshotExecutor& node_side) {
      node_side.finish_save(published, result);
    });
  });
}

void SnapshotExecutor::finish_save(const Status& status,
                                   const std::optional<SnapshotMeta>& published) {
  PONTOON_CHECK(saving_);
  saving_ = false;
  if (published) {
    const LogId id = published->last_included;
    PONTOON_CHECK(id.index > last_snapshot_id_.index);
    last_snapshot_id_ = id;
    const int64_t kept_from = id.index.value() + 1 - options_.log_tail_entries;
    const LogIndex first_kept(std::max<int64_t>(1, kept_from));
    Status compacted = options_.log_manager->compact(id, first_kept);
    PONTOON_LOG(kInfo) << "group " << options_.group_id << ": snapshot at " << id.index << " (term "
                       << id.term << ") published; log now starts at "
                       << options_.log_manager->first_log_index();
    if (!compacted.ok() && !compacted.is_shutdown()) {
      // The snapshot is durable; the log is only longer than it needs to be until the next one.
      PONTOON_LOG(kWarn) << "group " << options_.group_id
                         << ": log compaction not queued: " << compacted;
    }
    if (options_.on_snapshot_changed) options_.on_snapshot_changed();
  } else if (!status.ok()) {
    PONTOON_LOG(kWarn) << "group " << options_.group_id << ": snapshot not saved: " << status;
  }
  run_closure(std::move(done_), status);
  if (stopping_ && on_idle_) std::exchange(on_idle_, nullptr)();
}

void SnapshotExecutor::shutdown(std::function<void()> on_idle) {
  stopping_ = true;
  if (download_) end_download(download_, Status::Shutdown("node is shutting down"), false);
  paused_.reset();
  if (!saving_) {
    on_idle();
    return;
  }
  on_idle_ = std::move(on_idle);
}

// ---------------------------------------------------------------------------------------------
// Installing a snapshot from the leader (follower side).

bool SnapshotExecutor::same_snapshot(const InstallSnapshotRequest& a,
                                     const InstallSnapshotRequest& b) {
  if (a.meta.last_included != b.meta.last_included || a.files.size() != b.files.size()) {
    return false;
  }
  for (size_t i = 0; i < a.files.size(); ++i) {
    const SnapshotFile& x = a.files[i];
    const SnapshotFile& y = b.files[i];
    if (x.name != y.name || x.size != y.size || x.crc32c != y.crc32c) return false;
  }
  return true;
}

void SnapshotExecutor::install(const InstallSnapshotRequest& request,
                               std::function<void(const Status&)> done) {
  PONTOON_CHECK(done != nullptr);
  if (stopping_) {
    done(Status::Shutdown("node is shutting down"));
    return;
  }
  if (saving_) {
    done(Status::Busy("a snapshot is being saved; retry the install later"));
    return;
  }
  if (request.meta.last_included.index <= last_snapshot_id_.index) {
    // Already covered by what this node holds.
    done(Status::OK());
    return;
  }
  if (download_ && same_snapshot(download_->request, request)) {
    // The leader re-sent the request (its earlier one failed or timed out): the download
    // continues, now answering this caller and reading from the leader's current reader.
    if (download_->done) download_->done(Status::Stale("superseded by a newer request"));
    download_->done = std::move(done);
    download_->request = request;
    download_->failures = 0;
    return;
  }
  if (download_)
    end_download(download_, Status::Stale("another snapshot is being installed"), false);
  if (paused_ && same_snapshot(paused_->request, request)) {
    std::shared_ptr<Download> resumed = std::move(paused_);
    resumed->request = request;
    resumed->failures = 0;
    resumed->done = std::move(done);
    download_ = resumed;
    PONTOON_LOG(kInfo) << "group " << options_.group_id << ": resuming the download of snapshot "
                       << request.meta.last_included.index << " at file " << resumed->file
                       << ", byte " << resumed->offset;
    fetch_next(resumed);
    return;
  }
  paused_.reset();
  auto download = std::make_shared<Download>();
  download->request = request;
  download->done = std::move(done);
  download_ = download;
  PONTOON_LOG(kInfo) << "group " << options_.group_id << ": installing snapshot "
                     << request.meta.last_included.index << " (term "
                     << request.meta.last_included.term << ", " << request.files.size()
                     << " files) from " << request.server_id;
  start_download(download);
}

void SnapshotExecutor::start_download(std::shared_ptr<Download> download) {
  post_to(options_.snapshot_lane, [download](SnapshotExecutor& self) {
    Result<std::unique_ptr<SnapshotWriter>> writer = self.options_.storage->create_writer();
    Status status = writer.ok() ? Status::OK() : writer.status();
    if (writer.ok()) download->writer = std::move(writer).value();
    self.post_to(self.options_.node_lane, [download, status](SnapshotExecutor& node_side) {
      if (!status.ok()) {
        node_side.end_download(download, status, false);
        return;
      }
      node_side.fetch_next(download);
    });
  });
}

void SnapshotExecutor::fetch_next(const std::shared_ptr<Download>& download) {
  if (download != download_) return;
  const std::vector<SnapshotFile>& files = download->request.files;
  if (download->file == files.size()) {
    post_to(options_.snapshot_lane,
            [download](SnapshotExecutor& self) { self.verify_and_publish(download); });
    return;
  }
  const SnapshotFile& file = files[download->file];
  const uint64_t remaining = file.size - std::min(file.size, download->offset);
  // Ask for at least one byte even when the meta says the file is complete, so the leader
  // confirms its end (and an empty file gets created).
  uint64_t wanted = std::max<uint64_t>(1, std::min<uint64_t>(remaining, options_.chunk_bytes));
  if (options_.throttle) {
    wanted = options_.throttle->acquire(wanted);
    if (wanted == 0) {
      post_after(options_.retry_delay,
                 [download](SnapshotExecutor& self) { self.fetch_next(download); });
      return;
    }
  }
  GetFileRequest request;
  request.group_id = options_.group_id;
  request.server_id = options_.server_id;
  request.peer_id = download->request.server_id;
  request.reader_id = download->request.reader_id;
  request.file_name = file.name;
  request.offset = download->offset;
  request.max_bytes = wanted;
  std::weak_ptr<SnapshotExecutor> weak = weak_from_this();
  std::shared_ptr<Executor> lane = options_.node_lane;
  options_.transport->get_file(
      request, options_.rpc_timeout,
      [weak, lane, download, wanted](const Status& status, const GetFileResponse& response) {
        lane->post([weak, download, wanted, status, response] {
          if (auto self = weak.lock()) self->on_chunk(download, wanted, status, response);
        });
      });
}

void SnapshotExecutor::on_chunk(const std::shared_ptr<Download>& download, uint64_t requested,
                                const Status& status, const GetFileResponse& response) {
  if (download != download_) return;
  if (!status.ok()) {
    retry_fetch(download, status);
    return;
  }
  const SnapshotFile& file = download->request.files[download->file];
  const uint64_t end = download->offset + response.data.size();
  if (response.data.size() > requested || end > file.size) {
    end_download(
        download,
        Status::Corruption("snapshot file " + file.name + " from " +
                           download->request.server_id.to_string() + " is longer than the " +
                           std::to_string(file.size) + " bytes its meta says"),
        false);
    return;
  }
  if (response.eof && end < file.size) {
    end_download(download,
                 Status::Corruption("snapshot file " + file.name + " from " +
                                    download->request.server_id.to_string() + " ends at " +
                                    std::to_string(end) + " bytes, its meta says " +
                                    std::to_string(file.size)),
                 false);
    return;
  }
  if (response.data.empty() && !response.eof) {
    // The leader's throttle gave nothing this time.
    post_after(options_.retry_delay,
               [download](SnapshotExecutor& self) { self.fetch_next(download); });
    return;
  }
  download->failures = 0;
  const bool first_chunk = download->offset == 0;
  const std::string data = response.data;
  const bool eof = response.eof || end == file.size;
  const std::string name = file.name;
  post_to(options_.snapshot_lane, [download, data, name, first_chunk, eof](SnapshotExecutor& self) {
    // The first chunk replaces whatever a superseded attempt left; later ones append.
    Status written = first_chunk ? download->writer->write_file(name, data)
                                 : download->writer->append_file(name, data);
    const uint64_t bytes = data.size();
    self.post_to(self.options_.node_lane,
                 [download, written, bytes, eof](SnapshotExecutor& node_side) {
                   node_side.on_chunk_written(download, written, bytes, eof);
                 });
  });
}

void SnapshotExecutor::on_chunk_written(const std::shared_ptr<Download>& download,
                                        const Status& status, uint64_t bytes, bool eof) {
  if (download != download_) return;
  if (!status.ok()) {
    end_download(download, status, false);
    return;
  }
  download->offset += bytes;
  if (eof) {
    ++download->file;
    download->offset = 0;
  }
  fetch_next(download);
}

void SnapshotExecutor::retry_fetch(const std::shared_ptr<Download>& download, const Status& why) {
  if (why.is_not_found() || ++download->failures > options_.max_fetch_failures) {
    // The leader no longer serves this reader, or cannot be reached: give up for now but keep
    // the bytes; the leader's next InstallSnapshot of the same snapshot resumes them.
    PONTOON_LOG(kWarn) << "group " << options_.group_id << ": snapshot download paused at file "
                       << download->file << ", byte " << download->offset << ": " << why;
    end_download(download,
                 Status(why.code(), "fetching the snapshot: " + std::string(why.message())), true);
    return;
  }
  post_after(options_.retry_delay,
             [download](SnapshotExecutor& self) { self.fetch_next(download); });
}

void SnapshotExecutor::verify_and_publish(const std::shared_ptr<Download>& download) {
  // Snapshot lane. Nothing is published unless every file arrived whole.
  Status status;
  for (const SnapshotFile& expected : download->request.files) {
    Result<SnapshotFile> got = download->writer->describe_file(expected.name);
    if (!got.ok()) {
      status = Status(got.status().code(),
                      "snapshot file " + expected.name +
                          " was not received: " + std::string(got.status().message()));
      break;
    }
    if (got->size != expected.size || got->crc32c != expected.crc32c) {
      status = Status::Corruption(
          "snapshot file " + expected.name + " from " + download->request.server_id.to_string() +
          " fails its checksum (" + std::to_string(got->size) + " bytes received, meta says " +
          std::to_string(expected.size) + ")");
      break;
    }
  }
  if (status.ok() && download->writer->files().size() != download->request.files.size()) {
    status = Status::Corruption("the received snapshot holds files its meta does not list");
  }
  if (status.ok()) {
    status = options_.storage->publish(std::move(download->writer), download->request.meta);
  }
  auto job = std::make_shared<SnapshotLoadJob>();
  if (status.ok()) {
    Result<std::unique_ptr<SnapshotReader>> opened = options_.storage->open_latest();
    if (opened.ok()) {
      job->reader = std::move(opened).value();
    } else {
      status = opened.status();
    }
  }
  post_to(options_.node_lane, [download, status, job](SnapshotExecutor& self) {
    if (!status.ok()) {
      self.end_download(download, status, false);
      return;
    }
    // The snapshot is durable: from here on a restart comes back on it. Load it, in order
    // with the entries the fsm lane is applying.
    PONTOON_CHECK(download->request.meta.last_included.index > self.last_snapshot_id_.index);
    self.last_snapshot_id_ = download->request.meta.last_included;
    if (self.options_.on_snapshot_changed) self.options_.on_snapshot_changed();
    std::weak_ptr<SnapshotExecutor> weak = self.weak_from_this();
    std::shared_ptr<Executor> lane = self.options_.node_lane;
    job->on_loaded = [weak, lane, download](const Status& loaded) {
      lane->post([weak, download, loaded] {
        if (auto executor = weak.lock()) executor->on_installed(download, loaded);
      });
    };
    Status queued = self.options_.fsm_caller->load_snapshot(job);
    if (!queued.ok()) self.on_installed(download, queued);
  });
}

void SnapshotExecutor::on_installed(const std::shared_ptr<Download>& download,
                                    const Status& status) {
  // ESTALE: the state machine had already applied past the snapshot; it holds all of it.
  if (status.ok() || status.is_stale()) {
    Status reset = options_.log_manager->reset_to_snapshot(download->request.meta.last_included);
    if (!reset.ok() && !reset.is_shutdown()) {
      PONTOON_LOG(kWarn) << "group " << options_.group_id
                         << ": log reset after the install not queued: " << reset;
    }
    PONTOON_LOG(kInfo) << "group " << options_.group_id << ": installed snapshot "
                       << download->request.meta.last_included.index;
    end_download(download, Status::OK(), false);
    return;
  }
  // A failed load has already stopped the state machine (and reported through on_error).
  end_download(download, status, false);
}

void SnapshotExecutor::end_download(std::shared_ptr<Download> download, const Status& status,
                                    bool keep) {
  if (download != download_) return;
  download_.reset();
  // A caller replaced by a newer request is not a failure of the install.
  if (!status.is_stale()) last_install_error_ = status;
  if (options_.on_snapshot_changed) options_.on_snapshot_changed();
  if (!status.ok()) {
    PONTOON_LOG(kWarn) << "group " << options_.group_id << ": snapshot install of "
                       << download->request.meta.last_included.index << " ended: " << status;
  }
  if (keep) {
    paused_ = download;
  } else {
    // The writer belongs to the snapshot lane; drop it there, after any write in flight.
    post_to(options_.snapshot_lane, [download](SnapshotExecutor&) { download->writer.reset(); });
  }
  if (auto done = std::exchange(download->done, nullptr)) done(status);
}

}  // namespace raft
