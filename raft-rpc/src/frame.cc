#include "raft/rpc/frame.h"

#include <algorithm>
#include <cstdio>

#include "raft/check.h"

namespace raft::rpc {
namespace {

constexpr uint8_t kKnownFlags = kFrameFlagError;
// What an incomplete frame reserves for its body before its bytes arrive.
constexpr uint32_t kMaxBodyReserve = 1u << 20;

void put_u32(uint32_t v, char* out) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

void put_u64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint32_t get_u32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

uint64_t get_u64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

bool is_known_kind(uint8_t kind) {
  return kind == static_cast<uint8_t>(FrameKind::kRequest) ||
         kind == static_cast<uint8_t>(FrameKind::kResponse);
}

std::string hex32(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", v);
  return text;
}

}  // namespace

Status validate_max_frame_bytes(uint64_t max_frame_bytes, std::string_view option_name) {
  if (max_frame_bytes < kMinMaxFrameBytes || max_frame_bytes > kMaxMaxFrameBytes) {
    return Status::InvalidArgument(
        std::string(option_name) + " must be in [" + std::to_string(kMinMaxFrameBytes) + ", " +
        std::to_string(kMaxMaxFrameBytes) + "], got " + std::to_string(max_frame_bytes));
  }
  return Status::OK();
}

namespace {

// EINVAL if `frame` cannot be sent within `max_frame_bytes`, else writes its header to `out`.
Status encode_header(const Frame& frame, uint64_t max_frame_bytes, char* out) {
  PONTOON_CHECK(validate_max_frame_bytes(max_frame_bytes, "max_frame_bytes").ok());
  if ((frame.flags & ~kKnownFlags) != 0) {
    return Status::InvalidArgument("unknown frame flags " + std::to_string(frame.flags));
  }
  if (frame.is_error() && frame.kind != FrameKind::kResponse) {
    return Status::InvalidArgument("the error flag is only valid on a response frame");
  }
  const uint64_t total_bytes = kFrameHeaderBytes + uint64_t{frame.body.size()};
  if (total_bytes > max_frame_bytes) {
    return Status::InvalidArgument("frame of " + std::to_string(total_bytes) +
                                   " bytes exceeds max_frame_bytes " +
                                   std::to_string(max_frame_bytes));
  }
  put_u32(kFrameMagic, &out[0]);
  out[4] = static_cast<char>(kFrameVersion);
  out[5] = static_cast<char>(frame.kind);
  out[6] = static_cast<char>(frame.flags);
  out[7] = 0;
  put_u32(frame.method_id, &out[8]);
  put_u64(frame.request_id, &out[12]);
  put_u32(static_cast<uint32_t>(frame.body.size()), &out[20]);
  return Status::OK();
}

}  // namespace

Result<EncodedFrame> encode_frame_parts(Frame&& frame, uint64_t max_frame_bytes) {
  EncodedFrame encoded;
  if (Status s = encode_header(frame, max_frame_bytes, encoded.header.data()); !s.ok()) return s;
  encoded.body = std::move(frame.body);
  return encoded;
}

Result<std::string> encode_frame(const Frame& frame, uint64_t max_frame_bytes) {
  std::string out(kFrameHeaderBytes, '\0');
  if (Status s = encode_header(frame, max_frame_bytes, out.data()); !s.ok()) return s;
  out.append(frame.body);
  return out;
}

FrameDecoder::FrameDecoder(uint64_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {
  PONTOON_CHECK(validate_max_frame_bytes(max_frame_bytes, "max_frame_bytes").ok());
}

Status FrameDecoder::parse_header(const char* h, Frame* frame, uint32_t* body_length) const {
  if (uint32_t magic = get_u32(h); magic != kFrameMagic) {
    return Status::Corruption("bad frame magic " + hex32(magic) + " (expected " +
                              hex32(kFrameMagic) + ")");
  }
  if (auto version = static_cast<uint8_t>(h[4]); version != kFrameVersion) {
    return Status::Corruption("unknown frame version " + std::to_string(version));
  }
  const auto kind = static_cast<uint8_t>(h[5]);
  if (!is_known_kind(kind)) {
    return Status::Corruption("unknown frame kind " + std::to_string(kind));
  }
  const auto flags = static_cast<uint8_t>(h[6]);
  if ((flags & ~kKnownFlags) != 0) {
    return Status::Corruption("unknown frame flags " + std::to_string(flags));
  }
  if ((flags & kFrameFlagError) != 0 && kind != static_cast<uint8_t>(FrameKind::kResponse)) {
    return Status::Corruption("error flag set on a request frame");
  }
  if (h[7] != 0) return Status::Corruption("reserved frame header byte is not zero");
  *body_length = get_u32(h + 20);
  const uint64_t total_bytes = kFrameHeaderBytes + uint64_t{*body_length};
  if (total_bytes > max_frame_bytes_) {
    return Status::Corruption("frame of " + std::to_string(total_bytes) +
                              " bytes exceeds max_frame_bytes " + std::to_string(max_frame_bytes_));
  }
  frame->kind = static_cast<FrameKind>(kind);
  frame->flags = flags;
  frame->method_id = get_u32(h + 8);
  frame->request_id = get_u64(h + 12);
  return Status::OK();
}

Status FrameDecoder::feed(std::string_view bytes, std::vector<Frame>* frames) {
  PONTOON_CHECK(frames != nullptr);
  if (!error_.ok()) return error_;
  // Every body byte is copied once, from `bytes` into its frame's body: a frame that arrives
  // whole is cut straight out of `bytes`, and one that arrives in pieces grows in partial_.
  while (!bytes.empty()) {
    if (!have_header_) {
      if (header_.empty() && bytes.size() >= kFrameHeaderBytes) {
        if (Status s = start_frame(bytes.data()); !s.ok()) return s;
        bytes.remove_prefix(kFrameHeaderBytes);
      } else {
        const size_t take = std::min(kFrameHeaderBytes - header_.size(), bytes.size());
        header_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (header_.size() < kFrameHeaderBytes) break;
        if (Status s = start_frame(header_.data()); !s.ok()) return s;
      }
    }
    if (partial_.body.empty() && bytes.size() >= body_length_) {
      partial_.body.assign(bytes.data(), body_length_);
      bytes.remove_prefix(body_length_);
    } else {
      // Up to a bound: a header alone must not make a peer's announced size allocated.
      if (partial_.body.empty()) partial_.body.reserve(std::min(body_length_, kMaxBodyReserve));
      const size_t take = std::min<size_t>(body_length_ - partial_.body.size(), bytes.size());
      partial_.body.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (partial_.body.size() < body_length_) break;
    }
    frames->push_back(std::move(partial_));
    partial_ = Frame();
    header_.clear();
    have_header_ = false;
  }
  return Status::OK();
}

Status FrameDecoder::start_frame(const char* header) {
  if (Status s = parse_header(header, &partial_, &body_length_); !s.ok()) {
    error_ = s;
    header_.clear();
    partial_ = Frame();
    return error_;
  }
  have_header_ = true;
  return Status::OK();
}

size_t FrameDecoder::buffered_bytes() const {
  return have_header_ ? kFrameHeaderBytes + partial_.body.size() : header_.size();
}

}  // namespace raft::rpc
