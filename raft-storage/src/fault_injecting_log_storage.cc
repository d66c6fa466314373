#include "raft/storage/fault_injecting_log_storage.h"

#include <utility>

#include "raft/check.h"

namespace raft {

InjectedDiskFault::InjectedDiskFault(std::string origin) : origin_(std::move(origin)) {}

void InjectedDiskFault::arm(uint32_t ops) {
  PONTOON_CHECK((ops & ~static_cast<uint32_t>(kAll)) == 0);
  armed_ops_.fetch_or(ops);
}

bool InjectedDiskFault::armed(Ops op) const { return (armed_ops_.load() & op) != 0; }

Status InjectedDiskFault::error(std::string_view op) const {
  return Status::IoError("injected disk fault (" + origin_ + "): " + std::string(op) + " failed");
}

FaultInjectingLogStorage::FaultInjectingLogStorage(std::shared_ptr<LogStorage> inner,
                                                   std::shared_ptr<const InjectedDiskFault> fault)
    : inner_(std::move(inner)), fault_(std::move(fault)) {
  PONTOON_CHECK(inner_ != nullptr);
  PONTOON_CHECK(fault_ != nullptr);
}

LogIndex FaultInjectingLogStorage::first_log_index() const { return inner_->first_log_index(); }

LogIndex FaultInjectingLogStorage::last_log_index() const { return inner_->last_log_index(); }

Result<LogEntryPtr> FaultInjectingLogStorage::get_entry(LogIndex index) const {
  if (fault_->armed(InjectedDiskFault::kReads)) {
    return fault_->error("reading log entry " + std::to_string(index.value()));
  }
  return inner_->get_entry(index);
}

Result<Term> FaultInjectingLogStorage::get_term(LogIndex index) const {
  if (fault_->armed(InjectedDiskFault::kReads)) {
    return fault_->error("reading the term of log entry " + std::to_string(index.value()));
  }
  return inner_->get_term(index);
}

Status FaultInjectingLogStorage::write(const LogWrite& write) {
  if (fault_->armed(InjectedDiskFault::kWrites)) return fault_->error("log write");
  return inner_->write(write);
}

void FaultInjectingLogStorage::sync_then(std::function<void(const Status&)> done) {
  // Checked when the sync completes: a fault armed meanwhile fails it, as a disk that went bad
  // under an fsync would.
  inner_->sync_then([fault = fault_, done = std::move(done)](const Status& synced) {
    done(synced.ok() && fault->armed(InjectedDiskFault::kWrites) ? fault->error("log sync")
                                                                 : synced);
  });
}

Status FaultInjectingLogStorage::truncate_prefix(LogIndex first_index_kept) {
  if (fault_->armed(InjectedDiskFault::kTruncatePrefix)) {
    return fault_->error("log prefix truncation");
  }
  return inner_->truncate_prefix(first_index_kept);
}

FaultInjectingMetaStorage::FaultInjectingMetaStorage(std::shared_ptr<RaftMetaStorage> inner,
                                                     std::shared_ptr<const InjectedDiskFault> fault)
    : inner_(std::move(inner)), fault_(std::move(fault)) {
  PONTOON_CHECK(inner_ != nullptr);
  PONTOON_CHECK(fault_ != nullptr);
}

Term FaultInjectingMetaStorage::term() const { return inner_->term(); }

PeerId FaultInjectingMetaStorage::voted_for() const { return inner_->voted_for(); }

Status FaultInjectingMetaStorage::set_term_and_voted_for(Term term, const PeerId& voted_for) {
  if (fault_->armed(InjectedDiskFault::kMetaWrites)) return fault_->error("term and vote write");
  return inner_->set_term_and_voted_for(term, voted_for);
}

}  // namespace raft
