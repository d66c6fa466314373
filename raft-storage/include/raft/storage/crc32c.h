// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of every
// record raft-storage writes.
//
// Uses the CPU's crc32 instruction (SSE 4.2) where the CPU has it, checked once at start-up,
// and otherwise a portable table-driven implementation (slicing-by-8); both give the same
// values, so the on-disk format needs no CPU feature and no third-party library. The value is
// the standard one (iSCSI, ext4, RocksDB): crc32c::value("123456789") == 0xE3069283.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace raft::crc32c {

// Returns the CRC-32C of data[0, n) appended to a stream whose CRC-32C is `crc`, i.e.
// extend(value(a), b) == value(a + b).
uint32_t extend(uint32_t crc, const void* data, size_t n);

// The two implementations extend() chooses between, for tests and benchmarks.
// extend_hardware REQUIRES: hardware_accelerated().
uint32_t extend_portable(uint32_t crc, const void* data, size_t n);
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n);
// True if this CPU has the crc32 instruction, so extend() uses extend_hardware.
bool hardware_accelerated();

// Returns the CRC-32C of data[0, n).
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }
inline uint32_t value(std::string_view data) { return value(data.data(), data.size()); }

}  // namespace raft::crc32c
