#include "raft/cli/flag_parser.h"

#include <charconv>
#include <string_view>

namespace raft::cli {

std::optional<int64_t> parse_int64(const std::string& text) {
  std::string_view digits = text;
  // from_chars rejects a leading '+'; accept it for symmetry with '-', but not "+-5".
  if (digits.starts_with('+')) {
    digits.remove_prefix(1);
    if (digits.starts_with('-')) return std::nullopt;
  }
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

raft::Status FlagParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (!word.starts_with("--")) {
      positional_.push_back(word);
      continue;
    }
    const size_t eq = word.find('=');
    const std::string name = word.substr(0, eq);
    if (known_.count(name) == 0) return raft::Status::InvalidArgument(name + ": unknown flag");
    if (values_.count(name) > 0) return raft::Status::InvalidArgument(name + ": given twice");
    if (switches_.count(name) > 0) {
      if (eq != std::string::npos) {
        return raft::Status::InvalidArgument(name + ": takes no value");
      }
      values_[name] = "";
      continue;
    }
    if (eq != std::string::npos) {
      values_[name] = word.substr(eq + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      values_[name] = args[++i];
    } else {
      return raft::Status::InvalidArgument(name + ": missing value");
    }
  }
  return raft::Status::OK();
}

std::optional<std::string> FlagParser::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

raft::Result<std::string> FlagParser::required(const std::string& flag) const {
  std::optional<std::string> value = get(flag);
  if (!value) return raft::Status::InvalidArgument(flag + ": required");
  return *value;
}

raft::Result<int64_t> FlagParser::integer(const std::string& flag, int64_t fallback, int64_t min,
                                          int64_t max) const {
  std::optional<std::string> text = get(flag);
  if (!text) return fallback;
  std::optional<int64_t> value = parse_int64(*text);
  if (!value || *value < min || *value > max) {
    return raft::Status::InvalidArgument(flag + ": '" + *text + "' is not a whole number in [" +
                                         std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return *value;
}

}  // namespace raft::cli
