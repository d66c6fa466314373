// Helpers shared by the benchmark programs: JSON lines output (the result format in
// docs/benchmarks.md, "The result format"), latency percentiles and facts about the machine.
//
// Thread-safety: JsonObject and LatencySummary are values; the free functions may be called
// from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/status.h"

namespace bench {

// Builds one JSON object, key by key, in insertion order. Strings are escaped; doubles that
// are not finite become null (JSON has no NaN).
class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, double value);
  JsonObject& add(std::string_view key, int64_t value);
  JsonObject& add(std::string_view key, int value) { return add(key, int64_t{value}); }
  JsonObject& add(std::string_view key, uint64_t value);
  JsonObject& add(std::string_view key, bool value);
  // null when `value` is empty.
  JsonObject& add(std::string_view key, std::optional<double> value);
  JsonObject& add(std::string_view key, const JsonObject& value);
  JsonObject& add(std::string_view key, const std::vector<double>& values);
  JsonObject& add_null(std::string_view key);

  // The object as text, on one line.
  std::string str() const { return "{" + body_ + "}"; }

 private:
  JsonObject& add_raw(std::string_view key, std::string_view json);

  std::string body_;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// Appends `object` and a newline to the file at `path` (created if missing) in one write, so
// lines from runs that share a file do not interleave. EIO naming the path on failure.
raft::Status append_json_line(const std::string& path, const JsonObject& object);

// For the benchmark programs: adds "malloc", "machine" and "started_at" to `line` and appends it to
// the
// --json file at `path`; on failure prints the error after `program` and exits with 2 (the
// --json flag named a file that cannot be written).
void write_result_line(std::string_view program, const std::string& path, JsonObject line);

// {"cores": N, "kernel": "...", "hostname": "..."} for this machine.
JsonObject machine_json();

// The malloc this process runs on: "jemalloc" or "mimalloc" when one is linked or preloaded
// (found by a symbol only it exports), else "glibc". Numbers per operation depend on it.
std::string malloc_name();

// The current UTC time as "2026-12-02T01:50:00Z".
std::string utc_timestamp();

// Creates a new directory $TMPDIR/<prefix>.XXXXXX (/tmp without TMPDIR) for a benchmark's
// files; returns its path, or an empty string (errno set) if it cannot be created.
std::string make_scratch_directory(std::string_view prefix);

// Percentiles of a set of latency samples, in the samples' unit.
struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;

  // Sorts `samples` in place. All zeros when `samples` is empty.
  static LatencySummary of(std::vector<double>& samples);
  // {"p50": ..., "p90": ..., "p99": ..., "p999": ..., "max": ...}
  JsonObject json() const;
};

// The value at fraction `p` (0..1) of `sorted` (nearest rank). REQUIRES: sorted non-empty.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace bench
