#include "log_segment.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "raft/check.h"
#include "raft/storage/log_record.h"

namespace raft {
namespace {

constexpr std::string_view kSegmentPrefix = "log_";
constexpr size_t kIndexDigits = 20;

// The first offset at or after `from` where a whole record of an index >= `min_index` decodes,
// if any. The damaged bytes begin at `damage_at`, where record `min_index` was expected.
std::optional<uint64_t> find_valid_record(std::string_view bytes, uint64_t damage_at,
                                          LogIndex min_index, const GroupId& group) {
  for (uint64_t at = damage_at + 1; at + log_record::kHeaderSize <= bytes.size(); ++at) {
    std::optional<log_record::PeekedHeader> header = log_record::peek_header(bytes.substr(at));
    if (!header.has_value() || header->index < min_index) continue;
    // Records min_index .. index - 1 would fill [damage_at, at), each at least a header long;
    // this cheap bound keeps random bytes from costing a checksum each.
    auto records_before = static_cast<uint64_t>(header->index - min_index);
    if (records_before > (at - damage_at) / log_record::kHeaderSize + 1) continue;
    if (header->record_size > bytes.size() - at) continue;
    std::string_view record = bytes.substr(at, header->record_size);
    if (log_record::decode_term(record, group, header->index).ok()) return at;
  }
  return std::nullopt;
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

// See SegmentTail::lost_sector. `from` is where the damaged record was expected, `to` where the
// damage ends.
bool holds_lost_sector(std::string_view bytes, uint64_t from, uint64_t to) {
  const uint64_t first_sector_end = std::min(to, (from / kSectorBytes + 1) * kSectorBytes);
  if (all_zero(bytes.substr(from, first_sector_end - from))) return true;
  for (uint64_t at = first_sector_end; at + kSectorBytes <= to; at += kSectorBytes) {
    if (all_zero(bytes.substr(at, kSectorBytes))) return true;
  }
  return false;
}

}  // namespace

std::string segment_file_name(LogIndex first) {
  PONTOON_CHECK(first >= LogIndex(1));
  char digits[kIndexDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(first.value()));
  return std::string(kSegmentPrefix) + digits;
}

std::optional<LogIndex> parse_segment_file_name(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kIndexDigits) return std::nullopt;
  if (!name.starts_with(kSegmentPrefix)) return std::nullopt;
  std::string_view digits = name.substr(kSegmentPrefix.size());
  int64_t first = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), first);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (first < 1) return std::nullopt;
  return LogIndex(first);
}

LogSegment::LogSegment(LogIndex first, std::string path, std::unique_ptr<RandomAccessFile> file)
    : first_(first), path_(std::move(path)), file_(std::move(file)) {
  PONTOON_CHECK(first_ >= LogIndex(1));
  PONTOON_CHECK(file_ != nullptr);
}

size_t LogSegment::position(LogIndex index) const {
  PONTOON_CHECK(index >= first_);
  PONTOON_CHECK(index <= last());
  return static_cast<size_t>(index - first_);
}

uint64_t LogSegment::record_size(LogIndex index) const {
  size_t i = position(index);
  uint64_t next = i + 1 < offsets_.size() ? offsets_[i + 1] : end_;
  return next - offsets_[i];
}

Result<std::string> LogSegment::read_record(LogIndex index) const {
  uint64_t at = offset(index);
  uint64_t size = record_size(index);
  std::lock_guard lock(read_mu_);
  return file_->read(at, static_cast<size_t>(size));
}

Result<std::string> LogSegment::read_records(LogIndex first, LogIndex last) const {
  PONTOON_CHECK(first <= last);
  uint64_t at = offset(first);
  uint64_t end = offset(last) + record_size(last);
  std::lock_guard lock(read_mu_);
  return file_->read(at, static_cast<size_t>(end - at));
}

Result<SegmentTail> LogSegment::index_file(const GroupId& group) {
  PONTOON_CHECK(empty());
  Result<std::string> bytes = [&]() -> Result<std::string> {
    std::lock_guard lock(read_mu_);
    Result<uint64_t> size = file_->size();
    if (!size.ok()) return size.status();
    return file_->read(0, static_cast<size_t>(*size));
  }();
  if (!bytes.ok()) return bytes.status();

  std::string_view rest = *bytes;
  // Where the zeros that end the file begin (a record may end in zeros of its own, so this can
  // fall inside the last record).
  const uint64_t zeros_from = bytes->find_last_not_of('\0') + 1;  // npos + 1 == 0.
  SegmentTail tail;
  while (end_ < zeros_from) {
    LogIndex index = last() + 1;
    std::optional<log_record::PeekedHeader> header = log_record::peek_header(rest);
    if (!header.has_value() || header->record_size > rest.size()) {
      // decode() names what is wrong with the incomplete record.
      tail.damage = log_record::decode_term(rest, group, index).status();
    } else {
      Result<Term> term =
          log_record::decode_term(rest.substr(0, header->record_size), group, index);
      if (term.ok()) {
        add_record(*term, header->record_size);
        rest.remove_prefix(header->record_size);
        continue;
      }
      tail.damage = term.status();
    }
    PONTOON_CHECK(tail.damage.is_corruption());
    tail.valid_record_after = find_valid_record(*bytes, end_, index, group);
    tail.lost_sector =
        holds_lost_sector(*bytes, end_, tail.valid_record_after.value_or(bytes->size()));
    break;
  }
  return tail;
}

Term LogSegment::term(LogIndex index) const {
  const size_t at = position(index);
  // The last run starting at or before `at`.
  auto run = std::upper_bound(
      term_runs_.begin(), term_runs_.end(), at,
      [](size_t position, const TermRun& r) { return position < r.first_position; });
  PONTOON_CHECK(run != term_runs_.begin());
  return std::prev(run)->term;
}

void LogSegment::add_record(Term term, uint64_t size) {
  PONTOON_CHECK(term >= Term(1));
  PONTOON_CHECK(size >= log_record::kHeaderSize);
  PONTOON_CHECK_MSG(end_ <= std::numeric_limits<uint32_t>::max(),
                    "a record starts past 4 GiB into a segment");
  const auto position = static_cast<uint32_t>(offsets_.size());
  if (term_runs_.empty() || term_runs_.back().term != term) {
    term_runs_.push_back(TermRun{position, term});
  }
  offsets_.push_back(static_cast<uint32_t>(end_));
  end_ += size;
}

void LogSegment::truncate_after(LogIndex index) {
  PONTOON_CHECK(index >= first_ - 1);
  PONTOON_CHECK(index <= last());
  if (index == last()) return;
  size_t keep = static_cast<size_t>(index + 1 - first_);
  end_ = offsets_[keep];
  offsets_.resize(keep);
  while (!term_runs_.empty() && term_runs_.back().first_position >= keep) term_runs_.pop_back();
}

void LogSegment::seal() {
  offsets_.shrink_to_fit();
  term_runs_.shrink_to_fit();
}

size_t LogSegment::index_bytes() const {
  return offsets_.capacity() * sizeof(uint32_t) + term_runs_.capacity() * sizeof(TermRun);
}

}  // namespace raft
