// Converts rocksdb::Status to raft::Status at the edge of raft-storage, so nothing above it
// sees a RocksDB type.
#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "raft/status.h"

namespace raft {

// OK stays OK; otherwise a Status whose message is "<context>: <RocksDB's message>" and whose
// code is the nearest errno: IOError (including out of space) -> EIO, Corruption ->
// ECORRUPTION, NotFound -> ENOENT, InvalidArgument/NotSupported -> EINVAL, Busy/TryAgain ->
// EBUSY, TimedOut -> ETIMEDOUT, ShutdownInProgress -> ESHUTDOWN, anything else -> EIO.
Status from_rocksdb(const rocksdb::Status& status, std::string_view context);

}  // namespace raft
