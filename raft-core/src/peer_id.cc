#include "raft/peer_id.h"

#include <charconv>
#include <string>

namespace raft {
namespace {

bool parse_int(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool is_ipv4(std::string_view ip) {
  int parts = 0;
  while (true) {
    size_t dot = ip.find('.');
    std::string_view part = ip.substr(0, dot);
    int64_t value = 0;
    if (part.size() > 3 || !parse_int(part, &value) || value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    ip.remove_prefix(dot + 1);
  }
  return parts == 4;
}

Status bad_peer(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("bad peer '" + std::string(text) + "': " + std::string(why) +
                                 " (expected ip:port[:index])");
}

}  // namespace

Result<PeerId> PeerId::parse(std::string_view text) {
  size_t first = text.find(':');
  if (first == std::string_view::npos) return bad_peer(text, "missing port");
  std::string_view ip = text.substr(0, first);
  std::string_view rest = text.substr(first + 1);
  std::string_view port_text = rest;
  std::string_view index_text;
  if (size_t second = rest.find(':'); second != std::string_view::npos) {
    port_text = rest.substr(0, second);
    index_text = rest.substr(second + 1);
    if (index_text.empty()) return bad_peer(text, "empty index");
  }
  if (ip != "localhost" && !is_ipv4(ip)) return bad_peer(text, "ip is not a dotted IPv4 address");
  int64_t port = 0;
  if (!parse_int(port_text, &port) || port < 1 || port > 65535) {
    return bad_peer(text, "port must be 1..65535");
  }
  int64_t index = 0;
  if (!index_text.empty() && (!parse_int(index_text, &index) || index < 0 || index > INT32_MAX)) {
    return bad_peer(text, "index must be a non-negative 32-bit integer");
  }
  return PeerId(std::string(ip), static_cast<uint16_t>(port), static_cast<int32_t>(index));
}

std::string PeerId::endpoint() const { return ip_ + ":" + std::to_string(port_); }

std::string PeerId::to_string() const {
  if (empty()) return "<none>";
  if (index_ == 0) return endpoint();
  return endpoint() + ":" + std::to_string(index_);
}

std::ostream& operator<<(std::ostream& os, const PeerId& peer) { return os << peer.to_string(); }

}  // namespace raft
