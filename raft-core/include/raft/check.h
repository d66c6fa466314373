// Invariant checks that stay on in release builds.
//
// PONTOON_CHECK(cond) aborts the process with the file, line and condition when `cond` is
// false. It is for programmer errors (broken invariants), never for operating errors, which
// travel as Status values. PONTOON_DCHECK is the same check compiled out of NDEBUG builds,
// for checks too costly for the hot path.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace raft::detail {

[[noreturn]] inline void check_failed(const char* file, int line, const char* condition,
                                      const char* message) {
  std::fprintf(stderr, "%s:%d: PONTOON_CHECK(%s) failed%s%s\n", file, line, condition,
               message[0] != '\0' ? ": " : "", message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace raft::detail

#define PONTOON_CHECK_MSG(cond, msg)                                  \
  do {                                                                \
    if (__builtin_expect(!(cond), 0)) {                               \
      ::raft::detail::check_failed(__FILE__, __LINE__, #cond, (msg)); \
    }                                                                 \
  } while (0)

#define PONTOON_CHECK(cond) PONTOON_CHECK_MSG(cond, "")

#ifdef NDEBUG
#define PONTOON_DCHECK(cond) \
  do {                       \
  } while (0)
#else
#define PONTOON_DCHECK(cond) PONTOON_CHECK(cond)
#endif
