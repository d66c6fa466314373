// FlagParser: splits a command line into `--name value` / `--name=value` flags and positional
// arguments, for raft-cli and the example services' programs.
//
// A word starting with "--" is a flag; every flag takes a value (the next word, or the text
// after '='). Any other word is positional, so "incr -5" passes -5 as a positional argument.
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/status.h"

namespace raft::cli {

class FlagParser {
 public:
  // `known` lists the flag names accepted (with their "--"); `switches` those that take no
  // value (e.g. "--help").
  FlagParser(std::set<std::string> known, std::set<std::string> switches = {})
      : known_(std::move(known)), switches_(std::move(switches)) {}

  // EINVAL naming the flag for an unknown or repeated flag, or one missing its value.
  raft::Status parse(const std::vector<std::string>& args);

  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The value of `flag`, or nothing if it was not given.
  std::optional<std::string> get(const std::string& flag) const;
  // EINVAL naming `flag` if it was not given.
  raft::Result<std::string> required(const std::string& flag) const;
  // The value of `flag` as an integer in [min, max], `fallback` if not given; EINVAL naming the
  // flag if it is not a whole decimal number in range.
  raft::Result<int64_t> integer(const std::string& flag, int64_t fallback, int64_t min,
                                int64_t max) const;

  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const std::set<std::string> known_;
  const std::set<std::string> switches_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Parses a whole decimal int64 (an optional sign and digits, nothing else); nothing otherwise.
std::optional<int64_t> parse_int64(const std::string& text);

}  // namespace raft::cli
