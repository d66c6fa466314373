#include "raft/storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace raft::crc32c {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82F63B78;

// kTables[0] is the classic byte-at-a-time table; kTables[k][b] is the CRC of byte b followed
// by k zero bytes, which lets the loop below fold eight input bytes per step.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables tables{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kReflectedPolynomial : 0);
    tables[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < tables.size(); ++k) {
      uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xFF];
    }
  }
  return tables;
}

constexpr Tables kTables = make_tables();

static_assert(kTables[0][1] == 0xF26B8303, "CRC-32C table generation is wrong");

// Reads a little-endian 32-bit word byte by byte: portable and free of alignment concerns.
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

}  // namespace

uint32_t extend_portable(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = load_le32(p) ^ c;
    uint32_t hi = load_le32(p + 4);
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p) & 0xFF];
    ++p;
    --n;
  }
  return ~c;
}

#if defined(__x86_64__)

// The crc32 instruction computes exactly the reflected update the tables do, 8 bytes at a
// time; compiled for SSE 4.2 in this function only, so the binary still runs on CPUs without
// it (extend() never calls it there).
__attribute__((target("sse4.2"))) uint32_t extend_hardware(uint32_t crc, const void* data,
                                                           size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));  // x86 is little-endian; unaligned loads are fine.
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p);
    ++p;
    --n;
  }
  return ~c32;
}

bool hardware_accelerated() {
  static const bool has_sse42 = [] {
    __builtin_cpu_init();  // Safe even when called from a static initializer.
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return has_sse42;
}

#else

uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) {
  return extend_portable(crc, data, n);
}

bool hardware_accelerated() { return false; }

#endif

uint32_t extend(uint32_t crc, const void* data, size_t n) {
  // Chosen on the first call (a function-local static, so also right for callers in static
  // initializers); later calls cost one guard check and one indirect call.
  using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);
  static const ExtendFn chosen = hardware_accelerated() ? &extend_hardware : &extend_portable;
  return chosen(crc, data, n);
}

}  // namespace raft::crc32c
