// "ip:port" text to an Asio TCP endpoint, without DNS: the ip is a dotted IPv4 address or
// "localhost" (127.0.0.1), as PeerId allows.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

#include "raft/status.h"

namespace raft::rpc {

// EINVAL naming the text if it is not "ip:port" with port 0..65535. Port 0 is accepted
// (a listener asks the kernel for a free port); a connector must reject it itself.
Result<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

std::string endpoint_to_string(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace raft::rpc
