#include "raft/storage/file_meta_storage.h"

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

}  // namespace

Result<std::unique_ptr<FileRaftMetaStorage>> FileRaftMetaStorage::open(const std::string& path) {
  return open(PosixFileSystem::instance(), path);
}

Result<std::unique_ptr<FileRaftMetaStorage>> FileRaftMetaStorage::open(
    std::shared_ptr<FileSystem> fs, const std::string& path) {
  PONTOON_CHECK(fs != nullptr);
  Result<std::string> content = read_whole_file(*fs, path, kMaxFileSize);
  if (!content.ok() && content.status().is_invalid_argument()) {
    return Status::Corruption("raft meta file " + path + " is longer than any meta file");
  }
  if (!content.ok() && !content.status().is_not_found()) return content.status();
  Meta meta{Term(0), PeerId()};
  if (content.ok()) {
    Result<Meta> decoded = decode(*content, path);
    if (!decoded.ok()) return decoded.status();
    meta = std::move(decoded).value();
  }
  return std::unique_ptr<FileRaftMetaStorage>(
      new FileRaftMetaStorage(std::move(fs), path, meta.term, std::move(meta.voted_for)));
}

FileRaftMetaStorage::FileRaftMetaStorage(std::shared_ptr<FileSystem> fs, std::string path,
                                         Term term, PeerId voted_for)
    : fs_(std::move(fs)), path_(std::move(path)), term_(term), voted_for_(std::move(voted_for)) {
  PONTOON_CHECK(term_ >= Term(0));
}

Status FileRaftMetaStorage::set_term_and_voted_for(Term term, const PeerId& voted_for) {
  check_meta_update(term_, voted_for_, term, voted_for);
  Status s = write_file_atomically(*fs_, path_, encode(term, voted_for));
  // If only the directory fsync failed, the file may already hold the new values; reporting
  // EIO is still right: the caller must not act on them (e.g. grant the vote), and loading
  // them after a restart is as safe as any vote that was never sent.
  // RaftMetaStorage promises EIO for every failure (a missing directory included).
  if (!s.ok()) return s.is_io_error() ? s : Status::IoError(s.message());
  term_ = term;
  voted_for_ = voted_for;
  return Status::OK();
}

}  // namespace raft
