// The protobuf wire format, by hand, for the one message on the replication hot path.
//
// raft_codec.cc encodes and decodes AppendEntriesRequest with these instead of the generated
// pb::AppendEntriesRequest: building the generated message costs two heap allocations and one
// payload copy per entry on each side (the Entry message and its data string), which was half
// of all allocations per replicated write. The bytes are the same protobuf bytes the generated
// code reads and writes (proto/raft.proto stays the schema; tests/append_entries_wire_test.cc
// checks both directions against the generated code).
//
// What the Reader accepts is what protobuf's parser accepts: fields in any order, unknown
// fields (and known ones under an unexpected wire type) skipped, groups included; varints of
// at most 10 bytes with bits past the 64th dropped, a 32-bit field keeping the low 32 bits.
//
// Thread-safety: values; a Reader belongs to one caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace raft::rpc::wire {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

inline size_t varint_size(uint64_t value) {
  size_t bytes = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++bytes;
  }
  return bytes;
}

inline size_t tag_size(uint32_t field) { return varint_size(uint64_t{field} << 3); }

inline void put_varint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

inline void put_tag(uint32_t field, WireType type, std::string* out) {
  put_varint((uint64_t{field} << 3) | static_cast<uint64_t>(type), out);
}

// A proto3 integer field: absent when zero (proto3 writes no default values).
inline size_t int_field_size(uint32_t field, uint64_t value) {
  return value == 0 ? 0 : tag_size(field) + varint_size(value);
}
inline void put_int_field(uint32_t field, uint64_t value, std::string* out) {
  if (value == 0) return;
  put_tag(field, WireType::kVarint, out);
  put_varint(value, out);
}

// A length-delimited field of `length` bytes (the caller appends them), always written.
inline size_t length_delimited_size(uint32_t field, size_t length) {
  return tag_size(field) + varint_size(length) + length;
}
inline void put_length_prefix(uint32_t field, size_t length, std::string* out) {
  put_tag(field, WireType::kLengthDelimited, out);
  put_varint(length, out);
}

// A proto3 bytes field: absent when empty.
inline size_t bytes_field_size(uint32_t field, std::string_view bytes) {
  return bytes.empty() ? 0 : length_delimited_size(field, bytes.size());
}
inline void put_bytes_field(uint32_t field, std::string_view bytes, std::string* out) {
  if (bytes.empty()) return;
  put_length_prefix(field, bytes.size(), out);
  out->append(bytes);
}

// Reads fields from a byte range. Each read returns false when the bytes are malformed
// (truncated, an over-long varint, a length past the end or of 2 GiB or more, field number
// 0, an unknown wire type, an unbalanced group), exactly where protobuf's parser fails.
class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool done() const { return at_ == end_; }

  // A 64-bit varint: at most 10 bytes; bits beyond the 64th are dropped.
  bool read_varint(uint64_t* value) { return read_varint_bytes(10, value); }

  // A tag: at most 5 bytes, kept to 32 bits. Any of the six wire types (groups included:
  // message readers skip them as unknown fields); field number 0 is malformed.
  bool read_tag(uint32_t* field, WireType* type) {
    uint32_t tag = 0;
    if (!read_varint_bytes(5, &tag)) return false;
    *field = tag >> 3;
    const auto wire_type = static_cast<uint8_t>(tag & 7);
    if (*field == 0 || wire_type > 5) return false;
    *type = static_cast<WireType>(wire_type);
    return true;
  }

  // The bytes of a length-delimited field, as a view into the reader's range. The length is
  // at most 5 bytes and below 2^31, as protobuf reads it.
  bool read_length_delimited(std::string_view* bytes) {
    uint32_t length = 0;
    const uint8_t* start = at_;
    if (!read_varint_bytes(5, &length)) return false;
    if (at_ - start == 5 && start[4] >= 8) return false;
    if (length > static_cast<uint64_t>(end_ - at_)) return false;
    *bytes = std::string_view(reinterpret_cast<const char*>(at_), length);
    at_ += length;
    return true;
  }

  // Skips the value of a field the caller does not know (or knows under another wire type).
  // `field` matters only for a group, which ends at the end-group tag of the same number.
  // An end-group tag outside a group is malformed.
  bool skip(uint32_t field, WireType type) { return skip(field, type, 0); }

 private:
  // protobuf's default recursion limit; a group inside a group counts one level.
  static constexpr int kMaxGroupDepth = 100;

  // A varint of at most `max_bytes` bytes into an unsigned `Value`; bits past its width are
  // dropped, as protobuf drops them.
  template <typename Value>
  bool read_varint_bytes(int max_bytes, Value* value) {
    Value result = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (at_ == end_) return false;
      const uint8_t byte = *at_++;
      result |= static_cast<Value>(static_cast<Value>(byte & 0x7f) << (7 * i));
      if (byte < 0x80) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  bool skip(uint32_t field, WireType type, int depth) {
    switch (type) {
      case WireType::kVarint: {
        uint64_t ignored = 0;
        return read_varint(&ignored);
      }
      case WireType::kFixed64:
        return advance(8);
      case WireType::kFixed32:
        return advance(4);
      case WireType::kLengthDelimited: {
        std::string_view ignored;
        return read_length_delimited(&ignored);
      }
      case WireType::kStartGroup:
        return skip_group(field, depth + 1);
      case WireType::kEndGroup:
        return false;
    }
    return false;
  }

  bool skip_group(uint32_t group_field, int depth) {
    if (depth > kMaxGroupDepth) return false;
    for (;;) {
      uint32_t field = 0;
      WireType type = WireType::kVarint;
      if (!read_tag(&field, &type)) return false;
      if (type == WireType::kEndGroup) return field == group_field;
      if (!skip(field, type, depth)) return false;
    }
  }

  bool advance(size_t bytes) {
    if (bytes > static_cast<size_t>(end_ - at_)) return false;
    at_ += bytes;
    return true;
  }

  const uint8_t* at_;
  const uint8_t* end_;
};

// What a message parser did with one field (see for_each_field).
enum class FieldRead {
  kRead,       // The parser read the value.
  kUnknown,    // Not a field the parser knows under this wire type: skipped.
  kMalformed,  // Reading the value failed.
};

inline FieldRead read_result(bool ok) { return ok ? FieldRead::kRead : FieldRead::kMalformed; }

// Parses the fields of one message: for each, `read(reader, field, type)` reads the value or
// says kUnknown, and unknown values are skipped. False if the bytes are malformed.
template <typename ReadField>
bool for_each_field(std::string_view bytes, ReadField read) {
  Reader reader(bytes);
  while (!reader.done()) {
    uint32_t field = 0;
    WireType type = WireType::kVarint;
    if (!reader.read_tag(&field, &type)) return false;
    switch (read(reader, field, type)) {
      case FieldRead::kRead:
        break;
      case FieldRead::kUnknown:
        if (!reader.skip(field, type)) return false;
        break;
      case FieldRead::kMalformed:
        return false;
    }
  }
  return true;
}

}  // namespace raft::rpc::wire
