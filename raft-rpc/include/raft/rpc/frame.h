// Frames: how RPC messages are delimited on a byte stream.
//
// Every message on a connection is one frame: a fixed 24-byte header followed by a body of
// `body_length` bytes (a serialized protobuf message). All integers are big-endian.
//
//   offset  size  field
//        0     4  magic        "PNTN" (0x50 0x4e 0x54 0x4e)
//        4     1  version      kFrameVersion (1)
//        5     1  kind         1 = request, 2 = response
//        6     1  flags        bit 0: error (responses only; the body is a pontoon.rpc.RpcError)
//                              other bits reserved, must be 0
//        7     1  reserved     must be 0
//        8     4  method_id    which service method (method_ids.h)
//       12     8  request_id   chosen by the caller, echoed by the response
//       20     4  body_length  header + body_length <= the receiver's max_frame_bytes
//       24     n  body
//
// The decoder checks the header as soon as its 24 bytes are in, so an oversized or foreign
// stream is rejected without buffering the body it announces.
//
// Thread-safety: Frame is a value. A FrameDecoder is not thread-safe; it belongs to one
// connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/status.h"

namespace raft::rpc {

inline constexpr uint32_t kFrameMagic = 0x504e544e;  // "PNTN"
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 24;
inline constexpr uint8_t kFrameFlagError = 0x01;

// Limits for max_frame_bytes options. The ceiling keeps body_length within uint32 with room
// to spare and bounds what one frame can make a peer allocate.
inline constexpr uint64_t kMinMaxFrameBytes = 1024;
inline constexpr uint64_t kMaxMaxFrameBytes = uint64_t{1} << 30;       // 1 GiB
inline constexpr uint32_t kDefaultMaxFrameBytes = uint32_t{64} << 20;  // 64 MiB

enum class FrameKind : uint8_t {
  kRequest = 1,
  kResponse = 2,
};

struct Frame {
  FrameKind kind = FrameKind::kRequest;
  uint8_t flags = 0;
  uint32_t method_id = 0;
  uint64_t request_id = 0;
  std::string body;

  bool is_error() const { return (flags & kFrameFlagError) != 0; }
};

// OK if `max_frame_bytes` lies in [kMinMaxFrameBytes, kMaxMaxFrameBytes]; otherwise EINVAL
// naming `option_name`.
Status validate_max_frame_bytes(uint64_t max_frame_bytes, std::string_view option_name);

// A frame ready for the wire, its header and its body kept apart: a connection writes both
// with one gathered write, so sending a frame copies no body byte (the header is written in
// place and the body moved in).
struct EncodedFrame {
  std::array<char, kFrameHeaderBytes> header{};
  std::string body;

  size_t size() const { return kFrameHeaderBytes + body.size(); }
};

// Serializes `frame`'s header and moves its body in. EINVAL if the frame would exceed
// `max_frame_bytes`, or if the error flag is set on a request or an unknown flag is set; the
// frame's body is then left in place.
// REQUIRES: max_frame_bytes is valid (validate_max_frame_bytes).
Result<EncodedFrame> encode_frame_parts(Frame&& frame, uint64_t max_frame_bytes);

// The same frame as one string (header + body), for tests and tools that want the bytes.
Result<std::string> encode_frame(const Frame& frame, uint64_t max_frame_bytes);

// Reassembles frames from a byte stream delivered in arbitrary chunks.
//
// Errors are sticky: once the stream is found bad (bad magic, unknown version, kind or
// flags, a frame larger than max_frame_bytes) every later feed() returns the same error, since
// a byte stream cannot resynchronise after a framing error; the connection must be closed.
class FrameDecoder {
 public:
  // REQUIRES: validate_max_frame_bytes(max_frame_bytes) is OK.
  explicit FrameDecoder(uint64_t max_frame_bytes);

  // Appends every frame `bytes` complete to `*frames`, in stream order, and keeps the start of
  // an incomplete one. Each body byte is copied once, into its frame's body.
  // Returns OK (possibly having appended nothing: a truncated frame waits for more bytes), or
  // ECORRUPTION describing what is wrong with the stream. Frames completed before the bad
  // one are still appended.
  Status feed(std::string_view bytes, std::vector<Frame>* frames);

  // Bytes received that do not yet form a complete frame. Non-zero when the stream ends
  // means the peer closed mid-frame.
  size_t buffered_bytes() const;
  uint64_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  // Parses the kFrameHeaderBytes bytes at `header` into `frame` (all but the body).
  Status parse_header(const char* header, Frame* frame, uint32_t* body_length) const;

  // Parses the header of the next frame into partial_; on an error makes it sticky.
  Status start_frame(const char* header);

  const uint64_t max_frame_bytes_;
  // The frame being received: until its header is whole, header_ collects it; then
  // have_header_ is set, partial_ holds the header's fields and its body grows towards
  // body_length_ bytes.
  std::string header_;
  bool have_header_ = false;
  uint32_t body_length_ = 0;
  Frame partial_;
  Status error_;  // Sticky; OK until the stream goes bad.
};

}  // namespace raft::rpc
