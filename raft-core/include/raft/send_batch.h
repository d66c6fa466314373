// SendBatchScope: lets a thread that is about to send many messages hand them to the transport
// as one write per connection instead of one system call each.
//
// A lane that answers a batch (the state-machine lane running the closures of 40 applied
// entries, the disk lane acknowledging every AppendEntries one fsync covered) opens a scope
// around the batch; a transport that supports it (raft-rpc's Connection) then queues the frames
// it is given on this thread and writes them when the outermost scope on the thread ends, each
// connection's frames in one send. Without a scope, or with a transport that ignores it, nothing
// changes.
//
// Contract for scope holders: do not block inside a scope on an answer to something sent inside
// it (it has not left yet). Blocking waits of the project's own (raft::rpc::wait_for_callback)
// call flush() first; a scope is meant to span a short, non-blocking stretch of work.
//
// Thread-safety: all state is per thread. Scopes nest; only the outermost one flushes. Not
// copyable.
#pragma once

#include <functional>

namespace raft {

class SendBatchScope {
 public:
  SendBatchScope();
  ~SendBatchScope();  // The outermost scope runs the deferred flushes.
  SendBatchScope(const SendBatchScope&) = delete;
  SendBatchScope& operator=(const SendBatchScope&) = delete;

  // True on a thread inside at least one scope.
  static bool active();
  // REQUIRES: active(). Runs `flush` when the outermost scope on this thread ends (or at the
  // next flush()), in the order registered.
  static void defer(std::function<void()> flush);
  // Runs the flushes deferred so far on this thread now; the scopes stay open.
  static void flush();
};

}  // namespace raft
