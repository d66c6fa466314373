#include "bench_json.h"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

namespace bench {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::add_raw(std::string_view key, std::string_view json) {
  if (!body_.empty()) body_ += ", ";
  body_ += json_quote(key);
  body_ += ": ";
  body_ += json;
  return *this;
}

JsonObject& JsonObject::add(std::string_view key, std::string_view value) {
  return add_raw(key, json_quote(value));
}

JsonObject& JsonObject::add(std::string_view key, double value) {
  if (!std::isfinite(value)) return add_null(key);
  char text[40];
  // Enough digits for the figures a benchmark reports, without float noise like 0.1000000001.
  std::snprintf(text, sizeof(text), "%.6g", value);
  return add_raw(key, text);
}

JsonObject& JsonObject::add(std::string_view key, int64_t value) {
  return add_raw(key, std::to_string(value));
}

JsonObject& JsonObject::add(std::string_view key, uint64_t value) {
  return add_raw(key, std::to_string(value));
}

JsonObject& JsonObject::add(std::string_view key, bool value) {
  return add_raw(key, value ? "true" : "false");
}

JsonObject& JsonObject::add(std::string_view key, std::optional<double> value) {
  return value ? add(key, *value) : add_null(key);
}

JsonObject& JsonObject::add(std::string_view key, const JsonObject& value) {
  return add_raw(key, value.str());
}

JsonObject& JsonObject::add(std::string_view key, const std::vector<double>& values) {
  std::string list = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char text[40];
    std::snprintf(text, sizeof(text), "%s%.6g", i ? ", " : "", values[i]);
    list += text;
  }
  return add_raw(key, list + "]");
}

JsonObject& JsonObject::add_null(std::string_view key) { return add_raw(key, "null"); }

raft::Status append_json_line(const std::string& path, const JsonObject& object) {
  const std::string line = object.str() + "\n";
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return raft::Status::IoError("cannot open --json file " + path + ": " + std::strerror(errno));
  }
  const bool written = std::fwrite(line.data(), 1, line.size(), file) == line.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    return raft::Status::IoError("cannot write --json file " + path + ": " + std::strerror(errno));
  }
  return raft::Status::OK();
}

void write_result_line(std::string_view program, const std::string& path, JsonObject line) {
  line.add("malloc", malloc_name())
      .add("machine", machine_json())
      .add("started_at", utc_timestamp());
  raft::Status appended = append_json_line(path, line);
  if (appended.ok()) return;
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               appended.to_string().c_str());
  std::exit(2);
}

JsonObject machine_json() {
  utsname names{};
  uname(&names);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  JsonObject machine;
  machine.add("cores", static_cast<int64_t>(std::thread::hardware_concurrency()))
      .add("kernel", names.release)
      .add("hostname", host);
  return machine;
}

std::string malloc_name() {
  if (dlsym(RTLD_DEFAULT, "mallctl") != nullptr) return "jemalloc";
  if (dlsym(RTLD_DEFAULT, "mi_version") != nullptr) return "mimalloc";
  return "glibc";
}

std::string make_scratch_directory(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/" + std::string(prefix) + ".XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return std::string();
  return pattern;
}

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

LatencySummary LatencySummary::of(std::vector<double>& samples) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.p50 = percentile(samples, 0.50);
  summary.p90 = percentile(samples, 0.90);
  summary.p99 = percentile(samples, 0.99);
  summary.p999 = percentile(samples, 0.999);
  summary.max = samples.back();
  return summary;
}

JsonObject LatencySummary::json() const {
  JsonObject object;
  object.add("p50", p50).add("p90", p90).add("p99", p99).add("p999", p999).add("max", max);
  return object;
}

}  // namespace bench
