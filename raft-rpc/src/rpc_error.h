// The body of an error response frame: a Status on the wire (pontoon.rpc.RpcError).
#pragma once

#include <string>
#include <string_view>

#include "raft/status.h"

namespace raft::rpc {

// REQUIRES: !status.ok() (an OK outcome is a normal response, not an error frame).
std::string encode_rpc_error(const Status& status);

// The Status an error response carries. A body that does not parse, or names no known
// non-OK code, yields ECORRUPTION: the caller still learns that the call failed.
Status decode_rpc_error(std::string_view body);

}  // namespace raft::rpc
