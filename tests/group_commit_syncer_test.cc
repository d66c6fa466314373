// GroupCommitSyncer: one sync covers every writer that asked while another sync ran; an idle
// syncer syncs on the caller's thread; callbacks run in the order they were asked for.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "raft/storage/group_commit_syncer.h"

using namespace raft;

namespace {

// A sync the test can hold open: blocks until released once `hold` is set.
class HeldSync {
 public:
  Status operator()() {
    std::unique_lock lock(mu_);
    ++started_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hold_; });
    return result_;
  }
  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release(Status result = Status::OK()) {
    std::lock_guard lock(mu_);
    hold_ = false;
    result_ = std::move(result);
    changed_.notify_all();
  }
  void wait_started(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return started_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool hold_ = false;
  int started_ = 0;
  Status result_;
};

// Callbacks record into this from the syncer's threads; the test reads it after joining.
struct Recorder {
  // Notifies under the lock: a waiter that sees the last entry may destroy the recorder at
  // once, so nothing may touch it after the lock is released.
  void add(int id, const Status& status) {
    std::lock_guard lock(mu);
    order.push_back(id);
    statuses.push_back(status);
    done.notify_all();
  }
  void wait_for(size_t n) {
    std::unique_lock lock(mu);
    done.wait(lock, [&] { return order.size() >= n; });
  }
  std::mutex mu;
  std::condition_variable done;
  std::vector<int> order;
  std::vector<Status> statuses;
};

// Starts a caller (id 0) that finds the syncer idle and stays in its held sync, then queues
// callers 1..n behind it from this thread; returns the first caller's thread.
std::thread hold_first_and_queue(GroupCommitSyncer& syncer, HeldSync& held, Recorder& recorder,
                                 int n) {
  auto record = [&recorder](int id) {
    return [&recorder, id](const Status& s) { recorder.add(id, s); };
  };
  held.hold();
  std::thread first([&syncer, record] { syncer.sync_then(record(0)); });
  held.wait_started(1);
  for (int i = 1; i <= n; ++i) syncer.sync_then(record(i));
  return first;
}

}  // namespace

TEST_CASE("group commit syncer: an idle syncer syncs at once on the caller's thread",
          "[group_commit_syncer]") {
  std::atomic<int> syncs{0};
  GroupCommitSyncer syncer([&] {
    ++syncs;
    return Status::OK();
  });
  std::thread::id ran_on;
  bool ran = false;
  syncer.sync_then([&](const Status& s) {
    ran = s.ok();
    ran_on = std::this_thread::get_id();
  });
  CHECK(ran);  // Before sync_then returned.
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(syncs == 1);
  CHECK(syncer.syncs() == 1);
  CHECK(syncer.callbacks() == 1);
}

TEST_CASE("group commit syncer: writers that ask during a sync share the next one, in order",
          "[group_commit_syncer]") {
  auto held = std::make_shared<HeldSync>();
  Recorder recorder;  // Outlives the syncer, whose thread runs the callbacks.
  GroupCommitSyncer syncer([held] { return (*held)(); });
  // The first caller syncs on its own thread and stays in the held sync; ten more return at
  // once, with nothing synced for them yet.
  std::thread first = hold_first_and_queue(syncer, *held, recorder, 10);
  {
    std::lock_guard lock(recorder.mu);
    CHECK(recorder.order.empty());
  }
  held->release();
  first.join();
  recorder.wait_for(11);
  std::vector<int> expected;
  for (int i = 0; i <= 10; ++i) expected.push_back(i);
  {
    std::lock_guard lock(recorder.mu);
    CHECK(recorder.order == expected);
  }
  // One sync for the first caller, one more for the ten that queued during it.
  CHECK(syncer.syncs() == 2);
  CHECK(syncer.callbacks() == 11);
}

TEST_CASE("group commit syncer: a failed sync fails every writer it covered",
          "[group_commit_syncer]") {
  auto held = std::make_shared<HeldSync>();
  Recorder recorder;  // Outlives the syncer, whose thread runs the callbacks.
  GroupCommitSyncer syncer([held] { return (*held)(); });
  std::thread first = hold_first_and_queue(syncer, *held, recorder, 3);
  held->release(Status::IoError("injected fsync failure"));
  first.join();
  recorder.wait_for(4);
  std::lock_guard lock(recorder.mu);
  for (const Status& s : recorder.statuses) CHECK(s.is_io_error());
}

TEST_CASE("group commit syncer: destruction runs what is still queued", "[group_commit_syncer]") {
  auto held = std::make_shared<HeldSync>();
  Recorder recorder;
  std::thread first;
  {
    GroupCommitSyncer syncer([held] { return (*held)(); });
    held->hold();
    first = std::thread([&] { syncer.sync_then([&](const Status& s) { recorder.add(0, s); }); });
    held->wait_started(1);
    syncer.sync_then([&](const Status& s) { recorder.add(1, s); });
    held->release();
    first.join();
  }  // The destructor waits for the syncer's thread to run callback 1.
  std::lock_guard lock(recorder.mu);
  CHECK(recorder.order == std::vector<int>{0, 1});
}
