// Method ids: which service method a frame is for. One registry for the whole process, so
// services sharing an RpcServer can never collide.
//
//   1..99      Raft consensus (this file)
//   100..199   CLI service (peer changes, leadership transfer, snapshots)
//   200..299   file service (snapshot copy)
//   1000..1999 RheaKV
//   2000..2999 examples (2000..2099 example/counter, 2100..2199 example/atomic)
//   3000..3099 benchmarks (3000..3009 raft-bench's bench service)
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

// CLI service (cli_service.h, proto/cli.proto): membership, leadership, snapshots, status.
inline constexpr uint32_t kCliAddPeer = 100;
inline constexpr uint32_t kCliRemovePeer = 101;
inline constexpr uint32_t kCliChangePeers = 102;
inline constexpr uint32_t kCliAddLearners = 103;
inline constexpr uint32_t kCliRemoveLearners = 104;
inline constexpr uint32_t kCliResetLearners = 105;
inline constexpr uint32_t kCliResetPeers = 106;
inline constexpr uint32_t kCliTransferLeader = 107;
inline constexpr uint32_t kCliGetLeader = 108;
inline constexpr uint32_t kCliListPeers = 109;
inline constexpr uint32_t kCliSnapshot = 110;
inline constexpr uint32_t kCliStatus = 111;

// example/counter
inline constexpr uint32_t kCounterIncrement = 2000;
inline constexpr uint32_t kCounterGet = 2001;
inline constexpr uint32_t kCounterStatus = 2002;

// example/atomic (2100..2199)
inline constexpr uint32_t kAtomicGet = 2100;
inline constexpr uint32_t kAtomicSet = 2101;
inline constexpr uint32_t kAtomicCompareAndSet = 2102;
inline constexpr uint32_t kAtomicFetchAdd = 2103;
inline constexpr uint32_t kAtomicStatus = 2104;

// raft-bench's bench service (benchmarks/bench/bench_service.h): one write, one read in a
// ReadMode, the replica's status (which groups it leads, its sync counters).
inline constexpr uint32_t kBenchWrite = 3000;
inline constexpr uint32_t kBenchRead = 3001;
inline constexpr uint32_t kBenchStatus = 3002;

}  // namespace raft::rpc::method
