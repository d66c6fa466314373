// copy_count.so: counts the bytes a process copies with memcpy and memmove, by size of copy,
// for benchmarks/copies-per-byte.sh. Loaded with LD_PRELOAD, it takes the place of libc's
// memcpy, memmove and mempcpy for every call made through the PLT (the project's code, the
// C++ library's inlined string copies, the allocator); copies libc makes inside itself and
// copies the compiler inlines (small constant sizes) are not seen. At exit it appends one line
// per process to $COPY_COUNT_OUT (default /tmp/copy-count.txt):
//   pid <pid> cmd <argv[0..2]> calls <n> bytes <n> big_calls <n> big_bytes <n>
// where "big" is a copy of at least $COPY_COUNT_MIN bytes (default 1024): with payloads of a
// few KiB these are the copies of whole payloads (or of buffers holding several).
//
// Thread-safety: the counters are atomics, updated with relaxed adds.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_uint_fast64_t g_calls, g_bytes, g_big_calls, g_big_bytes;
static size_t g_min = 1024;

static void count(size_t n) {
  atomic_fetch_add_explicit(&g_calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&g_bytes, n, memory_order_relaxed);
  if (n >= g_min) {
    atomic_fetch_add_explicit(&g_big_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_big_bytes, n, memory_order_relaxed);
  }
}

// The copies themselves, without calling any libc function (which could call back here).
static void copy_forward(void* dst, const void* src, size_t n) {
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void copy_backward(void* dst, const void* src, size_t n) {
  unsigned char* d = (unsigned char*)dst + n;
  const unsigned char* s = (const unsigned char*)src + n;
  while (n-- > 0) *--d = *--s;
}

void* memcpy(void* dst, const void* src, size_t n) {
  count(n);
  copy_forward(dst, src, n);
  return dst;
}

void* mempcpy(void* dst, const void* src, size_t n) {
  count(n);
  copy_forward(dst, src, n);
  return (unsigned char*)dst + n;
}

void* memmove(void* dst, const void* src, size_t n) {
  count(n);
  const uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
  if (d <= s || d >= s + n) {
    copy_forward(dst, src, n);
  } else {
    copy_backward(dst, src, n);
  }
  return dst;
}

__attribute__((constructor)) static void copy_count_init(void) {
  const char* min = getenv("COPY_COUNT_MIN");
  if (min != NULL && atoll(min) > 0) g_min = (size_t)atoll(min);
}

__attribute__((destructor)) static void copy_count_report(void) {
  const char* path = getenv("COPY_COUNT_OUT");
  if (path == NULL) path = "/tmp/copy-count.txt";
  char cmd[512] = "";
  int fd = open("/proc/self/cmdline", O_RDONLY);
  if (fd >= 0) {
    ssize_t got = read(fd, cmd, sizeof(cmd) - 1);
    close(fd);
    for (ssize_t i = 0; i < got; ++i) {
      if (cmd[i] == '\0') cmd[i] = ' ';
    }
    if (got > 0) cmd[got] = '\0';
  }
  char line[1024];
  int len = snprintf(line, sizeof(line), "pid %d cmd %.400s calls %llu bytes %llu big_calls %llu big_bytes %llu\n",
                     (int)getpid(), cmd, (unsigned long long)atomic_load(&g_calls),
                     (unsigned long long)atomic_load(&g_bytes),
                     (unsigned long long)atomic_load(&g_big_calls),
                     (unsigned long long)atomic_load(&g_big_bytes));
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0 && len > 0) {
    ssize_t ignored = write(fd, line, (size_t)len);
    (void)ignored;
    close(fd);
  }
}
