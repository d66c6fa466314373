#include "raft/storage/memory_log_storage.h"

#include <mutex>
#include <string>
#include <utility>

#include "log_write_plan.h"
#include "raft/check.h"
#include "raft/storage/log_record.h"

namespace raft {

MemoryLogStorage::MemoryLogStorage(GroupId group) : group_(std::move(group)) {}

LogIndex MemoryLogStorage::first_log_index() const {
  std::shared_lock lock(mu_);
  return first_;
}

LogIndex MemoryLogStorage::last_log_index() const {
  std::shared_lock lock(mu_);
  return first_ + static_cast<int64_t>(records_.size()) - 1;
}

Result<const std::string*> MemoryLogStorage::record_locked(LogIndex index) const {
  LogIndex last = first_ + static_cast<int64_t>(records_.size()) - 1;
  if (index < first_ || index > last) {
    return Status::NotFound("group " + group_ + ": log index " + std::to_string(index.value()) +
                            " is outside [" + std::to_string(first_.value()) + ", " +
                            std::to_string(last.value()) + "]");
  }
  return &records_[static_cast<size_t>(index - first_)];
}

Result<LogEntryPtr> MemoryLogStorage::get_entry(LogIndex index) const {
  std::shared_lock lock(mu_);
  Result<const std::string*> record = record_locked(index);
  if (!record.ok()) return record.status();
  return log_record::decode(**record, group_, index);
}

Result<Term> MemoryLogStorage::get_term(LogIndex index) const {
  std::shared_lock lock(mu_);
  Result<const std::string*> record = record_locked(index);
  if (!record.ok()) return record.status();
  return log_record::decode_term(**record, group_, index);
}

Status MemoryLogStorage::write(const LogWrite& write) {
  LogIndex last;
  Result<LogWritePlan> plan = Status::InvalidArgument("unplanned");
  {
    std::shared_lock lock(mu_);
    last = first_ + static_cast<int64_t>(records_.size()) - 1;
    plan = plan_log_write(write, group_, first_, last);
  }
  if (!plan.ok()) return plan.status();

  // Checksums are computed outside the lock so readers never wait for them.
  std::deque<std::string> encoded;
  for (const LogEntryPtr& entry : write.entries) encoded.push_back(log_record::encode(*entry));

  std::unique_lock lock(mu_);
  // Writes come from one thread at a time (LogStorage contract), so the log cannot have moved
  // since the plan was made.
  PONTOON_CHECK(first_ + static_cast<int64_t>(records_.size()) - 1 == last);
  records_.resize(static_cast<size_t>(plan->keep_last + 1 - first_));
  for (std::string& record : encoded) records_.push_back(std::move(record));
  PONTOON_CHECK(first_ + static_cast<int64_t>(records_.size()) - 1 == plan->new_last);
  return Status::OK();
}

Status MemoryLogStorage::truncate_prefix(LogIndex first_index_kept) {
  std::unique_lock lock(mu_);
  if (first_index_kept <= first_) return Status::OK();
  int64_t drop = first_index_kept - first_;
  if (drop >= static_cast<int64_t>(records_.size())) {
    records_.clear();
  } else {
    records_.erase(records_.begin(), records_.begin() + drop);
  }
  first_ = first_index_kept;
  return Status::OK();
}

void MemoryLogStorage::corrupt_record_for_testing(LogIndex index) {
  std::unique_lock lock(mu_);
  Result<const std::string*> record = record_locked(index);
  PONTOON_CHECK_MSG(record.ok(), "corrupt_record_for_testing: index outside the log");
  std::string& bytes = records_[static_cast<size_t>(index - first_)];
  PONTOON_CHECK(!bytes.empty());
  bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
}

}  // namespace raft
