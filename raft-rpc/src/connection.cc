#include "connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "raft/check.h"
#include "raft/logging.h"

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
  // the connection, after which nothing more is delivered.
  for (Frame& frame : decoded_) {
    if (closed_) return;
    on_frame_(shared_from_this(), std::move(frame));
  }
  decoded_.clear();
  if (closed_) return;
  if (!status.ok()) {
    close(status, /*protocol_error=*/true);
    return;
  }
  do_read();
}

void Connection::send(std::string frame) {
  if (closed_) return;
  PONTOON_DCHECK(frame.size() >= kFrameHeaderBytes);
  if (queued_bytes_ + frame.size() > limits_.max_write_queue_bytes) {
    close(Status::Busy("write queue would exceed max_write_queue_bytes " +
                       std::to_string(limits_.max_write_queue_bytes) + "; the peer is not reading"),
          /*protocol_error=*/true);
    return;
  }
  queued_bytes_ += frame.size();
  outbox_.push_back(std::move(frame));
  do_write();
}

bool Connection::post_send(std::string frame) {
  std::lock_guard<std::mutex> lock(post_mu_);
  if (!accepting_posts_) return false;
  boost::asio::post(executor_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->send(std::move(frame));
  });
  return true;
}

void Connection::do_write() {
  if (writing_ || outbox_.empty() || closed_) return;
  PONTOON_DCHECK(write_batch_.empty());
  writing_ = true;
  std::vector<boost::asio::const_buffer> buffers;
  buffers.reserve(outbox_.size());
  while (!outbox_.empty()) {
    write_batch_.push_back(std::move(outbox_.front()));
    outbox_.pop_front();
    buffers.push_back(boost::asio::buffer(write_batch_.back()));
  }
  boost::asio::async_write(socket_, buffers,
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t /*bytes*/) { self->on_write(ec); });
}

void Connection::on_write(const boost::system::error_code& ec) {
  PONTOON_CHECK(writing_);
  writing_ = false;
  for (const std::string& frame : write_batch_) {
    PONTOON_DCHECK(queued_bytes_ >= frame.size());
    queued_bytes_ -= frame.size();
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
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    accepting_posts_ = false;
  }
  if (protocol_error) {
    PONTOON_LOG(kWarn) << description_ << ": closing: " << reason;
  } else {
    PONTOON_LOG(kDebug) << description_ << ": closing: " << reason;
  }
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  outbox_.clear();
  // Moved out first: the handler may drop the last other reference to this connection.
  CloseHandler on_close = std::move(on_close_);
  on_close_ = nullptr;
  if (on_close) on_close(shared_from_this(), reason);
}

}  // namespace raft::rpc
