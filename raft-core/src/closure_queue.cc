#include "closure_queue.h"

#include "raft/check.h"

namespace raft {

std::vector<std::unique_ptr<Closure>> ClosureQueue::reset(LogIndex first_index) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::unique_ptr<Closure>> dropped;
  for (auto& closure : closures_) {
    if (closure) dropped.push_back(std::move(closure));
  }
  closures_.clear();
  first_index_ = first_index;
  return dropped;
}

void ClosureQueue::append(LogIndex first_index, std::vector<std::unique_ptr<Closure>> closures) {
  std::lock_guard<std::mutex> lock(mutex_);
  PONTOON_CHECK(first_index == first_index_ + static_cast<int64_t>(closures_.size()));
  for (auto& closure : closures) closures_.push_back(std::move(closure));
}

std::vector<ClosureQueue::Entry> ClosureQueue::pop_until(LogIndex index) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Entry> popped;
  while (!closures_.empty() && first_index_ <= index) {
    if (closures_.front()) popped.emplace_back(first_index_, std::move(closures_.front()));
    closures_.pop_front();
    ++first_index_;
  }
  // Entries below the queue's first index were proposed before this node led (or by an
  // earlier term of it): they have no closure here.
  if (closures_.empty() && first_index_ <= index) first_index_ = index + 1;
  return popped;
}

size_t ClosureQueue::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closures_.size();
}

}  // namespace raft
