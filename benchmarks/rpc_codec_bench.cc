// rpc-codec-bench: the cost of putting AppendEntries on the wire and taking it off again.
//
// For AppendEntries requests carrying 1, 32 and 256 entries of 256 bytes, and for their
// responses, one thread repeatedly
//   encode: raft::rpc::encode(message) and encode_frame_parts (the 24-byte header beside the
//           body it moves in: what a connection sends), and
//   decode: FrameDecoder::feed of the whole frame and raft::rpc::decode of its body,
// for a fixed time per case, and reports frames/s, GB/s of frame bytes and heap allocations per
// frame. Allocations are counted by this program's own global operator new, so they include
// everything the codec, protobuf and the std::strings do, and nothing else: the loop reuses
// its inputs and is otherwise allocation-free apart from what it measures.
//
//   rpc-codec-bench [--millis-per-case 500] [--json PATH]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "common/bench_json.h"
#include "raft/cli/flag_parser.h"
#include "raft/rpc/frame.h"
#include "raft/rpc/method_ids.h"
#include "raft/rpc/raft_codec.h"

namespace {

// Relaxed: the benchmark is single-threaded; the counter only has to be exact on this thread.
std::atomic<uint64_t> g_allocations{0};

}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kEntryPayloadBytes = 256;

struct CaseResult {
  std::string message;
  std::string direction;
  int entries = 0;
  uint64_t frames = 0;
  uint64_t frame_bytes = 0;
  uint64_t allocations = 0;
  double seconds = 0;
};

raft::AppendEntriesRequest make_request(int entries) {
  raft::AppendEntriesRequest request;
  request.group_id = "bench";
  request.server_id = raft::PeerId("127.0.0.1", 17001);
  request.peer_id = raft::PeerId("127.0.0.1", 17002);
  request.term = raft::Term(7);
  request.prev_log_id = raft::LogId{raft::LogIndex(1000), raft::Term(7)};
  request.committed_index = raft::LogIndex(990);
  for (int i = 0; i < entries; ++i) {
    request.entries.push_back(raft::make_entry(raft::EntryType::kData, raft::LogIndex(1001 + i),
                                               raft::Term(7),
                                               std::string(kEntryPayloadBytes, 'p')));
  }
  return request;
}

raft::AppendEntriesResponse make_response() {
  raft::AppendEntriesResponse response;
  response.term = raft::Term(7);
  response.success = true;
  response.last_log_index = raft::LogIndex(1256);
  return response;
}

template <typename Message>
raft::rpc::EncodedFrame encode_as_frame(const Message& message, raft::rpc::FrameKind kind) {
  raft::rpc::Frame frame;
  frame.kind = kind;
  frame.method_id = raft::rpc::method::kAppendEntries;
  frame.request_id = 42;
  frame.body = raft::rpc::encode(message);
  auto encoded = raft::rpc::encode_frame_parts(std::move(frame), raft::rpc::kDefaultMaxFrameBytes);
  if (!encoded.ok()) {
    std::fprintf(stderr, "rpc-codec-bench: encode_frame_parts: %s\n",
                 encoded.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(encoded).value();
}

// Runs `one_frame` (which returns the frame's size in bytes) until `millis` have passed.
template <typename OneFrame>
CaseResult measure(std::string message, std::string direction, int entries, int millis,
                   OneFrame one_frame) {
  CaseResult result{std::move(message), std::move(direction), entries, 0, 0, 0, 0};
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::milliseconds(millis);
  const uint64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
  // Checking the clock every frame would cost more than a small frame does.
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) {
      result.frame_bytes += one_frame();
      ++result.frames;
    }
  }
  result.allocations = g_allocations.load(std::memory_order_relaxed) - allocations_before;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

template <typename Message>
std::vector<CaseResult> run_message(const std::string& name, int entries, const Message& message,
                                    raft::rpc::FrameKind kind, int millis) {
  std::vector<CaseResult> results;
  results.push_back(measure(name, "encode", entries, millis,
                            [&] { return encode_as_frame(message, kind).size(); }));
  const raft::rpc::EncodedFrame encoded = encode_as_frame(message, kind);
  const std::string frame_bytes =
      std::string(encoded.header.data(), encoded.header.size()) + encoded.body;
  raft::rpc::FrameDecoder decoder(raft::rpc::kDefaultMaxFrameBytes);
  std::vector<raft::rpc::Frame> frames;
  Message decoded;
  results.push_back(measure(name, "decode", entries, millis, [&] {
    frames.clear();
    raft::Status fed = decoder.feed(frame_bytes, &frames);
    raft::Status status = fed.ok() && frames.size() == 1
                              ? raft::rpc::decode(frames[0].body, &decoded)
                              : raft::Status::Corruption("not one frame");
    if (!status.ok()) {
      std::fprintf(stderr, "rpc-codec-bench: decode: %s\n", status.to_string().c_str());
      std::exit(1);
    }
    return frame_bytes.size();
  }));
  return results;
}

void report(const CaseResult& r, const std::string& json_path) {
  const double frames_per_s = static_cast<double>(r.frames) / r.seconds;
  const double gb_per_s = static_cast<double>(r.frame_bytes) / r.seconds / 1e9;
  const double allocations_per_frame =
      static_cast<double>(r.allocations) / static_cast<double>(r.frames);
  const uint64_t bytes_per_frame = r.frame_bytes / r.frames;
  std::printf("%-22s %7d %-7s %11llu %12.0f %8.3f %12.1f\n", r.message.c_str(), r.entries,
              r.direction.c_str(), static_cast<unsigned long long>(bytes_per_frame), frames_per_s,
              gb_per_s, allocations_per_frame);
  if (json_path.empty()) return;
  bench::JsonObject line;
  line.add("tool", "rpc-codec-bench")
      .add("message", r.message)
      .add("direction", r.direction)
      .add("entries", r.entries)
      .add("entry_payload_bytes", static_cast<uint64_t>(kEntryPayloadBytes))
      .add("frame_bytes", bytes_per_frame)
      .add("seconds", r.seconds)
      .add("frames", r.frames)
      .add("frames_per_s", frames_per_s)
      .add("gb_per_s", gb_per_s)
      .add("allocations_per_frame", allocations_per_frame);
  bench::write_result_line("rpc-codec-bench", json_path, std::move(line));
}

}  // namespace

int main(int argc, char** argv) {
  raft::cli::FlagParser parser({"--millis-per-case", "--json"});
  raft::Status parsed = parser.parse(std::vector<std::string>(argv + 1, argv + argc));
  auto millis = parser.integer("--millis-per-case", 500, 10, 600000);
  if (!parsed.ok() || !millis.ok() || !parser.positional().empty()) {
    const std::string why = !parsed.ok()   ? parsed.to_string()
                            : !millis.ok() ? millis.status().to_string()
                                           : "unexpected argument '" + parser.positional()[0] + "'";
    std::fprintf(stderr, "rpc-codec-bench: %s\n", why.c_str());
    return 2;
  }
  const std::string json_path = parser.get("--json").value_or("");
  const int case_millis = static_cast<int>(millis.value());
  std::printf("entries of %zu bytes, %d ms per case, one thread\n\n", kEntryPayloadBytes,
              case_millis);
  std::printf("%-22s %7s %-7s %11s %12s %8s %12s\n", "message", "entries", "op", "frame bytes",
              "frames/s", "GB/s", "allocs/frame");
  for (int entries : {1, 32, 256}) {
    for (const CaseResult& r : run_message("AppendEntriesRequest", entries, make_request(entries),
                                           raft::rpc::FrameKind::kRequest, case_millis)) {
      report(r, json_path);
    }
  }
  for (const CaseResult& r : run_message("AppendEntriesResponse", 0, make_response(),
                                         raft::rpc::FrameKind::kResponse, case_millis)) {
    report(r, json_path);
  }
  return 0;
}
