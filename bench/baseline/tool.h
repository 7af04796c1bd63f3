// What every bench tool shares: a stop flag set by SIGINT/SIGTERM, a one-line fatal error with
// the tool's name, and a monotonic clock. Each tool defines TOOL ("tyfwd", ...) before including.
#ifndef TAPYARD_TOOL_H
#define TAPYARD_TOOL_H

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

static inline void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(TOOL ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
