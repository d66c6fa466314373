// Connection: one TCP connection carrying frames both ways. RpcServer wraps each accepted
// socket in one, RpcChannel each socket it connects.
//
// Reads feed a FrameDecoder and hand every complete frame to the frame handler. Writes go out
// from the sending thread when nothing else is queued: one non-blocking sendmsg() on the
// socket, so a lane answering or calling does not wake an IO thread for it. Whatever that send
// cannot take (a full socket buffer) and everything sent while it is queued goes out from the
// strand in batches (one gathered write for everything queued while the previous write was in
// flight), in the order sent. A thread inside a SendBatchScope (raft/send_batch.h) has its
// frames collected and written as one send when its scope ends. Every write gathers the
// frames' headers and bodies from where they lie: no body byte is copied to be sent. Any read
// or write error, framing error, or write queue over its limit closes the connection; the
// close handler then runs exactly once with the reason. Framing errors and a peer closing
// mid-frame are logged at kWarn: they mean a broken or hostile peer.
//
// Threading: the socket's executor must be a strand. Reads, the handlers and close() run on
// it; send() may be called from any thread; close() may also be called from any thread once
// the IoContextPool has stopped (no handler can then run concurrently). The write side is
// guarded by write_mu_, which also keeps a direct send() off a socket that close() has closed.
// Ownership: always held by shared_ptr; in-flight operations keep it alive.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "raft/rpc/frame.h"
#include "raft/status.h"

namespace raft::rpc {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using FrameHandler = std::function<void(const std::shared_ptr<Connection>&, Frame)>;
  using CloseHandler = std::function<void(const std::shared_ptr<Connection>&, const Status&)>;

  struct Limits {
    uint64_t max_frame_bytes = kDefaultMaxFrameBytes;
    // Bytes queued for writing (including the batch being written). Beyond it the peer is
    // not reading and the connection is closed.
    uint64_t max_write_queue_bytes = uint64_t{256} << 20;
  };

  // `socket` is connected; `description` names it in logs ("server connection from ip:port").
  // REQUIRES: limits.max_frame_bytes is valid; max_write_queue_bytes >= max_frame_bytes.
  Connection(boost::asio::ip::tcp::socket socket, std::string description, Limits limits);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading. Handlers run on the strand; the frame handler may call send() and
  // close(). REQUIRES: called once.
  void start(FrameHandler on_frame, CloseHandler on_close);

  // Any thread: writes an encoded frame, at once if nothing is queued before it. Returns
  // false (and drops the frame) if the connection is closed or closing.
  bool send(EncodedFrame frame);

  // Closes the socket and runs the close handler with `reason`. Idempotent. `protocol_error`
  // selects kWarn logging.
  void close(const Status& reason, bool protocol_error);

  bool closed() const { return closed_; }
  const std::string& description() const { return description_; }

  // Requests received and not yet answered; RpcServer's bookkeeping, any thread.
  std::atomic<uint64_t>& unanswered_requests() { return unanswered_requests_; }

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, size_t bytes);
  // A frame waiting for the strand, of which the first `written` bytes already left (a direct
  // send that the socket took only in part).
  struct QueuedFrame {
    EncodedFrame frame;
    size_t written = 0;
    size_t unwritten() const { return frame.size() - written; }
  };

  // Writes `frames` at once, in one gathered send, if nothing is queued, and queues for the
  // strand what the socket does not take. The frames are moved from. REQUIRES: `lock` holds
  // write_mu_; it may be released.
  bool send_locked(std::unique_lock<std::mutex>& lock, std::span<EncodedFrame> frames);
  // Any thread: writes the frames collected while a SendBatchScope was open.
  void flush_corked();
  // Strand: writes everything queued in one gathered write.
  void do_write();
  void on_write(const boost::system::error_code& ec);
  // Any thread: closes the connection from its strand.
  void post_close(Status reason, bool protocol_error);

  boost::asio::ip::tcp::socket socket_;
  const boost::asio::any_io_executor executor_;  // The strand; immutable, so any thread may post.
  const std::string description_;
  const Limits limits_;

  // Strand-only state.
  FrameDecoder decoder_;
  std::vector<char> read_buffer_;
  std::vector<Frame> decoded_;  // Reused across reads.
  bool closed_ = false;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::vector<QueuedFrame> write_batch_;                  // Owned by the in-flight write.
  std::vector<boost::asio::const_buffer> write_buffers_;  // write_batch_'s pieces.

  // The write side, guarded by write_mu_. Invariants: writing_ is true while the strand owns
  // the socket's writes (a write in flight or posted), and outbox_ is empty unless writing_;
  // queued_bytes_ == the unwritten bytes of outbox_ and write_batch_ (until closed).
  std::mutex write_mu_;
  std::deque<QueuedFrame> outbox_;
  bool writing_ = false;
  uint64_t queued_bytes_ = 0;
  bool write_closed_ = false;  // Set by close() before the socket closes, or when closing.
  // Frames sent by a thread inside a SendBatchScope (raft/send_batch.h), and by anyone while
  // they wait: written as one send when that thread's scope ends. Only collected while nothing
  // is queued for the strand (writing_ false), so order is kept.
  std::vector<EncodedFrame> corked_;
  uint64_t corked_bytes_ = 0;
  bool cork_pending_ = false;

  std::atomic<uint64_t> unanswered_requests_{0};
};

}  // namespace raft::rpc
