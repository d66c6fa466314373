#include "etcd/http_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdlib>
#include <optional>

namespace bench::etcd {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A response header block or chunk header larger than this is not what etcd sends.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 64 << 20;

// The value of header `name` (lower-case) in `headers`, without surrounding blanks.
std::optional<std::string_view> header_value(std::string_view headers, std::string_view name) {
  size_t line_start = headers.find("\r\n");
  while (line_start != std::string_view::npos && line_start + 2 < headers.size()) {
    line_start += 2;
    const size_t line_end = headers.find("\r\n", line_start);
    const std::string_view line = headers.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon == name.size()) {
      bool same = true;
      for (size_t i = 0; i < colon && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
      }
      if (same) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
        return value;
      }
    }
    line_start = line_end;
  }
  return std::nullopt;
}

void fail(HttpResponse* response, std::string detail) {
  if (!response->error) response->error = asio::error::operation_aborted;
  response->error_detail = std::move(detail);
  response->status = 0;
  response->body.clear();
}

}  // namespace

HttpConnection::HttpConnection(asio::any_io_executor executor, tcp::endpoint server)
    : socket_(std::move(executor)),
      server_(server),
      host_header_(server.address().to_string() + ":" + std::to_string(server.port())) {}

void HttpConnection::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
}

asio::awaitable<bool> HttpConnection::fill(size_t bytes, HttpResponse* response) {
  while (buffer_.size() < bytes) {
    char chunk[16 * 1024];
    boost::system::error_code ec;
    const size_t n = co_await socket_.async_read_some(
        asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      response->error = ec;
      fail(response, "read: " + ec.message());
      co_return false;
    }
    buffer_.append(chunk, n);
  }
  co_return true;
}

asio::awaitable<HttpResponse> HttpConnection::request(std::string_view method,
                                                      std::string_view path,
                                                      std::string_view body) {
  HttpResponse response;
  if (!socket_.is_open()) {
    buffer_.clear();
    boost::system::error_code ec;
    co_await socket_.async_connect(server_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      response.error = ec;
      fail(&response, "connect to " + host_header_ + ": " + ec.message());
      close();
      co_return response;
    }
    socket_.set_option(tcp::no_delay(true));
  }
  request_.clear();
  request_.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  request_.append(host_header_).append("\r\n");
  if (!body.empty()) request_.append("Content-Type: application/json\r\n");
  request_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  request_.append(body);
  boost::system::error_code write_ec;
  co_await asio::async_write(socket_, asio::buffer(request_),
                             asio::redirect_error(asio::use_awaitable, write_ec));
  if (write_ec) {
    response.error = write_ec;
    fail(&response, "write: " + write_ec.message());
    close();
    co_return response;
  }
  // The header block ends at the first blank line.
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeaderBytes || !co_await fill(buffer_.size() + 1, &response)) {
      if (!response.error) fail(&response, "response headers too large");
      close();
      co_return response;
    }
  }
  const std::string headers = buffer_.substr(0, header_end + 2);
  // "HTTP/1.1 200 OK"
  if (headers.size() < 12 || headers.compare(0, 5, "HTTP/") != 0) {
    fail(&response, "not an HTTP response");
    close();
    co_return response;
  }
  response.status = std::atoi(headers.c_str() + 9);
  if (!co_await read_body(headers, header_end + 4, &response)) {
    close();
    co_return response;
  }
  auto connection = header_value(headers, "connection");
  if (connection && *connection == "close") close();
  co_return response;
}

asio::awaitable<bool> HttpConnection::read_body(std::string_view headers, size_t body_start,
                                                HttpResponse* response) {
  if (auto length_text = header_value(headers, "content-length")) {
    const size_t length = std::strtoull(std::string(*length_text).c_str(), nullptr, 10);
    if (length > kMaxBodyBytes) {
      fail(response, "response body too large");
      co_return false;
    }
    if (!co_await fill(body_start + length, response)) co_return false;
    response->body.assign(buffer_, body_start, length);
    buffer_.erase(0, body_start + length);
    co_return true;
  }
  auto encoding = header_value(headers, "transfer-encoding");
  if (!encoding || *encoding != "chunked") {
    fail(response, "response has neither Content-Length nor chunked encoding");
    co_return false;
  }
  // Chunks: "<hex size>\r\n<data>\r\n", ending with a zero-size chunk and a blank line (etcd
  // sends no trailers).
  buffer_.erase(0, body_start);
  response->body.clear();
  for (;;) {
    size_t line_end;
    while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHeaderBytes || !co_await fill(buffer_.size() + 1, response)) {
        if (!response->error) fail(response, "bad chunk header");
        co_return false;
      }
    }
    const size_t size = std::strtoull(buffer_.c_str(), nullptr, 16);
    if (response->body.size() + size > kMaxBodyBytes) {
      fail(response, "response body too large");
      co_return false;
    }
    if (!co_await fill(line_end + 2 + size + 2, response)) co_return false;
    response->body.append(buffer_, line_end + 2, size);
    buffer_.erase(0, line_end + 2 + size + 2);
    if (size == 0) break;
  }
  co_return true;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t triple = static_cast<uint8_t>(bytes[i]) << 16 |
                            static_cast<uint8_t>(bytes[i + 1]) << 8 |
                            static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[triple >> 18];
    out += kAlphabet[(triple >> 12) & 63];
    out += kAlphabet[(triple >> 6) & 63];
    out += kAlphabet[triple & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t triple = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) triple |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[triple >> 18];
    out += kAlphabet[(triple >> 12) & 63];
    out += rest == 2 ? kAlphabet[(triple >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace bench::etcd
