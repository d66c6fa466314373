// ring-buffer-bench: MpscRingBuffer against moodycamel::ConcurrentQueue, N producers, 1 consumer.
//
// Each run moves a fixed number of 8-byte items from the producers to one consumer thread that
// drains in batches (as LogManager and FSMCaller do) and reports throughput. The ring is bounded,
// so its producers see "full" and retry; moodycamel's queue is pre-sized to the same capacity but
// may grow. Both consumers poll and yield when empty, so neither parks; this measures the
// hand-off itself. Each configuration runs three times and the fastest run is reported; each run is
// capped in time so the whole benchmark ends in a few seconds.
//
// Usage: ring-buffer-bench [items_per_run]   (default 2,000,000)
#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "raft/ring_buffer.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kCapacity = 16 * 1024;
constexpr size_t kBatch = 256;
// A run that has not finished by then stops early and reports what it moved.
constexpr auto kRunTimeLimit = std::chrono::milliseconds(1500);
constexpr int kRepeats = 3;

struct RunResult {
  uint64_t items = 0;
  Clock::duration elapsed{};
  bool complete = true;
};

// The consumer loop shared by both queues: `drain` appends up to kBatch items to a vector and
// returns how many. Checks a checksum so the compiler cannot drop the work.
template <typename Drain>
RunResult consume(uint64_t total, Drain&& drain, std::atomic<bool>& stop, Clock::time_point start) {
  std::vector<uint64_t> batch;
  batch.reserve(kBatch);
  uint64_t consumed = 0;
  uint64_t checksum = 0;
  const Clock::time_point deadline = start + kRunTimeLimit;
  uint32_t idle = 0;
  while (consumed < total) {
    batch.clear();
    const size_t n = drain(batch);
    if (n == 0) {
      if (++idle % 1024 == 0 && Clock::now() > deadline) break;
      std::this_thread::yield();
      continue;
    }
    for (uint64_t item : batch) checksum += item;
    consumed += n;
  }
  RunResult result;
  result.elapsed = Clock::now() - start;
  result.items = consumed;
  result.complete = consumed == total;
  stop = true;
  if (checksum == 42) std::puts("");  // Keeps `checksum` alive.
  return result;
}

template <typename Publish>
std::vector<std::thread> start_producers(int producers, uint64_t total, Publish publish,
                                         std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    const uint64_t count = total / producers + (static_cast<uint64_t>(p) < total % producers);
    threads.emplace_back([=, &stop]() mutable {
      for (uint64_t i = 0; i < count; ++i) {
        while (!publish(i)) {
          if (stop.load(std::memory_order_relaxed)) return;
          std::this_thread::yield();
        }
      }
    });
  }
  return threads;
}

RunResult run_ring(int producers, uint64_t total) {
  raft::MpscRingBuffer<uint64_t, raft::NoWaitStrategy> ring(kCapacity);
  std::atomic<bool> stop{false};
  const Clock::time_point start = Clock::now();
  auto threads = start_producers(
      producers, total, [&ring](uint64_t item) { return ring.try_publish(std::move(item)); }, stop);
  RunResult result = consume(
      total, [&ring](std::vector<uint64_t>& out) { return ring.drain(out, kBatch); }, stop, start);
  for (std::thread& t : threads) t.join();
  return result;
}

RunResult run_moodycamel(int producers, uint64_t total) {
  moodycamel::ConcurrentQueue<uint64_t> queue(kCapacity);
  std::atomic<bool> stop{false};
  const Clock::time_point start = Clock::now();
  // One producer token per thread: moodycamel's fastest path.
  auto threads = start_producers(
      producers, total,
      [&queue, token = std::shared_ptr<moodycamel::ProducerToken>()](uint64_t item) mutable {
        if (!token) token = std::make_shared<moodycamel::ProducerToken>(queue);
        return queue.enqueue(*token, item);
      },
      stop);
  moodycamel::ConsumerToken consumer_token(queue);
  uint64_t scratch[kBatch];
  RunResult result = consume(
      total,
      [&](std::vector<uint64_t>& out) {
        const size_t n = queue.try_dequeue_bulk(consumer_token, scratch, kBatch);
        out.insert(out.end(), scratch, scratch + n);
        return n;
      },
      stop, start);
  for (std::thread& t : threads) t.join();
  return result;
}

// Machines running benchmarks are rarely idle; the fastest of a few runs is the least disturbed.
template <typename Run>
RunResult best_of(int repeats, Run run) {
  RunResult best = run();
  for (int i = 1; i < repeats; ++i) {
    RunResult r = run();
    const bool faster = r.items * best.elapsed.count() > best.items * r.elapsed.count();
    if (faster) best = r;
  }
  return best;
}

void print_row(const char* name, int producers, const RunResult& r) {
  const double seconds = std::chrono::duration<double>(r.elapsed).count();
  const double ops = r.items / seconds;
  const double ns_per_op = seconds * 1e9 / static_cast<double>(r.items ? r.items : 1);
  std::printf("%-28s %9d %12llu %14.0f %9.1f%s\n", name, producers,
              static_cast<unsigned long long>(r.items), ops, ns_per_op,
              r.complete ? "" : "  (time limit)");
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t items = 2'000'000;
  if (argc > 1) {
    char* end = nullptr;
    items = std::strtoull(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || items == 0) {
      std::fprintf(stderr, "usage: %s [items_per_run > 0]\n", argv[0]);
      return 2;
    }
  }
  std::printf("capacity %zu, consumer batch %zu, best of %d runs, %u hardware threads\n\n",
              kCapacity, kBatch, kRepeats, std::thread::hardware_concurrency());
  std::printf("%-28s %9s %12s %14s %9s\n", "queue", "producers", "items", "ops/s", "ns/op");
  for (int producers : {1, 2, 4}) {
    print_row("MpscRingBuffer", producers,
              best_of(kRepeats, [&] { return run_ring(producers, items); }));
    print_row("moodycamel::ConcurrentQueue", producers,
              best_of(kRepeats, [&] { return run_moodycamel(producers, items); }));
  }
  return 0;
}
