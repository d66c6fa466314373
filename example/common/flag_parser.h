// The example programs parse their command lines with raft-cli's FlagParser.
#pragma once

#include "raft/cli/flag_parser.h"

namespace example {

using raft::cli::FlagParser;
using raft::cli::parse_int64;

}  // namespace example
