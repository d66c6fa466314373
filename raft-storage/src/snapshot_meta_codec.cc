#include "snapshot_meta_codec.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "raft/check.h"
#include "raft/storage/crc32c.h"

namespace raft::snapshot_meta {
namespace {

constexpr std::string_view kMagic = "PNTS";
constexpr uint8_t kVersion = 1;
// magic, version, index, term, conf_size, file_count, crc: a meta with no conf and no files.
constexpr size_t kMinFileBytes = 4 + 1 + 8 + 8 + 4 + 4 + 4;
constexpr size_t kCrcBytes = 4;

void put_uint(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Reads little-endian fields front to back; every read is bounds-checked, so a length field
// that runs past the end is an error value, never an out-of-range access.
class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}

  bool read_uint(int bytes, uint64_t* v) {
    if (remaining() < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      *v |= uint64_t(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += static_cast<size_t>(bytes);
    return true;
  }

  bool read_bytes(uint64_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

  size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;  // Invariant: pos_ <= in_.size().
};

}  // namespace

Status check_file_name(std::string_view name) {
  auto invalid = [&](const char* why) {
    return Status::InvalidArgument("snapshot file name \"" + std::string(name) + "\" " + why);
  };
  if (name.empty()) return Status::InvalidArgument("snapshot file name is empty");
  if (name.size() > kMaxNameBytes) return invalid("is longer than 65535 bytes");
  if (name == "." || name == "..") return invalid("names a directory");
  if (name.find('/') != std::string_view::npos) return invalid("contains '/'");
  if (name.find('\0') != std::string_view::npos) return invalid("contains a NUL byte");
  if (name == kFileName) return invalid("is reserved for the snapshot meta file");
  return Status::OK();
}

std::string encode(const SnapshotMeta& meta, const std::vector<SnapshotFile>& files) {
  PONTOON_CHECK(meta.last_included.index >= LogIndex(1));
  PONTOON_CHECK(meta.last_included.term >= Term(1));
  PONTOON_CHECK(!meta.conf.empty());
  const std::string conf = meta.configuration().to_string();
  PONTOON_CHECK(conf.size() <= UINT32_MAX);
  PONTOON_CHECK(files.size() <= UINT32_MAX);

  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  put_uint(&out, static_cast<uint64_t>(meta.last_included.index.value()), 8);
  put_uint(&out, static_cast<uint64_t>(meta.last_included.term.value()), 8);
  put_uint(&out, conf.size(), 4);
  out.append(conf);
  put_uint(&out, files.size(), 4);
  for (size_t i = 0; i < files.size(); ++i) {
    const SnapshotFile& file = files[i];
    PONTOON_CHECK(check_file_name(file.name).ok());
    PONTOON_CHECK(i == 0 || files[i - 1].name < file.name);
    put_uint(&out, file.name.size(), 2);
    out.append(file.name);
    put_uint(&out, file.size, 8);
    put_uint(&out, file.crc32c, 4);
  }
  put_uint(&out, crc32c::value(out), 4);
  return out;
}

Result<Record> decode(std::string_view bytes, const std::string& path) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("snapshot meta file " + path + " " + why);
  };
  if (bytes.size() < kMinFileBytes) {
    return corrupt("is " + std::to_string(bytes.size()) + " bytes, shorter than the minimum " +
                   std::to_string(kMinFileBytes));
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt("does not start with PNTS");
  Cursor crc_cursor(bytes.substr(bytes.size() - kCrcBytes));
  uint64_t stored_crc = 0;
  PONTOON_CHECK(crc_cursor.read_uint(4, &stored_crc));
  const std::string_view body = bytes.substr(0, bytes.size() - kCrcBytes);
  if (stored_crc != crc32c::value(body)) return corrupt("fails its checksum");

  // From here on the checksum matched: what fails is a file this code could not have written.
  Cursor cursor(body.substr(kMagic.size()));
  uint64_t version = 0, index = 0, term = 0, conf_size = 0, file_count = 0;
  PONTOON_CHECK(cursor.read_uint(1, &version));
  if (version != kVersion) return corrupt("has unknown version " + std::to_string(version));
  PONTOON_CHECK(cursor.read_uint(8, &index));
  PONTOON_CHECK(cursor.read_uint(8, &term));
  const auto signed_index = static_cast<int64_t>(index);
  const auto signed_term = static_cast<int64_t>(term);
  if (signed_index < 1) return corrupt("holds index " + std::to_string(signed_index) + " < 1");
  if (signed_term < 1) return corrupt("holds term " + std::to_string(signed_term) + " < 1");

  std::string_view conf_text;
  PONTOON_CHECK(cursor.read_uint(4, &conf_size));
  if (!cursor.read_bytes(conf_size, &conf_text)) {
    return corrupt("has a configuration size " + std::to_string(conf_size) +
                   " running past the end");
  }
  Result<ConfigurationEntry> conf = ConfigurationEntry::parse(conf_text);
  if (!conf.ok()) {
    return corrupt("holds an unparsable configuration: " + conf.status().to_string());
  }

  Record record{
      SnapshotMeta{LogId{LogIndex(signed_index), Term(signed_term)}, conf->conf, conf->old_conf},
      {}};
  if (!cursor.read_uint(4, &file_count)) return corrupt("has no file count");
  std::set<std::string_view> names;
  // Bounded by the bytes, not by file_count: a huge count in a short file fails on the first
  // entry that runs past the end instead of reserving memory for it.
  for (uint64_t i = 0; i < file_count; ++i) {
    const std::string entry = "file entry " + std::to_string(i);
    uint64_t name_size = 0, size = 0, crc = 0;
    std::string_view name;
    if (!cursor.read_uint(2, &name_size) || !cursor.read_bytes(name_size, &name) ||
        !cursor.read_uint(8, &size) || !cursor.read_uint(4, &crc)) {
      return corrupt("has " + entry + " of " + std::to_string(file_count) +
                     " running past the end");
    }
    Status valid = check_file_name(name);
    if (!valid.ok()) return corrupt("lists a bad file name: " + std::string(valid.message()));
    if (!names.insert(name).second) return corrupt("lists file " + std::string(name) + " twice");
    record.files.push_back(SnapshotFile{std::string(name), size, static_cast<uint32_t>(crc)});
  }
  if (cursor.remaining() != 0) {
    return corrupt("has " + std::to_string(cursor.remaining()) + " trailing bytes");
  }
  std::sort(record.files.begin(), record.files.end(),
            [](const SnapshotFile& a, const SnapshotFile& b) { return a.name < b.name; });
  return record;
}

}  // namespace raft::snapshot_meta
