// PosixFileSystem and the helpers every FileSystem shares.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "raft/check.h"
#include "raft/storage/file_system.h"

namespace raft {
namespace {

// Pieces per pwritev; well below IOV_MAX (1024 on Linux).
constexpr size_t kMaxIovecs = 256;

Status errno_status(const std::string& what, const std::string& path, int err) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(message);
  return Status::IoError(message);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override { (void)close(); }

  Status append(std::string_view data) override { return write_at(size_, data); }

  Status write_at(uint64_t offset, std::string_view data) override {
    return write_at_gathered(offset, std::span<const std::string_view>(&data, 1));
  }

  Status write_at_gathered(uint64_t offset, std::span<const std::string_view> pieces) override {
    if (fd_ < 0) return Status::IoError("write to closed file " + path_);
    PONTOON_CHECK(offset <= size_);
    // pieces[next..] are still to go, of which the first `done` bytes of pieces[next] went.
    size_t next = 0;
    size_t done = 0;
    while (next < pieces.size()) {
      std::array<iovec, kMaxIovecs> iov;
      size_t count = 0;
      for (size_t i = next; i < pieces.size() && count < iov.size(); ++i) {
        const size_t from = i == next ? done : 0;
        if (pieces[i].size() == from) continue;
        iov[count++] = {const_cast<char*>(pieces[i].data() + from), pieces[i].size() - from};
      }
      if (count == 0) break;  // Only empty pieces were left.
      ssize_t n = ::pwritev(fd_, iov.data(), static_cast<int>(count), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_status("write", path_, errno);
      if (n == 0) return Status::IoError("pwritev to " + path_ + " wrote nothing");
      offset += static_cast<uint64_t>(n);
      size_ = std::max(size_, offset);
      for (auto left = static_cast<size_t>(n); next < pieces.size();) {
        const size_t rest = pieces[next].size() - done;
        if (left < rest) {
          done += left;
          break;
        }
        left -= rest;
        ++next;
        done = 0;
      }
    }
    return Status::OK();
  }

  Status sync() override {
    if (fd_ < 0) return Status::IoError("sync of closed file " + path_);
    if (::fdatasync(fd_) != 0) return errno_status("fdatasync", path_, errno);
    return Status::OK();
  }

  uint64_t size() const override { return size_; }

  Status close() override {
    if (fd_ < 0) return Status::OK();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errno_status("close", path_, errno);
    return Status::OK();
  }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Result<std::string> read(uint64_t offset, size_t n) const override {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return errno_status("read", path_, errno);
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    out.resize(done);
    return out;
  }

  Result<uint64_t> size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_status("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

}  // namespace

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string parent_dir(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status WritableFile::write_at_gathered(uint64_t offset, std::span<const std::string_view> pieces) {
  size_t bytes = 0;
  for (std::string_view piece : pieces) bytes += piece.size();
  std::string joined;
  joined.reserve(bytes);
  for (std::string_view piece : pieces) joined.append(piece);
  return write_at(offset, joined);
}

Result<std::string> read_whole_file(FileSystem& fs, const std::string& path, uint64_t max_bytes) {
  Result<std::unique_ptr<RandomAccessFile>> file = fs.open_readable(path);
  if (!file.ok()) return file.status();
  Result<uint64_t> size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size > max_bytes) {
    return Status::InvalidArgument(path + " is " + std::to_string(*size) +
                                   " bytes, more than the " + std::to_string(max_bytes) +
                                   " expected");
  }
  return (*file)->read(0, static_cast<size_t>(*size));
}

Status write_file_atomically(FileSystem& fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  Result<std::unique_ptr<WritableFile>> file =
      fs.open_writable(tmp, FileSystem::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  Status s = (*file)->append(data);
  if (s.ok()) s = (*file)->sync();
  Status closed = (*file)->close();
  if (s.ok()) s = closed;
  if (s.ok()) s = fs.rename(tmp, path);
  if (s.ok()) s = fs.sync_dir(parent_dir(path));
  if (!s.ok()) (void)fs.remove_file(tmp);  // Best effort: a stale .tmp is never read.
  return s;
}

std::shared_ptr<FileSystem> PosixFileSystem::instance() {
  static const std::shared_ptr<FileSystem> fs = std::make_shared<PosixFileSystem>();
  return fs;
}

Result<std::unique_ptr<WritableFile>> PosixFileSystem::open_writable(const std::string& path,
                                                                     OpenMode mode) {
  // Not O_APPEND: Linux's pwrite() ignores the offset on such a file, and writes go through
  // pwrite() at the offset this object tracks (one writer per file).
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == OpenMode::kTruncate ? O_TRUNC : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno_status("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_status("stat", path, err);
  }
  return std::unique_ptr<WritableFile>(
      new PosixWritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

Result<std::unique_ptr<RandomAccessFile>> PosixFileSystem::open_readable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("open", path, errno);
  return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
}

Status PosixFileSystem::truncate_file(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("open", path, errno);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = errno_status("truncate", path, errno);
  } else if (::fdatasync(fd) != 0) {
    s = errno_status("fdatasync", path, errno);
  }
  ::close(fd);
  return s;
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return errno_status("rename " + from + " to", to, errno);
  return Status::OK();
}

Status PosixFileSystem::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_status("remove", path, errno);
  return Status::OK();
}

Status PosixFileSystem::create_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_status("create directory", path, errno);
  }
  return Status::OK();
}

Status PosixFileSystem::remove_dir_all(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) return Status::IoError("remove " + path + ": " + error.message());
  return Status::OK();
}

Status PosixFileSystem::sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open directory", path, errno);
  Status s;
  if (::fsync(fd) != 0) s = errno_status("fsync directory", path, errno);
  ::close(fd);
  return s;
}

Result<std::vector<std::string>> PosixFileSystem::list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return errno_status("list", path, errno);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool PosixFileSystem::exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool PosixFileSystem::is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace raft
