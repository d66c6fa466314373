#include "atomic_command.h"

#include "raft/check.h"

namespace atomic {
namespace {

constexpr size_t kHeaderBytes = 1 + 2;  // tag + key length.

// How many int64 operands follow the key, by kind.
size_t operand_count(AtomicCommand::Kind kind) {
  switch (kind) {
    case AtomicCommand::Kind::kGet:
      return 0;
    case AtomicCommand::Kind::kSet:
    case AtomicCommand::Kind::kFetchAdd:
      return 1;
    case AtomicCommand::Kind::kCompareAndSet:
      return 2;
  }
  PONTOON_CHECK_MSG(false, "unknown atomic command kind");
  return 0;
}

bool is_known_tag(char tag) { return tag == 'G' || tag == 'S' || tag == 'C' || tag == 'A'; }

// Byte by byte, so that the format does not depend on the host's byte order.
void put_int64(int64_t value, std::string* out) {
  const auto bits = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

int64_t get_int64(std::string_view in) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= uint64_t(static_cast<unsigned char>(in[i])) << (8 * i);
  return static_cast<int64_t>(bits);
}

}  // namespace

raft::Status validate_key(std::string_view key) {
  if (key.empty()) return raft::Status::InvalidArgument("empty key");
  if (key.size() > kMaxKeyBytes) {
    return raft::Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                         " bytes, at most " + std::to_string(kMaxKeyBytes));
  }
  return raft::Status::OK();
}

std::string AtomicCommand::encode() const {
  PONTOON_CHECK(validate_key(key).ok());
  PONTOON_CHECK(kind == Kind::kCompareAndSet || new_value == 0);
  PONTOON_CHECK(kind != Kind::kGet || operand == 0);
  std::string out(1, static_cast<char>(kind));
  out.push_back(static_cast<char>(key.size() & 0xff));
  out.push_back(static_cast<char>(key.size() >> 8));
  out.append(key);
  if (operand_count(kind) >= 1) put_int64(operand, &out);
  if (operand_count(kind) >= 2) put_int64(new_value, &out);
  return out;
}

raft::Result<AtomicCommand> AtomicCommand::decode(std::string_view data) {
  if (data.size() < kHeaderBytes) {
    return raft::Status::Corruption("atomic command of " + std::to_string(data.size()) +
                                    " bytes, shorter than its header");
  }
  if (!is_known_tag(data[0])) {
    return raft::Status::Corruption("unknown atomic command tag " +
                                    std::to_string(static_cast<unsigned char>(data[0])));
  }
  AtomicCommand command;
  command.kind = static_cast<Kind>(data[0]);
  const size_t key_bytes =
      static_cast<unsigned char>(data[1]) | (size_t{static_cast<unsigned char>(data[2])} << 8);
  const size_t expected_bytes = kHeaderBytes + key_bytes + 8 * operand_count(command.kind);
  if (data.size() != expected_bytes) {
    return raft::Status::Corruption("atomic command '" + std::string(1, data[0]) + "' of " +
                                    std::to_string(data.size()) + " bytes, expected " +
                                    std::to_string(expected_bytes));
  }
  command.key.assign(data.substr(kHeaderBytes, key_bytes));
  if (raft::Status s = validate_key(command.key); !s.ok()) {
    return raft::Status::Corruption("atomic command with a bad key: " + std::string(s.message()));
  }
  std::string_view operands = data.substr(kHeaderBytes + key_bytes);
  if (operand_count(command.kind) >= 1) command.operand = get_int64(operands);
  if (operand_count(command.kind) >= 2) command.new_value = get_int64(operands.substr(8));
  return command;
}

}  // namespace atomic
