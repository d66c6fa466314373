// The exit codes of the example programs (servers and clients alike).
#pragma once

namespace example {

inline constexpr int kExitOk = 0;
// A server that cannot start (storage, port); a client that gave up (no leader, or every
// replica failed, within its timeout) or whose request was rejected.
inline constexpr int kExitCannotRun = 1;
inline constexpr int kExitGaveUp = 1;
// Bad usage: an unknown, missing or malformed flag or argument.
inline constexpr int kExitUsage = 2;
// A client's write whose outcome is unknown: it may or may not have been applied.
inline constexpr int kExitUnknown = 3;
// A client's check failed: a load's read returned less than what was acknowledged before it
// (a linearizability violation).
inline constexpr int kExitViolation = 4;

}  // namespace example
