#include "connection.h"

#include <sys/socket.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <utility>

#include "raft/check.h"
#include "raft/logging.h"
#include "raft/send_batch.h"

namespace raft::rpc {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;

}  // namespace

Connection::Connection(boost::asio::ip::tcp::socket socket, std::string description, Limits limits)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      description_(std::move(description)),
      limits_(limits),
      decoder_(limits.max_frame_bytes),
      read_buffer_(kReadBufferBytes) {
  PONTOON_CHECK(limits.max_write_queue_bytes >= limits.max_frame_bytes);
}

void Connection::start(FrameHandler on_frame, CloseHandler on_close) {
  PONTOON_CHECK(on_frame != nullptr);
  PONTOON_CHECK(on_close != nullptr);
  PONTOON_CHECK(on_frame_ == nullptr);
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  do_read();
}

void Connection::do_read() {
  socket_.async_read_some(boost::asio::buffer(read_buffer_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t bytes) { self->on_read(ec, bytes); });
}

void Connection::on_read(const boost::system::error_code& ec, size_t bytes) {
  if (closed_) return;
  if (ec == boost::asio::error::eof) {
    if (decoder_.buffered_bytes() > 0) {
      close(Status::Corruption("peer closed the connection mid-frame (" +
                               std::to_string(decoder_.buffered_bytes()) +
                               " bytes of an incomplete frame)"),
            /*protocol_error=*/true);
    } else {
      close(Status::Unavailable("closed by peer"), /*protocol_error=*/false);
    }
    return;
  }
  if (ec) {
    close(Status::Unavailable("read failed: " + ec.message()), /*protocol_error=*/false);
    return;
  }
  decoded_.clear();
  const Status status = decoder_.feed(std::string_view(read_buffer_.data(), bytes), &decoded_);
  // Frames that arrived whole before a framing error are still served; the handler may close
  // the connection, after which nothing more is delivered. Answers the handlers send at once
  // leave together, one write per connection, when the batch has been handled.
  {
    SendBatchScope batch;
    for (Frame& frame : decoded_) {
      if (closed_) break;
      on_frame_(shared_from_this(), std::move(frame));
    }
  }
  decoded_.clear();
  if (closed_) return;
  if (!status.ok()) {
    close(status, /*protocol_error=*/true);
    return;
  }
  do_read();
}

bool Connection::send(std::string frame) {
  PONTOON_DCHECK(frame.size() >= kFrameHeaderBytes);
  std::unique_lock<std::mutex> lock(write_mu_);
  if (write_closed_) return false;
  if (queued_bytes_ + corked_.size() + frame.size() > limits_.max_write_queue_bytes) {
    write_closed_ = true;
    lock.unlock();
    post_close(
        Status::Busy("write queue would exceed max_write_queue_bytes " +
                     std::to_string(limits_.max_write_queue_bytes) + "; the peer is not reading"),
        /*protocol_error=*/true);
    return false;
  }
  if (cork_pending_) {
    // A batch is collecting: join it, so frames keep the order of the send() calls.
    corked_.append(frame);
    return true;
  }
  if (!writing_ && SendBatchScope::active()) {
    corked_ = std::move(frame);
    cork_pending_ = true;
    lock.unlock();
    SendBatchScope::defer([self = shared_from_this()] { self->flush_corked(); });
    return true;
  }
  return send_locked(lock, std::move(frame));
}

void Connection::flush_corked() {
  std::unique_lock<std::mutex> lock(write_mu_);
  if (!cork_pending_) return;
  cork_pending_ = false;
  std::string frames = std::move(corked_);
  corked_.clear();
  if (write_closed_) return;
  send_locked(lock, std::move(frames));
}

bool Connection::send_locked(std::unique_lock<std::mutex>& lock, std::string frame) {
  size_t written = 0;
  if (!writing_) {
    // Nothing queued before this frame: try it on the socket from this thread.
    const ssize_t n =
        ::send(socket_.native_handle(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(frame.size())) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      const int error = errno;
      write_closed_ = true;
      lock.unlock();
      post_close(Status::Unavailable("write failed: " + std::string(std::strerror(error))),
                 /*protocol_error=*/false);
      return false;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  // The rest goes out from the strand, after anything already queued.
  if (written > 0) frame.erase(0, written);
  queued_bytes_ += frame.size();
  outbox_.push_back(std::move(frame));
  if (!std::exchange(writing_, true)) {
    lock.unlock();
    boost::asio::post(executor_, [self = shared_from_this()] { self->do_write(); });
  }
  return true;
}

void Connection::post_close(Status reason, bool protocol_error) {
  boost::asio::post(executor_, [self = shared_from_this(), reason = std::move(reason),
                                protocol_error] { self->close(reason, protocol_error); });
}

void Connection::do_write() {
  if (closed_) return;
  PONTOON_DCHECK(write_batch_.empty());
  std::vector<boost::asio::const_buffer> buffers;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    PONTOON_CHECK(writing_);
    if (outbox_.empty()) {
      writing_ = false;
      return;
    }
    buffers.reserve(outbox_.size());
    while (!outbox_.empty()) {
      write_batch_.push_back(std::move(outbox_.front()));
      outbox_.pop_front();
      buffers.push_back(boost::asio::buffer(write_batch_.back()));
    }
  }
  boost::asio::async_write(socket_, buffers,
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t /*bytes*/) { self->on_write(ec); });
}

void Connection::on_write(const boost::system::error_code& ec) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    for (const std::string& frame : write_batch_) {
      PONTOON_DCHECK(queued_bytes_ >= frame.size());
      queued_bytes_ -= frame.size();
    }
  }
  write_batch_.clear();
  if (closed_) return;
  if (ec) {
    close(Status::Unavailable("write failed: " + ec.message()), /*protocol_error=*/false);
    return;
  }
  do_write();
}

void Connection::close(const Status& reason, bool protocol_error) {
  PONTOON_CHECK(!reason.ok());
  if (closed_) return;
  closed_ = true;
  if (protocol_error) {
    PONTOON_LOG(kWarn) << description_ << ": closing: " << reason;
  } else {
    PONTOON_LOG(kDebug) << description_ << ": closing: " << reason;
  }
  {
    // Under write_mu_: no send() is inside ::send() on this socket while it closes.
    std::lock_guard<std::mutex> lock(write_mu_);
    write_closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    outbox_.clear();
  }
  // Moved out first: the handler may drop the last other reference to this connection.
  CloseHandler on_close = std::move(on_close_);
  on_close_ = nullptr;
  if (on_close) on_close(shared_from_this(), reason);
}

}  // namespace raft::rpc
