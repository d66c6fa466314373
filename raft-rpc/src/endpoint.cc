#include "endpoint.h"

#include <charconv>

namespace raft::rpc {

namespace ip = boost::asio::ip;

Result<ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("bad endpoint '" + std::string(text) + "': " + std::string(why) +
                                   " (expected ip:port)");
  };
  if (colon == std::string_view::npos) return bad("missing port");
  std::string host(text.substr(0, colon));
  std::string_view port_text = text.substr(colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  ip::address_v4 address = ip::make_address_v4(host, ec);
  if (ec) return bad("ip is not a dotted IPv4 address");
  unsigned port = 0;
  const char* end = port_text.data() + port_text.size();
  auto [ptr, err] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || err != std::errc() || ptr != end || port > 65535) {
    return bad("port must be 0..65535");
  }
  return ip::tcp::endpoint(address, static_cast<uint16_t>(port));
}

std::string endpoint_to_string(const ip::tcp::endpoint& endpoint) {
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace raft::rpc
