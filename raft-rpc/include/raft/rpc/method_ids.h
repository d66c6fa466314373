// Method ids: which service method a frame is for. One registry for the whole process, so
// services sharing an RpcServer can never collide.
//
//   1..99      Raft consensus (this file)
//   100..199   CLI service (peer changes, leadership transfer, snapshots)
//   200..299   file service (snapshot copy)
//   1000..1999 RheaKV
//   2000..2999 examples
//
// Ids are part of the wire format: never renumber one, only add.
#pragma once

#include <cstdint>

namespace raft::rpc::method {

inline constexpr uint32_t kRequestVote = 1;
inline constexpr uint32_t kAppendEntries = 2;
inline constexpr uint32_t kInstallSnapshot = 3;
inline constexpr uint32_t kGetFile = 4;
inline constexpr uint32_t kTimeoutNow = 5;
inline constexpr uint32_t kReadIndex = 6;

// example/counter
inline constexpr uint32_t kCounterIncrement = 2000;
inline constexpr uint32_t kCounterGet = 2001;
inline constexpr uint32_t kCounterStatus = 2002;

}  // namespace raft::rpc::method
