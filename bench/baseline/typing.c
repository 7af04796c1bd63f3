// typing — UDP ping-pong for round-trip latency, every sample kept.
//
//   typing server --bind IP [--port 7777]
//   typing client --to IP [--port 7777] [--count 1000] [--interval-us 1000] [--timeout-ms 200] [--json]
//
// The server echoes each datagram. The client sends one datagram, waits for its echo, and
// records the round trip in nanoseconds (CLOCK_MONOTONIC), then sleeps --interval-us: a
// back-to-back ping-pong would keep the vCPUs awake and hide the wake-up cost a real
// request/response pays. Before measuring it retries until the path answers (ARP, a
// forwarder still starting), so the first sample is not a cold one. A lost echo is counted,
// not sampled.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOOL "typing"
#include "tool.h"




static struct sockaddr_in address(const char *ip, unsigned port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) die("bad IPv4 address '%s'", ip);
  return sa;
}

static int serve(const char *ip, unsigned port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = address(ip, port);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind %s:%u: %s", ip, port, strerror(errno));
  fprintf(stderr, "typing: ready, echoing on %s:%u\n", ip, port);
  unsigned char buf[2048];
  uint64_t echoed = 0;
  while (!stop_requested) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom: %s", strerror(errno));
    }
    if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n) echoed++;
  }
  printf("typing: echoed %llu\n", (unsigned long long)echoed);
  return 0;
}

// Send seq, wait up to timeout for the echo of that seq. Returns the RTT in ns or 0 if lost.
static uint64_t ping_once(int fd, uint64_t seq, int timeout_ms) {
  unsigned char msg[32] = {0}, reply[64];
  memcpy(msg, &seq, sizeof seq);
  uint64_t t0 = now_ns();
  if (send(fd, msg, sizeof msg, 0) < 0 && errno != ECONNREFUSED) die("send: %s", strerror(errno));
  uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
  for (;;) {
    uint64_t t = now_ns();
    if (t >= deadline || stop_requested) return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)((deadline - t) / 1000000ull) + 1);
    if (r <= 0) continue;
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    uint64_t t1 = now_ns();
    uint64_t got;
    if (n < (ssize_t)sizeof got) continue; // ECONNREFUSED before the server is up, or junk
    memcpy(&got, reply, sizeof got);
    if (got == seq) return t1 - t0 ? t1 - t0 : 1;
    // An echo of an earlier, timed-out ping: ignore it and keep waiting for ours.
  }
}

static int client(const char *ip, unsigned port, unsigned count, unsigned interval_us, int timeout_ms, int json) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = address(ip, port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect %s:%u: %s", ip, port, strerror(errno));
  uint64_t seq = 1;
  uint64_t warm_deadline = now_ns() + 5000000000ull;
  while (!ping_once(fd, seq++, 100))
    if (now_ns() > warm_deadline || stop_requested) die("no echo from %s:%u within 5 s", ip, port);
  for (int i = 0; i < 20; i++) ping_once(fd, seq++, timeout_ms);

  uint64_t *rtt = calloc(count ? count : 1, sizeof *rtt);
  unsigned got = 0, lost = 0;
  struct timespec gap = {.tv_sec = interval_us / 1000000, .tv_nsec = (long)(interval_us % 1000000) * 1000};
  for (unsigned i = 0; i < count && !stop_requested; i++) {
    uint64_t r = ping_once(fd, seq++, timeout_ms);
    if (r) rtt[got++] = r;
    else lost++;
    if (interval_us) nanosleep(&gap, NULL);
  }
  if (json) {
    printf("{\"tool\":\"typing\",\"sent\":%u,\"lost\":%u,\"interval_us\":%u,\"rtt_ns\":[", got + lost, lost,
           interval_us);
    for (unsigned i = 0; i < got; i++) printf("%s%llu", i ? "," : "", (unsigned long long)rtt[i]);
    puts("]}");
  } else {
    uint64_t sum = 0;
    for (unsigned i = 0; i < got; i++) sum += rtt[i];
    printf("typing: %u echoes, %u lost, mean %.1f us\n", got, lost, got ? sum / 1e3 / got : 0.0);
  }
  free(rtt);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: typing server --bind IP | typing client --to IP (see typing --help)");
  if (strcmp(argv[1], "--help") == 0) {
    puts("usage: typing server --bind IP [--port 7777]\n"
         "       typing client --to IP [--port 7777] [--count 1000] [--interval-us 1000] [--timeout-ms 200] [--json]");
    return 0;
  }
  const char *ip = NULL;
  unsigned port = 7777, count = 1000, interval_us = 1000;
  int timeout_ms = 200, json = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) { json = 1; continue; }
    if (!v) die("unknown option or missing value '%s'", a);
    if (strcmp(a, "--bind") == 0 || strcmp(a, "--to") == 0) ip = v;
    else if (strcmp(a, "--port") == 0) port = (unsigned)atoi(v);
    else if (strcmp(a, "--count") == 0) count = (unsigned)atoi(v);
    else if (strcmp(a, "--interval-us") == 0) interval_us = (unsigned)atoi(v);
    else if (strcmp(a, "--timeout-ms") == 0) timeout_ms = atoi(v);
    else die("unknown option '%s'", a);
    i++;
  }
  if (!ip) die("an address is required (--bind or --to)");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (strcmp(argv[1], "server") == 0) return serve(ip, port);
  if (strcmp(argv[1], "client") == 0) return client(ip, port, count, interval_us, timeout_ms, json);
  die("unknown mode '%s' (server or client)", argv[1]);
}
