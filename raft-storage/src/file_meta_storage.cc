#include "raft/storage/file_meta_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "meta_invariants.h"
#include "raft/check.h"
#include "raft/storage/crc32c.h"

namespace raft {
namespace {

constexpr std::string_view kMagic = "PNTM";
constexpr uint8_t kVersion = 1;
constexpr size_t kFixedSize = 4 + 1 + 8 + 2 + 4;  // Everything but the vote text.
constexpr size_t kMaxVoteSize = 0xFFFF;
constexpr size_t kMaxFileSize = kFixedSize + kMaxVoteSize;

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status::IoError(what + " " + path + ": " + std::strerror(err));
}

void put_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t get_le(std::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= uint64_t(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return v;
}

std::string encode(Term term, const PeerId& voted_for) {
  std::string vote = voted_for.empty() ? std::string() : voted_for.to_string();
  PONTOON_CHECK(vote.size() <= kMaxVoteSize);
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  put_le(&out, static_cast<uint64_t>(term.value()), 8);
  put_le(&out, vote.size(), 2);
  out.append(vote);
  put_le(&out, crc32c::value(out), 4);
  PONTOON_CHECK(out.size() == kFixedSize + vote.size());
  return out;
}

struct Meta {
  Term term;
  PeerId voted_for;
};

Result<Meta> decode(std::string_view file, const std::string& path) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("raft meta file " + path + " " + why);
  };
  if (file.size() < kFixedSize) {
    return corrupt("is " + std::to_string(file.size()) + " bytes, shorter than the minimum " +
                   std::to_string(kFixedSize));
  }
  if (file.substr(0, kMagic.size()) != kMagic) return corrupt("does not start with PNTM");
  uint32_t stored_crc = static_cast<uint32_t>(get_le(file, file.size() - 4, 4));
  if (stored_crc != crc32c::value(file.substr(0, file.size() - 4))) {
    return corrupt("fails its checksum");
  }
  uint8_t version = static_cast<uint8_t>(file[4]);
  if (version != kVersion) return corrupt("has unknown version " + std::to_string(version));
  auto term = static_cast<int64_t>(get_le(file, 5, 8));
  if (term < 0) return corrupt("holds negative term " + std::to_string(term));
  size_t vote_size = get_le(file, 13, 2);
  if (kFixedSize + vote_size != file.size()) return corrupt("has an inconsistent vote size");
  Meta meta{Term(term), PeerId()};
  if (vote_size > 0) {
    Result<PeerId> vote = PeerId::parse(file.substr(15, vote_size));
    if (!vote.ok()) return corrupt("holds an unparsable vote: " + vote.status().to_string());
    meta.voted_for = *vote;
  }
  return meta;
}

// Reads the whole of `path`; ENOENT if it does not exist.
Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no raft meta file " + path);
    return io_error("open", path, errno);
  }
  std::string content;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_error("read", path, err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    // The file is tiny; anything longer is not ours, and reading it all would be unbounded.
    if (content.size() > kMaxFileSize) break;
  }
  ::close(fd);
  return content;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("write", path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status write_and_sync(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", path, errno);
  Status s = write_all(fd, data, path);
  if (s.ok() && ::fsync(fd) != 0) s = io_error("fsync", path, errno);
  if (::close(fd) != 0 && s.ok()) s = io_error("close", path, errno);
  return s;
}

// Makes a rename inside the directory of `path` durable.
Status sync_parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir, errno);
  Status s;
  if (::fsync(fd) != 0) s = io_error("fsync directory", dir, errno);
  ::close(fd);
  return s;
}

}  // namespace

Result<std::unique_ptr<FileRaftMetaStorage>> FileRaftMetaStorage::open(const std::string& path) {
  Result<std::string> content = read_file(path);
  if (!content.ok() && !content.status().is_not_found()) return content.status();
  Meta meta{Term(0), PeerId()};
  if (content.ok()) {
    Result<Meta> decoded = decode(*content, path);
    if (!decoded.ok()) return decoded.status();
    meta = std::move(decoded).value();
  }
  return std::unique_ptr<FileRaftMetaStorage>(
      new FileRaftMetaStorage(path, meta.term, std::move(meta.voted_for)));
}

FileRaftMetaStorage::FileRaftMetaStorage(std::string path, Term term, PeerId voted_for)
    : path_(std::move(path)), term_(term), voted_for_(std::move(voted_for)) {
  PONTOON_CHECK(term_ >= Term(0));
}

Status FileRaftMetaStorage::set_term_and_voted_for(Term term, const PeerId& voted_for) {
  check_meta_update(term_, voted_for_, term, voted_for);
  const std::string tmp_path = path_ + ".tmp";
  Status s = write_and_sync(tmp_path, encode(term, voted_for));
  if (s.ok() && ::rename(tmp_path.c_str(), path_.c_str()) != 0) {
    s = io_error("rename " + tmp_path + " over", path_, errno);
  }
  if (s.ok()) s = sync_parent_dir(path_);
  // If only the directory fsync failed, the file may already hold the new values; reporting
  // EIO is still right: the caller must not act on them (e.g. grant the vote), and loading
  // them after a restart is as safe as any vote that was never sent.
  if (!s.ok()) {
    // Best effort: a leftover temporary file is harmless, open() never reads it.
    ::unlink(tmp_path.c_str());
    return s;
  }
  term_ = term;
  voted_for_ = voted_for;
  return Status::OK();
}

}  // namespace raft
