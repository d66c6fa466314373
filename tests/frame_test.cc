// Frames (raft/rpc/frame.h): everything a peer can send must decode to the same frames or to
// an error, never a crash, however the stream is cut.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "raft/rpc/frame.h"

using namespace raft;
using namespace raft::rpc;

namespace {

Frame make_frame(FrameKind kind, uint32_t method_id, uint64_t request_id, std::string body,
                 uint8_t flags = 0) {
  Frame frame;
  frame.kind = kind;
  frame.flags = flags;
  frame.method_id = method_id;
  frame.request_id = request_id;
  frame.body = std::move(body);
  return frame;
}

std::string encode_ok(const Frame& frame, uint64_t max_frame_bytes = kDefaultMaxFrameBytes) {
  Result<std::string> encoded = encode_frame(frame, max_frame_bytes);
  REQUIRE(encoded.ok());
  return std::move(encoded).value();
}

void check_same(const Frame& a, const Frame& b) {
  CHECK(a.kind == b.kind);
  CHECK(a.flags == b.flags);
  CHECK(a.method_id == b.method_id);
  CHECK(a.request_id == b.request_id);
  CHECK(a.body == b.body);
}

// Three frames of different shapes, one after the other.
std::vector<Frame> sample_frames() {
  std::string binary;
  for (int i = 0; i < 300; ++i) binary.push_back(static_cast<char>(i * 7));
  return {
      make_frame(FrameKind::kRequest, 1, 1, "hello"),
      make_frame(FrameKind::kResponse, 2, 0xfedcba9876543210ULL, ""),
      make_frame(FrameKind::kResponse, 0xffffffffu, 3, binary, kFrameFlagError),
  };
}

std::string encode_all(const std::vector<Frame>& frames) {
  std::string stream;
  for (const Frame& frame : frames) stream += encode_ok(frame);
  return stream;
}

// A valid request header announcing `body_length` bytes, with one byte changed.
std::string header_with(size_t offset, char value, uint32_t body_length = 0) {
  std::string header =
      encode_ok(make_frame(FrameKind::kRequest, 1, 1, std::string(body_length, 'x')));
  header.resize(kFrameHeaderBytes);
  header[offset] = value;
  return header;
}

}  // namespace

TEST_CASE("a frame round-trips through encode and decode", "[frame]") {
  const std::vector<Frame> frames = sample_frames();
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<Frame> decoded;
  REQUIRE(decoder.feed(encode_all(frames), &decoded).ok());
  REQUIRE(decoded.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) check_same(decoded[i], frames[i]);
  CHECK(decoder.buffered_bytes() == 0);
  CHECK(decoded[2].is_error());
  CHECK_FALSE(decoded[0].is_error());
}

TEST_CASE("the frame header layout is fixed and big-endian", "[frame]") {
  const std::string bytes = encode_ok(
      make_frame(FrameKind::kResponse, 0x01020304, 0x1112131415161718ULL, "ab", kFrameFlagError));
  REQUIRE(bytes.size() == kFrameHeaderBytes + 2);
  const std::string expected_header(
      "PNTN\x01\x02\x01\x00"
      "\x01\x02\x03\x04"
      "\x11\x12\x13\x14\x15\x16\x17\x18"
      "\x00\x00\x00\x02",
      kFrameHeaderBytes);
  CHECK(bytes.substr(0, kFrameHeaderBytes) == expected_header);
  CHECK(bytes.substr(kFrameHeaderBytes) == "ab");
}

TEST_CASE("frames split at every possible chunk boundary decode the same", "[frame]") {
  const std::vector<Frame> frames = sample_frames();
  const std::string stream = encode_all(frames);
  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    std::vector<Frame> decoded;
    REQUIRE(decoder.feed(std::string_view(stream).substr(0, split), &decoded).ok());
    REQUIRE(decoder.feed(std::string_view(stream).substr(split), &decoded).ok());
    REQUIRE(decoded.size() == frames.size());
    for (size_t i = 0; i < frames.size(); ++i) check_same(decoded[i], frames[i]);
    CHECK(decoder.buffered_bytes() == 0);
  }
}

TEST_CASE("frames fed one byte at a time decode the same", "[frame]") {
  const std::vector<Frame> frames = sample_frames();
  const std::string stream = encode_all(frames);
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<Frame> decoded;
  for (char c : stream) REQUIRE(decoder.feed(std::string_view(&c, 1), &decoded).ok());
  REQUIRE(decoded.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) check_same(decoded[i], frames[i]);
}

TEST_CASE("a truncated frame waits for more bytes", "[frame]") {
  const std::string bytes = encode_ok(make_frame(FrameKind::kRequest, 7, 9, "payload"));
  for (size_t length = 0; length < bytes.size(); ++length) {
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    std::vector<Frame> decoded;
    REQUIRE(decoder.feed(std::string_view(bytes).substr(0, length), &decoded).ok());
    CHECK(decoded.empty());
    CHECK(decoder.buffered_bytes() == length);
  }
}

TEST_CASE("a bad header is an error, and the error is sticky", "[frame]") {
  struct Case {
    const char* what;
    std::string header;
    const char* message_part;
  };
  const std::vector<Case> cases = {
      {"bad magic", header_with(0, 'X'), "magic"},
      {"unknown version", header_with(4, 2), "version"},
      {"unknown kind", header_with(5, 3), "kind"},
      {"kind zero", header_with(5, 0), "kind"},
      {"unknown flag", header_with(6, 0x02), "flags"},
      {"error flag on a request", header_with(6, kFrameFlagError), "error flag"},
      {"reserved byte set", header_with(7, 1), "reserved"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    std::vector<Frame> decoded;
    Status status = decoder.feed(c.header, &decoded);
    CHECK(status.is_corruption());
    CHECK(std::string(status.message()).find(c.message_part) != std::string::npos);
    CHECK(decoded.empty());
    // Even a valid frame after the error is refused: the stream cannot resynchronise.
    Status again = decoder.feed(encode_ok(make_frame(FrameKind::kRequest, 1, 1, "")), &decoded);
    CHECK(again == status);
    CHECK(decoded.empty());
  }
}

TEST_CASE("an oversized frame is rejected as soon as its header arrives", "[frame]") {
  const uint64_t max_frame_bytes = 4096;
  FrameDecoder decoder(max_frame_bytes);
  std::vector<Frame> decoded;
  // Exactly the limit is fine.
  const std::string fits = encode_ok(
      make_frame(FrameKind::kRequest, 1, 1, std::string(max_frame_bytes - kFrameHeaderBytes, 'a')),
      max_frame_bytes);
  REQUIRE(decoder.feed(fits, &decoded).ok());
  REQUIRE(decoded.size() == 1);

  // One byte over: only the header is sent, the body never has to arrive.
  std::string header = encode_ok(make_frame(FrameKind::kRequest, 1, 2, ""));
  const uint32_t too_long = max_frame_bytes - kFrameHeaderBytes + 1;
  header[20] = static_cast<char>(too_long >> 24);
  header[21] = static_cast<char>(too_long >> 16);
  header[22] = static_cast<char>(too_long >> 8);
  header[23] = static_cast<char>(too_long);
  Status status = decoder.feed(header, &decoded);
  CHECK(status.is_corruption());
  CHECK(std::string(status.message()).find("exceeds max_frame_bytes") != std::string::npos);
  CHECK(decoded.size() == 1);
  CHECK(decoder.buffered_bytes() == 0);

  // A 4 GiB announcement against the default limit.
  FrameDecoder big(kDefaultMaxFrameBytes);
  std::string huge = header;
  huge[20] = huge[21] = huge[22] = huge[23] = '\xff';
  CHECK(big.feed(huge, &decoded).is_corruption());
}

TEST_CASE("frames completed before a bad one are still delivered", "[frame]") {
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<Frame> decoded;
  std::string stream = encode_ok(make_frame(FrameKind::kRequest, 1, 1, "first"));
  stream += std::string(kFrameHeaderBytes, 'Z');
  CHECK(decoder.feed(stream, &decoded).is_corruption());
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0].body == "first");
}

TEST_CASE("encode_frame refuses what a decoder would reject", "[frame]") {
  const uint64_t max_frame_bytes = 2048;
  CHECK(encode_frame(make_frame(FrameKind::kRequest, 1, 1,
                                std::string(max_frame_bytes - kFrameHeaderBytes + 1, 'a')),
                     max_frame_bytes)
            .status()
            .is_invalid_argument());
  CHECK(encode_frame(make_frame(FrameKind::kRequest, 1, 1, "", kFrameFlagError), max_frame_bytes)
            .status()
            .is_invalid_argument());
  CHECK(encode_frame(make_frame(FrameKind::kResponse, 1, 1, "", 0x80), max_frame_bytes)
            .status()
            .is_invalid_argument());
}

TEST_CASE("max_frame_bytes is validated and the error names the option", "[frame]") {
  CHECK(validate_max_frame_bytes(kDefaultMaxFrameBytes, "max_frame_bytes").ok());
  CHECK(validate_max_frame_bytes(kMinMaxFrameBytes, "max_frame_bytes").ok());
  CHECK(validate_max_frame_bytes(kMaxMaxFrameBytes, "max_frame_bytes").ok());
  Status too_small = validate_max_frame_bytes(kMinMaxFrameBytes - 1, "server.max_frame_bytes");
  CHECK(too_small.is_invalid_argument());
  CHECK(std::string(too_small.message()).find("server.max_frame_bytes") != std::string::npos);
  CHECK(validate_max_frame_bytes(kMaxMaxFrameBytes + 1, "x").is_invalid_argument());
  CHECK(validate_max_frame_bytes(0, "x").is_invalid_argument());
}

TEST_CASE("random bytes never crash the decoder", "[frame][fuzz]") {
  std::mt19937_64 rng(20240601);
  const std::string valid = encode_all(sample_frames());
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::string stream;
    if (iteration % 2 == 0) {
      // Pure noise, sometimes starting with the magic so the header checks get exercised.
      stream.resize(rng() % 200);
      for (char& c : stream) c = static_cast<char>(rng());
      if (iteration % 4 == 0) stream.insert(0, "PNTN\x01\x01");
    } else {
      // A valid stream with a few bytes flipped.
      stream = valid;
      for (int flips = 1 + rng() % 4; flips > 0; --flips) {
        stream[rng() % stream.size()] ^= static_cast<char>(1 + rng() % 255);
      }
    }
    FrameDecoder decoder(4096);
    std::vector<Frame> decoded;
    size_t pos = 0;
    Status status;
    while (pos < stream.size() && status.ok()) {
      const size_t chunk = 1 + rng() % 64;
      status = decoder.feed(std::string_view(stream).substr(pos, chunk), &decoded);
      pos += chunk;
    }
    if (!status.ok()) CHECK(status.is_corruption());
    size_t decoded_bytes = 0;
    for (const Frame& frame : decoded) {
      CHECK(frame.body.size() <= 4096 - kFrameHeaderBytes);
      decoded_bytes += kFrameHeaderBytes + frame.body.size();
    }
    CHECK(decoded_bytes <= stream.size());
  }
}

TEST_CASE("frames of every size fed in random pieces decode the same, with the rest counted",
          "[frame]") {
  // Empty and tiny bodies, bodies the size of a header, one larger than a socket read, and one
  // larger than what an incomplete frame reserves for its body before its bytes arrive.
  std::vector<Frame> frames;
  uint64_t request_id = 1;
  for (size_t size :
       {size_t{0}, size_t{1}, kFrameHeaderBytes - 1, kFrameHeaderBytes, kFrameHeaderBytes + 1,
        size_t{4096}, size_t{65536 + 7}, size_t{(1u << 20) + 12345}, size_t{0}, size_t{3}}) {
    std::string body(size, '\0');
    for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>(i * 31 + size);
    frames.push_back(make_frame(FrameKind::kRequest, 5, request_id++, std::move(body)));
  }
  const std::string stream = encode_all(frames);
  // Where each frame ends in the stream.
  std::vector<size_t> ends;
  size_t end = 0;
  for (const Frame& frame : frames) ends.push_back(end += kFrameHeaderBytes + frame.body.size());

  std::mt19937_64 rng(20261204);
  for (int round = 0; round < 40; ++round) {
    // Pieces from a byte up to a few frames' worth, so that frames arrive whole, in two
    // pieces, in many, and several in one piece.
    const size_t max_piece = round % 2 == 0 ? 64 : 3u << 20;
    std::uniform_int_distribution<size_t> piece(1, max_piece);
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    std::vector<Frame> decoded;
    size_t fed = 0;
    while (fed < stream.size()) {
      const size_t n = std::min(piece(rng), stream.size() - fed);
      REQUIRE(decoder.feed(std::string_view(stream).substr(fed, n), &decoded).ok());
      fed += n;
      const size_t complete = decoded.empty() ? 0 : ends[decoded.size() - 1];
      REQUIRE(decoded.size() ==
              static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), fed) - ends.begin()));
      REQUIRE(decoder.buffered_bytes() == fed - complete);
    }
    REQUIRE(decoded.size() == frames.size());
    for (size_t i = 0; i < frames.size(); ++i) check_same(decoded[i], frames[i]);
  }
}
