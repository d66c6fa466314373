#include "connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <array>
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
// Pieces per direct sendmsg (two per frame); well below IOV_MAX (1024 on Linux).
constexpr size_t kMaxIovecs = 128;

// Calls add(data, bytes) for the header and the body of `frame` past its first `written` bytes,
// skipping empty pieces.
template <typename AddPiece>
void for_each_unwritten_piece(const EncodedFrame& frame, size_t written, AddPiece&& add) {
  if (written < kFrameHeaderBytes) add(frame.header.data() + written, kFrameHeaderBytes - written);
  const size_t body_from = written > kFrameHeaderBytes ? written - kFrameHeaderBytes : 0;
  if (body_from < frame.body.size()) {
    add(frame.body.data() + body_from, frame.body.size() - body_from);
  }
}

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

bool Connection::send(EncodedFrame frame) {
  std::unique_lock<std::mutex> lock(write_mu_);
  if (write_closed_) return false;
  if (queued_bytes_ + corked_bytes_ + frame.size() > limits_.max_write_queue_bytes) {
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
    corked_bytes_ += frame.size();
    corked_.push_back(std::move(frame));
    return true;
  }
  if (!writing_ && SendBatchScope::active()) {
    corked_bytes_ = frame.size();
    corked_.push_back(std::move(frame));
    cork_pending_ = true;
    lock.unlock();
    SendBatchScope::defer([self = shared_from_this()] { self->flush_corked(); });
    return true;
  }
  return send_locked(lock, std::span<EncodedFrame>(&frame, 1));
}

void Connection::flush_corked() {
  std::unique_lock<std::mutex> lock(write_mu_);
  if (!cork_pending_) return;
  cork_pending_ = false;
  std::vector<EncodedFrame> frames = std::move(corked_);
  corked_.clear();
  corked_bytes_ = 0;
  if (write_closed_) return;
  send_locked(lock, frames);
}

bool Connection::send_locked(std::unique_lock<std::mutex>& lock, std::span<EncodedFrame> frames) {
  // frames[sent..] are still to go, of which the first `written` bytes of frames[sent] left.
  size_t sent = 0;
  size_t written = 0;
  if (!writing_) {
    // Nothing queued before these frames: try them on the socket from this thread, as many
    // frames per sendmsg as its iovec array holds.
    while (sent < frames.size()) {
      std::array<iovec, kMaxIovecs> iov;
      size_t pieces = 0;
      size_t offered = 0;
      for (size_t f = sent; f < frames.size() && pieces + 2 <= iov.size(); ++f) {
        for_each_unwritten_piece(frames[f], f == sent ? written : 0,
                                 [&](const char* data, size_t bytes) {
                                   iov[pieces++] = {const_cast<char*>(data), bytes};
                                   offered += bytes;
                                 });
      }
      msghdr message{};
      message.msg_iov = iov.data();
      message.msg_iovlen = pieces;
      const ssize_t n = ::sendmsg(socket_.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        const int error = errno;
        write_closed_ = true;
        lock.unlock();
        post_close(Status::Unavailable("write failed: " + std::string(std::strerror(error))),
                   /*protocol_error=*/false);
        return false;
      }
      for (size_t left = n > 0 ? static_cast<size_t>(n) : 0; left > 0;) {
        const size_t rest = frames[sent].size() - written;
        if (left < rest) {
          written += left;
          break;
        }
        left -= rest;
        ++sent;
        written = 0;
      }
      if (n < 0 || static_cast<size_t>(n) < offered) break;  // The socket buffer is full.
    }
    if (sent == frames.size()) return true;
  }
  // The rest goes out from the strand, after anything already queued.
  for (size_t f = sent; f < frames.size(); ++f) {
    QueuedFrame queued{std::move(frames[f]), f == sent ? written : 0};
    queued_bytes_ += queued.unwritten();
    outbox_.push_back(std::move(queued));
  }
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
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    PONTOON_CHECK(writing_);
    if (outbox_.empty()) {
      writing_ = false;
      return;
    }
    write_batch_.reserve(outbox_.size());
    while (!outbox_.empty()) {
      write_batch_.push_back(std::move(outbox_.front()));
      outbox_.pop_front();
    }
  }
  // Only now that write_batch_ stops moving: a header lives inside its QueuedFrame, and a short
  // body inside its string.
  write_buffers_.clear();
  for (const QueuedFrame& queued : write_batch_) {
    for_each_unwritten_piece(queued.frame, queued.written, [&](const char* data, size_t bytes) {
      write_buffers_.emplace_back(data, bytes);
    });
  }
  boost::asio::async_write(socket_, write_buffers_,
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t /*bytes*/) { self->on_write(ec); });
}

void Connection::on_write(const boost::system::error_code& ec) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    for (const QueuedFrame& queued : write_batch_) {
      PONTOON_DCHECK(queued_bytes_ >= queued.unwritten());
      queued_bytes_ -= queued.unwritten();
    }
  }
  write_batch_.clear();
  write_buffers_.clear();
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
