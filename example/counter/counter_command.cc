#include "counter_command.h"

#include "raft/check.h"

namespace counter {
namespace {

constexpr size_t kIncrementBytes = 1 + sizeof(int64_t);
constexpr size_t kGetBytes = 1;

}  // namespace

std::string CounterCommand::encode() const {
  PONTOON_CHECK(kind == Kind::kIncrement || delta == 0);
  std::string out(1, static_cast<char>(kind));
  if (kind == Kind::kIncrement) {
    // Byte by byte, so that the format does not depend on the host's byte order.
    const auto bits = static_cast<uint64_t>(delta);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  return out;
}

raft::Result<CounterCommand> CounterCommand::decode(std::string_view data) {
  if (data.empty()) return raft::Status::Corruption("empty counter command");
  switch (static_cast<Kind>(data[0])) {
    case Kind::kGet:
      if (data.size() != kGetBytes) {
        return raft::Status::Corruption("get command of " + std::to_string(data.size()) +
                                        " bytes, expected 1");
      }
      return get();
    case Kind::kIncrement: {
      if (data.size() != kIncrementBytes) {
        return raft::Status::Corruption("increment command of " + std::to_string(data.size()) +
                                        " bytes, expected 9");
      }
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits |= uint64_t(static_cast<unsigned char>(data[1 + i])) << (8 * i);
      return increment(static_cast<int64_t>(bits));
    }
  }
  return raft::Status::Corruption("unknown counter command tag " +
                                  std::to_string(static_cast<unsigned char>(data[0])));
}

}  // namespace counter
