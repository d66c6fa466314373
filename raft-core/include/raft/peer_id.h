// PeerId: one replica of one group, written `ip:port[:index]`.
//
// The index lets several replicas of one group share an endpoint (tests, many groups per
// process); it defaults to 0 and `ip:port:0` prints as `ip:port`. Thread-safety: a value.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "raft/status.h"

namespace raft {

class PeerId {
 public:
  PeerId() = default;  // The empty peer: "nobody" (e.g. no vote cast, no known leader).
  PeerId(std::string ip, uint16_t port, int32_t index = 0)
      : ip_(std::move(ip)), port_(port), index_(index) {}

  // Parses "ip:port" or "ip:port:index". The ip must be a dotted IPv4 address or
  // "localhost"; port 1..65535; index >= 0. Errors are EINVAL naming the bad part.
  static Result<PeerId> parse(std::string_view text);

  bool empty() const { return ip_.empty(); }
  const std::string& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  int32_t index() const { return index_; }
  // "ip:port" — the address to connect to.
  std::string endpoint() const;
  std::string to_string() const;

  auto operator<=>(const PeerId&) const = default;

 private:
  std::string ip_;
  uint16_t port_ = 0;
  int32_t index_ = 0;
};

std::ostream& operator<<(std::ostream& os, const PeerId& peer);

}  // namespace raft

template <>
struct std::hash<raft::PeerId> {
  size_t operator()(const raft::PeerId& p) const noexcept {
    return std::hash<std::string>()(p.ip()) ^ (size_t(p.port()) << 16) ^ size_t(p.index());
  }
};
