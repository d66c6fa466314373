// atomic-client: reads, writes and inspects the registers of an atomic-server group.
//
// Exit codes: 0 done (for cas: it swapped); 1 gave up (no leader, or every replica failed,
// within --timeout-ms); 2 bad usage; 3 a write whose outcome is unknown (it may or may not have
// been applied); 4 a cas that found another value (printed) and changed nothing.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "atomic_client.h"
#include "atomic_flags.h"
#include "client_program.h"

namespace atomic {
namespace {

constexpr const char* kProgram = "atomic-client";
constexpr int kExitCasMismatch = 4;

// How long `status` waits for each replica, at most.
constexpr std::chrono::milliseconds kStatusTimeout{2000};

int print_value(const std::string& op, const RegisterResult& result, int64_t timeout_ms) {
  if (result.outcome != RegisterResult::Outcome::kOk) {
    return example::report_failure(kProgram, op, result, timeout_ms);
  }
  std::cout << result.value << std::endl;
  return example::kExitOk;
}

int print_cas(const AtomicClientFlags& flags, const RegisterResult& result) {
  const std::string op = "cas " + flags.key + " " + std::to_string(flags.operand) + " " +
                         std::to_string(flags.new_value);
  const int code = print_value(op, result, flags.cluster.timeout_ms);
  if (code != example::kExitOk || result.swapped) return code;
  std::cerr << kProgram << ": " << op << ": not swapped, the register holds " << result.value
            << std::endl;
  return kExitCasMismatch;
}

int print_status(const AtomicClientFlags& flags, AtomicClient& client) {
  const auto timeout =
      std::min<raft::Duration>(std::chrono::milliseconds(flags.cluster.timeout_ms), kStatusTimeout);
  std::vector<std::string> lines;
  bool any_answered = false;
  for (const ReplicaStatus& status : client.status_all(timeout)) {
    std::string line = example::describe(status);
    if (status.error.ok()) line += " keys=" + std::to_string(status.keys);
    lines.push_back(std::move(line));
    any_answered = any_answered || status.error.ok();
  }
  return example::print_status_lines(kProgram, lines, any_answered);
}

int run(const AtomicClientFlags& flags, AtomicClient& client) {
  const int64_t timeout_ms = flags.cluster.timeout_ms;
  using Command = AtomicClientFlags::Command;
  switch (flags.command) {
    case Command::kGet:
      return print_value("get " + flags.key, client.get(flags.key), timeout_ms);
    case Command::kSet:
      return print_value("set " + flags.key + " " + std::to_string(flags.operand),
                         client.set(flags.key, flags.operand), timeout_ms);
    case Command::kCompareAndSet:
      return print_cas(flags, client.compare_and_set(flags.key, flags.operand, flags.new_value));
    case Command::kFetchAdd:
      return print_value("fetch-add " + flags.key + " " + std::to_string(flags.operand),
                         client.fetch_add(flags.key, flags.operand), timeout_ms);
    case Command::kStatus:
      return print_status(flags, client);
  }
  return example::kExitUsage;
}

}  // namespace
}  // namespace atomic

int main(int argc, char** argv) {
  using atomic::AtomicClientFlags;
  raft::Result<AtomicClientFlags> flags =
      atomic::parse_atomic_client_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << atomic::kProgram << ": " << flags.status().message() << " ("
              << AtomicClientFlags::kUsage << ")" << std::endl;
    return example::kExitUsage;
  }
  if (flags->help) {
    std::cout << AtomicClientFlags::kUsage << std::endl;
    return example::kExitOk;
  }
  return example::with_rpc_client(atomic::kProgram, [&](raft::rpc::RpcClient* rpc) {
    atomic::AtomicClient client(rpc, flags->cluster.endpoints,
                                std::chrono::milliseconds(flags->cluster.timeout_ms));
    return atomic::run(*flags, client);
  });
}
