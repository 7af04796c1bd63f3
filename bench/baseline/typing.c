// typing — UDP ping-pong for round-trip latency, every sample kept.
//
//   typing server --bind IP [--port 7777]
//   typing client --to IP[@NETNS] [--to IP@NETNS ...] [--port 7777] [--count 1000]
//                  [--interval-us 1000] [--timeout-ms 200] [--json]
//
// The server echoes each datagram. The client sends one datagram, waits for its echo, and
// records the round trip in nanoseconds (CLOCK_MONOTONIC), then sleeps --interval-us: a
// back-to-back ping-pong would keep the vCPUs awake and hide the wake-up cost a real
// request/response pays. Before measuring it retries until the path answers (ARP, a
// forwarder still starting), so the first sample is not a cold one. A lost echo is counted,
// not sampled.
//
// Several --to, each with the named network namespace (/run/netns/NETNS) its socket is made in,
// probe several paths in turn, one round trip each (A B C, C B A, ...), --count per path: a
// hiccup of this shared machine then lands on all of them alike, where probing one path after
// the other lets it land on one only.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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

#define MAX_TARGETS 8

struct target {
  const char *to;  // IP or IP@NETNS, as given
  int fd;
  unsigned got, lost;
  uint64_t *rtt;
};

// A UDP socket connected to ip:port, made in the network namespace `ns` (NULL: this one). A
// socket keeps the namespace it was made in, so one process can probe several.
static int connect_in(const char *ip, const char *ns, unsigned port) {
  int home = -1;
  if (ns) {
    if (*ns == 0 || strchr(ns, '/')) die("bad namespace name '%s'", ns);  // a name in /run/netns, not a path
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int there = open(path, O_RDONLY | O_CLOEXEC);
    home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (there < 0 || home < 0) die("open %s: %s", there < 0 ? path : "/proc/self/ns/net", strerror(errno));
    if (setns(there, CLONE_NEWNET) < 0) die("enter %s: %s", ns, strerror(errno));
    close(there);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = address(ip, port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect %s:%u: %s", ip, port, strerror(errno));
  if (home >= 0) {
    if (setns(home, CLONE_NEWNET) < 0) die("return from %s: %s", ns, strerror(errno));
    close(home);
  }
  return fd;
}

static void print_json(const struct target *t, unsigned n, unsigned interval_us) {
  if (n == 1) {  // one path: the shape callers of a single --to read
    printf("{\"tool\":\"typing\",\"sent\":%u,\"lost\":%u,\"interval_us\":%u,\"rtt_ns\":[", t->got + t->lost, t->lost,
           interval_us);
    for (unsigned i = 0; i < t->got; i++) printf("%s%llu", i ? "," : "", (unsigned long long)t->rtt[i]);
    puts("]}");
    return;
  }
  printf("{\"tool\":\"typing\",\"interval_us\":%u,\"targets\":[", interval_us);
  for (unsigned k = 0; k < n; k++) {
    printf("%s{\"to\":\"%s\",\"sent\":%u,\"lost\":%u,\"rtt_ns\":[", k ? "," : "", t[k].to, t[k].got + t[k].lost,
           t[k].lost);
    for (unsigned i = 0; i < t[k].got; i++) printf("%s%llu", i ? "," : "", (unsigned long long)t[k].rtt[i]);
    printf("]}");
  }
  puts("]}");
}

static int client(struct target *t, unsigned n, unsigned port, unsigned count, unsigned interval_us, int timeout_ms,
                  int json) {
  uint64_t seq = 1;
  for (unsigned k = 0; k < n; k++) {
    char ip[64];
    snprintf(ip, sizeof ip, "%s", t[k].to);
    char *at = strchr(ip, '@');
    if (at) *at++ = 0;
    t[k].fd = connect_in(ip, at, port);
    t[k].rtt = calloc(count ? count : 1, sizeof *t[k].rtt);
    uint64_t warm_deadline = now_ns() + 5000000000ull;
    while (!ping_once(t[k].fd, seq++, 100))
      if (now_ns() > warm_deadline || stop_requested) die("no echo from %s:%u within 5 s", t[k].to, port);
  }
  for (int i = 0; i < 20; i++)
    for (unsigned k = 0; k < n; k++) ping_once(t[k].fd, seq++, timeout_ms);

  struct timespec gap = {.tv_sec = interval_us / 1000000, .tv_nsec = (long)(interval_us % 1000000) * 1000};
  for (unsigned i = 0; i < count && !stop_requested; i++)
    for (unsigned j = 0; j < n && !stop_requested; j++) {
      struct target *p = &t[i % 2 ? n - 1 - j : j];
      uint64_t r = ping_once(p->fd, seq++, timeout_ms);
      if (r) p->rtt[p->got++] = r;
      else p->lost++;
      if (interval_us) nanosleep(&gap, NULL);
    }
  if (json) print_json(t, n, interval_us);
  else
    for (unsigned k = 0; k < n; k++) {
      uint64_t sum = 0;
      for (unsigned i = 0; i < t[k].got; i++) sum += t[k].rtt[i];
      printf("typing: %s: %u echoes, %u lost, mean %.1f us\n", t[k].to, t[k].got, t[k].lost,
             t[k].got ? sum / 1e3 / t[k].got : 0.0);
    }
  for (unsigned k = 0; k < n; k++) free(t[k].rtt);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: typing server --bind IP | typing client --to IP (see typing --help)");
  if (strcmp(argv[1], "--help") == 0) {
    puts("usage: typing server --bind IP [--port 7777]\n"
         "       typing client --to IP[@NETNS] [--to IP@NETNS ...] [--port 7777] [--count 1000] [--interval-us 1000]\n"
         "                     [--timeout-ms 200] [--json]");
    return 0;
  }
  const char *ip = NULL;
  struct target targets[MAX_TARGETS];
  unsigned n_targets = 0;
  unsigned port = 7777, count = 1000, interval_us = 1000;
  int timeout_ms = 200, json = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) { json = 1; continue; }
    if (!v) die("unknown option or missing value '%s'", a);
    if (strcmp(a, "--bind") == 0) ip = v;
    else if (strcmp(a, "--to") == 0) {
      if (n_targets == MAX_TARGETS) die("at most %d --to", MAX_TARGETS);
      if (strpbrk(v, "\"\\")) die("bad --to '%s'", v);  // it is echoed into the JSON
      targets[n_targets++] = (struct target){.to = v};
      ip = v;
    }
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
  if (strcmp(argv[1], "client") == 0) return client(targets, n_targets, port, count, interval_us, timeout_ms, json);
  die("unknown mode '%s' (server or client)", argv[1]);
}
