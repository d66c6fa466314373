#include "bench_protocol.h"

namespace bench {
namespace {

void put_u32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads fixed-width fields off the front of a body.
class Reader {
 public:
  explicit Reader(std::string_view body) : rest_(body) {}
  bool u32(uint32_t* value) { return fixed(4, value); }
  bool u64(uint64_t* value) { return fixed(8, value); }
  bool u8(uint8_t* value) {
    if (rest_.empty()) return false;
    *value = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  std::string_view rest() const { return rest_; }

 private:
  template <typename Int>
  bool fixed(size_t bytes, Int* value) {
    if (rest_.size() < bytes) return false;
    *value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      *value |= static_cast<Int>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    }
    rest_.remove_prefix(bytes);
    return true;
  }
  std::string_view rest_;
};

}  // namespace

std::string encode_write_request(uint32_t group, std::string_view payload) {
  std::string body;
  body.reserve(4 + payload.size());
  put_u32(&body, group);
  body.append(payload);
  return body;
}

std::string encode_read_request(uint32_t group, raft::ReadMode mode) {
  std::string body;
  put_u32(&body, group);
  body.push_back(static_cast<char>(mode));
  return body;
}

std::string encode_status_response(const ReplicaStatus& status) {
  std::string body;
  put_u64(&body, status.synced_writes);
  put_u64(&body, status.synced_entries);
  put_u32(&body, static_cast<uint32_t>(status.leads.size()));
  for (bool leads : status.leads) body.push_back(leads ? 1 : 0);
  return body;
}

raft::Status decode_write_request(std::string_view body, uint32_t* group,
                                  std::string_view* payload) {
  Reader reader(body);
  if (!reader.u32(group)) return raft::Status::InvalidArgument("bench write request too short");
  *payload = reader.rest();
  return raft::Status::OK();
}

raft::Status decode_read_request(std::string_view body, uint32_t* group, raft::ReadMode* mode) {
  Reader reader(body);
  uint8_t raw_mode = 0;
  if (!reader.u32(group) || !reader.u8(&raw_mode) || !reader.rest().empty()) {
    return raft::Status::InvalidArgument("bench read request must be 5 bytes");
  }
  if (raw_mode > static_cast<uint8_t>(raft::ReadMode::kWaitFree)) {
    return raft::Status::InvalidArgument("bench read request: unknown read mode " +
                                         std::to_string(raw_mode));
  }
  *mode = static_cast<raft::ReadMode>(raw_mode);
  return raft::Status::OK();
}

raft::Result<ReplicaStatus> decode_status_response(std::string_view body) {
  Reader reader(body);
  ReplicaStatus status;
  uint32_t groups = 0;
  if (!reader.u64(&status.synced_writes) || !reader.u64(&status.synced_entries) ||
      !reader.u32(&groups) || reader.rest().size() != groups) {
    return raft::Status::InvalidArgument("bench status response malformed");
  }
  for (char leads : reader.rest()) status.leads.push_back(leads != 0);
  return status;
}

}  // namespace bench
