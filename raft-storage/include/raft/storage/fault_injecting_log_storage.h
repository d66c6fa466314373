// FaultInjectingLogStorage and FaultInjectingMetaStorage: decorators that make a working
// LogStorage or RaftMetaStorage behave like a failing disk, for fault-injection tests of the
// whole process (jepsen's disk-eio nemesis) and of the node.
//
// Both are transparent until their shared InjectedDiskFault is armed. From then on every
// operation that would touch the disk returns EIO naming the injected fault, and the wrapped
// storage is no longer called for it:
//   LogStorage:      write() (the append, suffix truncation and fsync path), get_entry(),
//                    get_term() and truncate_prefix() (the ops chosen when arming);
//   RaftMetaStorage: set_term_and_voted_for() (a term or vote that cannot become durable).
// first_log_index(), last_log_index(), term() and voted_for() keep answering from the wrapped
// storage: they report what is already known in memory and never read the disk.
//
// A fault is never disarmed: as with a dying disk, recovering means a new process on the same
// data (which the wrapped storage still holds intact, since no failed call reached it).
//
// Thread-safety: as the wrapped storage. InjectedDiskFault::arm() may be called from any thread
// at any time (an atomic store), e.g. from a thread that sigwait()s for the arming signal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "raft/log_storage.h"

namespace raft {

// The switch shared by the decorators of one replica.
class InjectedDiskFault {
 public:
  // Which LogStorage operations fail once armed (a bit set).
  enum Ops : uint32_t {
    kWrites = 1u << 0,          // write()
    kReads = 1u << 1,           // get_entry(), get_term()
    kTruncatePrefix = 1u << 2,  // truncate_prefix()
    kMetaWrites = 1u << 3,      // RaftMetaStorage::set_term_and_voted_for()
    kAll = kWrites | kReads | kTruncatePrefix | kMetaWrites,
  };

  // `origin` says in every error who injected the fault (e.g. the flag that enabled it), so a
  // log line can never be mistaken for a real disk error.
  explicit InjectedDiskFault(std::string origin);

  // From now on the operations in `ops` fail with EIO; arming again adds to the set.
  void arm(uint32_t ops = kAll);
  bool armed(Ops op) const;
  // The EIO an armed operation returns: "injected disk fault (ORIGIN): OP failed".
  Status error(std::string_view op) const;

 private:
  const std::string origin_;
  std::atomic<uint32_t> armed_ops_{0};
};

class FaultInjectingLogStorage final : public LogStorage {
 public:
  // REQUIRES: inner and fault non-null.
  FaultInjectingLogStorage(std::shared_ptr<LogStorage> inner,
                           std::shared_ptr<const InjectedDiskFault> fault);

  LogIndex first_log_index() const override;
  LogIndex last_log_index() const override;
  Result<LogEntryPtr> get_entry(LogIndex index) const override;
  Result<Term> get_term(LogIndex index) const override;
  Status write(const LogWrite& write) override;
  Status truncate_prefix(LogIndex first_index_kept) override;
  // As the inner storage; an armed write fault fails the sync too (a failing disk fails both).
  bool defers_sync() const override { return inner_->defers_sync(); }
  void sync_then(std::function<void(const Status&)> done) override;

 private:
  const std::shared_ptr<LogStorage> inner_;
  const std::shared_ptr<const InjectedDiskFault> fault_;
};

class FaultInjectingMetaStorage final : public RaftMetaStorage {
 public:
  // REQUIRES: inner and fault non-null.
  FaultInjectingMetaStorage(std::shared_ptr<RaftMetaStorage> inner,
                            std::shared_ptr<const InjectedDiskFault> fault);

  Term term() const override;
  PeerId voted_for() const override;
  Status set_term_and_voted_for(Term term, const PeerId& voted_for) override;

 private:
  const std::shared_ptr<RaftMetaStorage> inner_;
  const std::shared_ptr<const InjectedDiskFault> fault_;
};

}  // namespace raft
