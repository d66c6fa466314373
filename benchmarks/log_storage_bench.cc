// log-storage-bench: synced appends to the two LogStorage implementations, and the disk's own
// fdatasync latency as the reference.
//
// For RocksDB (RocksDBLogStore, one group) and the segment store (FileLogStorage on the
// PosixFileSystem, preallocated as by default: "segments", and growing its files:
// "segments-append"), for batches of 1, 16 and 256 entries of 16 B, 256 B and 4 KiB, one thread
// calls LogStorage::write() with sync set, each call appending the next batch, for a fixed time
// per case. That is exactly what the LogManager's disk lane does with one drained batch, so
// appends/s bounds how many drained batches a replica can make durable per second, and
// entries/s what group commit can reach at that batch size. The latency column is the whole
// synced write() (the write plus its fsync). The reference rows write 64 B or 4 KiB to a
// plain file in the same directory and call fdatasync, into a growing, a fallocated and a
// zero-filled file (see run_fdatasync): what the disk costs before any storage engine adds its
// own work.
//
// Then catch-up reads: for each store and payload, a log written once and reopened, read front
// to back in runs of 1,024 entries for the time of a case, with one get_entry() per entry and
// with one get_entries() per run (LogStorage's range read, what the leader uses for a follower
// further behind than its log cache); entries/s of each, the page cache warm.
//
// Every case gets a fresh directory under --dir (default: a new directory in $TMPDIR or /tmp),
// removed when the case ends.
//
//   log-storage-bench [--dir DIR] [--seconds-per-case 1] [--storage rocksdb|segments|both]
//                     [--json PATH]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/bench_json.h"
#include "raft/cli/flag_parser.h"
#include "raft/storage/file_log_storage.h"
#include "raft/storage/file_system.h"
#include "raft/storage/rocksdb_log_store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string dir;
  double seconds_per_case = 1.0;
  bool rocksdb = true;
  bool segments = true;
  std::string json;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "log-storage-bench: %s\n", why.c_str());
  std::exit(2);
}

Flags parse_flags(int argc, char** argv) {
  raft::cli::FlagParser parser({"--dir", "--seconds-per-case", "--storage", "--json"});
  raft::Status parsed = parser.parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) usage(parsed.to_string());
  if (!parser.positional().empty()) usage("unexpected argument '" + parser.positional()[0] + "'");
  Flags flags;
  flags.dir = parser.get("--dir").value_or("");
  flags.json = parser.get("--json").value_or("");
  auto seconds = parser.integer("--seconds-per-case", 1, 1, 600);
  if (!seconds.ok()) usage(seconds.status().to_string());
  flags.seconds_per_case = static_cast<double>(seconds.value());
  const std::string storage = parser.get("--storage").value_or("both");
  if (storage != "rocksdb" && storage != "segments" && storage != "both") {
    usage("--storage must be rocksdb, segments or both, got '" + storage + "'");
  }
  flags.rocksdb = storage != "segments";
  flags.segments = storage != "rocksdb";
  return flags;
}

struct CaseResult {
  std::string storage;
  int batch_entries = 0;
  int payload_bytes = 0;
  double seconds = 0;
  uint64_t appends = 0;
  std::vector<double> latency_ms;
};

// Appends batches of `batch_entries` entries of `payload_bytes` each, synced, until the time is
// up. Aborts the benchmark if the storage fails: a number measured over failing writes means
// nothing.
CaseResult run_appends(raft::LogStorage& log, const std::string& storage, int batch_entries,
                       int payload_bytes, double seconds) {
  CaseResult result{storage, batch_entries, payload_bytes, 0, 0, {}};
  const std::string payload(static_cast<size_t>(payload_bytes), 'x');
  raft::LogIndex next = log.last_log_index() + 1;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  raft::LogWrite write;
  write.sync = true;
  while (Clock::now() < end) {
    write.entries.clear();
    for (int i = 0; i < batch_entries; ++i) {
      write.entries.push_back(
          raft::make_entry(raft::EntryType::kData, next, raft::Term(1), payload));
      ++next;
    }
    const Clock::time_point before = Clock::now();
    raft::Status status = log.write(write);
    result.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    if (!status.ok()) {
      std::fprintf(stderr, "log-storage-bench: %s write failed: %s\n", storage.c_str(),
                   status.to_string().c_str());
      std::exit(1);
    }
    ++result.appends;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

// The references: `record_bytes` written to a plain file and fdatasync'ed, over and over.
// "append" grows the file with every write, so each fdatasync must also make the new size
// durable; "fallocate" writes into a region posix_fallocate'd and synced beforehand (unwritten
// extents, which a write must still convert); "zero-filled" into one written with zeros and
// synced beforehand, so fdatasync flushes data only (what a preallocated segment does).
enum class ProbeFile { kAppend, kFallocate, kZeroFilled };

CaseResult run_fdatasync(const std::string& dir, ProbeFile kind, int record_bytes, double seconds) {
  const char* names[] = {"fdatasync-append", "fdatasync-fallocate", "fdatasync-zerofill"};
  CaseResult result{names[static_cast<int>(kind)], 1, record_bytes, 0, 0, {}};
  const std::string path = dir + "/fdatasync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  constexpr off_t kPreallocatedBytes = 64 << 20;
  bool ready = fd >= 0;
  if (ready && kind == ProbeFile::kFallocate) {
    ready = ::posix_fallocate(fd, 0, kPreallocatedBytes) == 0 && ::fsync(fd) == 0;
  }
  if (ready && kind == ProbeFile::kZeroFilled) {
    const std::string zeros(1 << 20, '\0');
    for (off_t at = 0; ready && at < kPreallocatedBytes; at += static_cast<off_t>(zeros.size())) {
      ready = ::pwrite(fd, zeros.data(), zeros.size(), at) == static_cast<ssize_t>(zeros.size());
    }
    ready = ready && ::fsync(fd) == 0;
  }
  if (!ready) {
    std::perror(("log-storage-bench: open/preallocate " + path).c_str());
    std::exit(1);
  }
  const std::string record(static_cast<size_t>(record_bytes), 'x');
  off_t offset = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end && offset + record_bytes <= kPreallocatedBytes) {
    const Clock::time_point before = Clock::now();
    const bool ok =
        ::pwrite(fd, record.data(), record.size(), offset) == static_cast<ssize_t>(record.size()) &&
        ::fdatasync(fd) == 0;
    result.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    if (!ok) {
      std::perror("log-storage-bench: pwrite/fdatasync");
      std::exit(1);
    }
    offset += static_cast<off_t>(record.size());
    ++result.appends;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  return result;
}

// Catch-up reads: a log of `entries` entries of `payload_bytes`, read front to back in runs of
// kReadRun entries, over and over until the time is up, either one get_entry() per entry or one
// get_entries() per run (what a leader serving a follower far behind its cache does).
constexpr size_t kReadRun = 1024;
// 100,000 entries, or 64 MiB of payload if that is fewer (4 KiB entries).
int read_log_entries(int payload_bytes) { return std::min(100000, (64 << 20) / payload_bytes); }

struct ReadResult {
  std::string storage;
  std::string method;
  int payload_bytes = 0;
  double seconds = 0;
  uint64_t entries = 0;
};

void fill_log(raft::LogStorage& log, const std::string& storage, int entries, int payload_bytes) {
  const std::string payload(static_cast<size_t>(payload_bytes), 'r');
  raft::LogIndex next = log.last_log_index() + 1;
  raft::LogWrite write;
  for (int written = 0; written < entries;) {
    write.entries.clear();
    for (size_t i = 0; i < kReadRun && written < entries; ++i, ++written) {
      write.entries.push_back(
          raft::make_entry(raft::EntryType::kData, next, raft::Term(1), payload));
      ++next;
    }
    write.sync = written == entries;
    raft::Status status = log.write(write);
    if (!status.ok()) {
      std::fprintf(stderr, "log-storage-bench: %s write failed: %s\n", storage.c_str(),
                   status.to_string().c_str());
      std::exit(1);
    }
  }
}

ReadResult run_reads(const raft::LogStorage& log, const std::string& storage, bool ranges,
                     int payload_bytes, double seconds) {
  ReadResult result{storage, ranges ? "get_entries" : "get_entry", payload_bytes, 0, 0};
  const raft::LogIndex first = log.first_log_index();
  const raft::LogIndex last = log.last_log_index();
  raft::LogIndex next = first;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto fail = [&](const raft::Status& status) {
    std::fprintf(stderr, "log-storage-bench: %s read failed: %s\n", storage.c_str(),
                 status.to_string().c_str());
    std::exit(1);
  };
  while (Clock::now() < end) {
    size_t got = 0;
    if (ranges) {
      auto run = log.get_entries(next, kReadRun, SIZE_MAX);
      if (!run.ok()) fail(run.status());
      got = run->size();
    } else {
      for (; got < kReadRun && next + static_cast<int64_t>(got) <= last; ++got) {
        auto entry = log.get_entry(next + static_cast<int64_t>(got));
        if (!entry.ok()) fail(entry.status());
      }
    }
    result.entries += got;
    next += static_cast<int64_t>(got);
    if (next > last) next = first;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

void report_reads(const ReadResult& r, const Flags& flags) {
  const double entries_per_s = static_cast<double>(r.entries) / r.seconds;
  std::printf("%-19s %12s %8d %12.0f %9.1f\n", r.storage.c_str(), r.method.c_str(), r.payload_bytes,
              entries_per_s, entries_per_s * r.payload_bytes / 1e6);
  std::fflush(stdout);
  if (flags.json.empty()) return;
  bench::JsonObject line;
  line.add("tool", "log-storage-bench")
      .add("case", "reads")
      .add("log_storage", r.storage)
      .add("read_method", r.method)
      .add("run_entries", static_cast<int>(kReadRun))
      .add("payload_bytes", r.payload_bytes)
      .add("seconds", r.seconds)
      .add("entries", r.entries)
      .add("entries_per_s", entries_per_s)
      .add("mb_per_s", entries_per_s * r.payload_bytes / 1e6);
  bench::write_result_line("log-storage-bench", flags.json, std::move(line));
}

// The store, for RocksDB, is kept by the caller so that the database outlives the case.
std::shared_ptr<raft::LogStorage> open_storage(const std::string& storage, const std::string& dir,
                                               std::shared_ptr<raft::RocksDBLogStore>* store) {
  if (storage == "rocksdb") {
    auto opened = raft::RocksDBLogStore::open(dir);
    if (!opened.ok()) usage("cannot open RocksDB in " + dir + ": " + opened.status().to_string());
    *store = opened.value();
    auto group = (*store)->open_group("bench");
    if (!group.ok()) usage("cannot open the RocksDB group: " + group.status().to_string());
    return group.value();
  }
  // "segments" as configured by default (preallocated), "segments-append" growing each file.
  auto opened = raft::FileLogStorage::open(
      raft::PosixFileSystem::instance(), dir + "/log", "bench",
      raft::FileLogStorage::Options{.preallocate_segments = storage == "segments"});
  if (!opened.ok()) usage("cannot open segments in " + dir + ": " + opened.status().to_string());
  return std::move(opened).value();
}

void print_header() {
  std::printf("%-19s %6s %8s %10s %12s %9s %10s %10s\n", "storage", "batch", "payload", "appends/s",
              "entries/s", "MB/s", "p50 ms", "p99 ms");
}

void report(const CaseResult& r, const Flags& flags) {
  std::vector<double> samples = r.latency_ms;
  const bench::LatencySummary latency = bench::LatencySummary::of(samples);
  const double appends_per_s = static_cast<double>(r.appends) / r.seconds;
  const double entries_per_s = appends_per_s * r.batch_entries;
  const double mb_per_s = entries_per_s * r.payload_bytes / 1e6;
  std::printf("%-19s %6d %8d %10.0f %12.0f %9.2f %10.3f %10.3f\n", r.storage.c_str(),
              r.batch_entries, r.payload_bytes, appends_per_s, entries_per_s, mb_per_s, latency.p50,
              latency.p99);
  std::fflush(stdout);
  if (flags.json.empty()) return;
  bench::JsonObject line;
  line.add("tool", "log-storage-bench")
      .add("log_storage", r.storage)
      .add("batch_entries", r.batch_entries)
      .add("payload_bytes", r.payload_bytes)
      .add("fsync", true)
      .add("seconds", r.seconds)
      .add("appends", r.appends)
      .add("appends_per_s", appends_per_s)
      .add("entries_per_s", entries_per_s)
      .add("mb_per_s", mb_per_s)
      .add("sync_latency_ms", latency.json());
  bench::write_result_line("log-storage-bench", flags.json, std::move(line));
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  std::string base = flags.dir;
  if (base.empty()) {
    base = bench::make_scratch_directory("log-storage-bench");
    if (base.empty())
      usage(std::string("cannot create a scratch directory: ") + std::strerror(errno));
  }
  std::filesystem::create_directories(base);
  std::printf("directory %s, %.0f s per case, every write synced\n\n", base.c_str(),
              flags.seconds_per_case);
  print_header();
  int case_number = 0;
  auto fresh_dir = [&] {
    const std::string dir = base + "/case-" + std::to_string(case_number++);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  };
  for (int record_bytes : {64, 4096}) {
    for (ProbeFile kind : {ProbeFile::kAppend, ProbeFile::kFallocate, ProbeFile::kZeroFilled}) {
      const std::string dir = fresh_dir();
      report(run_fdatasync(dir, kind, record_bytes, flags.seconds_per_case), flags);
      std::filesystem::remove_all(dir);
    }
  }
  std::vector<std::string> storages;
  if (flags.rocksdb) storages.push_back("rocksdb");
  if (flags.segments) {
    storages.push_back("segments");
    storages.push_back("segments-append");
  }
  for (const std::string& storage : storages) {
    for (int batch : {1, 16, 256}) {
      for (int payload : {16, 256, 4096}) {
        const std::string dir = fresh_dir();
        {
          std::shared_ptr<raft::RocksDBLogStore> store;
          std::shared_ptr<raft::LogStorage> log = open_storage(storage, dir, &store);
          report(run_appends(*log, storage, batch, payload, flags.seconds_per_case), flags);
        }
        std::filesystem::remove_all(dir);
      }
    }
  }

  // Reopened after writing, as after a restart, so RocksDB reads its recovered state and the
  // segment store its rebuilt index; the page cache stays warm (a leader's recent log usually
  // is).
  std::printf("\ncatch-up reads: a log of up to 100,000 entries (64 MiB) read in runs of %zu\n",
              kReadRun);
  std::printf("%-19s %12s %8s %12s %9s\n", "storage", "method", "payload", "entries/s", "MB/s");
  for (const std::string& storage : storages) {
    if (storage == "segments-append") continue;  // Reads the same files as "segments".
    for (int payload : {16, 256, 4096}) {
      const std::string dir = fresh_dir();
      {
        std::shared_ptr<raft::RocksDBLogStore> store;
        fill_log(*open_storage(storage, dir, &store), storage, read_log_entries(payload), payload);
        store.reset();
        std::shared_ptr<raft::LogStorage> log = open_storage(storage, dir, &store);
        for (bool ranges : {false, true}) {
          report_reads(run_reads(*log, storage, ranges, payload, flags.seconds_per_case), flags);
        }
      }
      std::filesystem::remove_all(dir);
    }
  }
  if (flags.dir.empty()) std::filesystem::remove_all(base);
  return 0;
}
