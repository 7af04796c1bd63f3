// tygen — a raw Ethernet frame generator for packet-rate and flood runs.
//
// iperf3's UDP mode tops out far below what the datapath can carry, so the rate runs use this:
// an AF_PACKET socket with PACKET_QDISC_BYPASS and sendmmsg() batches of identical frames.
// Paced runs send a burst per wake-up, because a timer wake-up costs ~23 µs of CPU in this VM
// (benchmarking-notes): one frame per wake-up could not reach 100 k frames/s.
//
//   tygen --if IF --dst MAC [--src MAC] [--size BYTES] [--rate FPS] [--seconds S] [--burst N]
//         [--ethertype 0xHHHH] [--imix] [--flows N] [--json]
//
// --size is the frame as written (no FCS): 60 is a minimum "64-byte" frame, 1514 a full one.
// --imix replaces it with the simple IMIX, 7:4:1 frames of 64, 594 and 1518 bytes on the wire,
// interleaved so every batch carries the mix.
// --flows N sends IPv4/UDP frames instead, N flows in turn (UDP source ports 40000..40000+N-1),
// so that a device that picks a queue by the flow hash spreads them (forward --queues). They go
// to 10.77.0.250, an address nobody in the lab has: the guest's stack drops them unanswered.
// --rate 0 (the default) sends as fast as the socket accepts. It counts what sendmmsg()
// accepted; what arrives is counted at the receiver, never here.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOOL "tygen"
#include "tool.h"

#define MAX_BATCH 64
#define MAX_FRAME 9000

// Simple IMIX as written (FCS excluded), in the order sent: 7 × 60, 4 × 590, 1 × 1514.
static const unsigned IMIX[] = {60, 590, 60, 60, 590, 60, 1514, 60, 590, 60, 60, 590};
#define IMIX_LEN (sizeof IMIX / sizeof IMIX[0])




static void parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  char tail;
  if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) die("bad MAC '%s'", s);
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) die("bad MAC '%s'", s);
    mac[i] = (unsigned char)v[i];
  }
}

// An IPv4/UDP frame of `size` bytes after the Ethernet addresses of `eth`: 10.77.0.1:sport to
// 10.77.0.250:9, no UDP checksum (allowed over IPv4), the IPv4 header checksum computed.
static void udp_frame(unsigned char *f, const unsigned char *eth, unsigned size, unsigned sport) {
  memset(f, 0, size);
  memcpy(f, eth, 12);
  f[12] = 0x08, f[13] = 0x00;
  unsigned char *ip = f + 14, *udp = ip + 20;
  unsigned ip_len = size - 14, udp_len = ip_len - 20;
  ip[0] = 0x45, ip[2] = (unsigned char)(ip_len >> 8), ip[3] = (unsigned char)ip_len;
  ip[8] = 64, ip[9] = 17;
  const unsigned char from[4] = {10, 77, 0, 1}, to[4] = {10, 77, 0, 250};
  memcpy(ip + 12, from, 4);
  memcpy(ip + 16, to, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (unsigned char)(~sum >> 8), ip[11] = (unsigned char)~sum;
  udp[0] = (unsigned char)(sport >> 8), udp[1] = (unsigned char)sport;
  udp[3] = 9;
  udp[4] = (unsigned char)(udp_len >> 8), udp[5] = (unsigned char)udp_len;
}

static double parse_number(const char *opt, const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || v < 0) die("bad value '%s' for %s", s, opt);
  return v;
}

int main(int argc, char **argv) {
  const char *ifname = NULL, *dst = NULL, *src = NULL;
  unsigned size = 60, burst = 32, ethertype = 0x88b5; // IEEE local experimental: no stack answers it
  double rate = 0, seconds = 1;
  int json = 0, imix = 0;
  unsigned flows = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) { json = 1; continue; }
    if (strcmp(a, "--imix") == 0) { imix = 1; continue; }
    if (strcmp(a, "--help") == 0) {
      puts("usage: tygen --if IF --dst MAC [--src MAC] [--size 60] [--rate FPS] [--seconds 1] [--burst 32]"
           " [--ethertype 0x88b5] [--imix] [--flows N] [--json]");
      return 0;
    }
    if (!v) die("unknown option or missing value '%s'", a);
    if (strcmp(a, "--if") == 0) ifname = v;
    else if (strcmp(a, "--dst") == 0) dst = v;
    else if (strcmp(a, "--src") == 0) src = v;
    else if (strcmp(a, "--size") == 0) size = (unsigned)parse_number(a, v);
    else if (strcmp(a, "--rate") == 0) rate = parse_number(a, v);
    else if (strcmp(a, "--seconds") == 0) seconds = parse_number(a, v);
    else if (strcmp(a, "--burst") == 0) burst = (unsigned)parse_number(a, v);
    else if (strcmp(a, "--ethertype") == 0) ethertype = (unsigned)strtoul(v, NULL, 0);
    else if (strcmp(a, "--flows") == 0) flows = (unsigned)parse_number(a, v);
    else die("unknown option '%s'", a);
    i++;
  }
  if (!ifname || !dst) die("--if and --dst are required");
  if (size < 60 || size > MAX_FRAME) die("--size must be 60..%d", MAX_FRAME);
  if (burst < 1 || burst > 4096) die("--burst must be 1..4096");
  if (flows > MAX_BATCH) die("--flows must be 0..%d", MAX_BATCH);
  if (flows > 0 && imix) die("--flows and --imix do not go together");
  if (ethertype > 0xffff || ethertype < 0x600) die("--ethertype must be an EtherType (0x0600..0xffff)");

  int fd = socket(AF_PACKET, SOCK_RAW, 0); // protocol 0: this socket receives nothing
  if (fd < 0) die("socket(AF_PACKET): %s", strerror(errno));
  int ifindex = (int)if_nametoindex(ifname);
  if (!ifindex) die("no interface %s in this namespace", ifname);
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
    die("PACKET_QDISC_BYPASS: %s", strerror(errno));
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_protocol = 0};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind %s: %s", ifname, strerror(errno));

  static unsigned char frame[MAX_FRAME];
  parse_mac(dst, frame);
  if (src) {
    parse_mac(src, frame + 6);
  } else {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR %s: %s", ifname, strerror(errno));
    memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
  }
  frame[12] = (unsigned char)(ethertype >> 8);
  frame[13] = (unsigned char)ethertype;
  // One copy of the frame per flow, differing in the UDP source port and the IPv4 checksum.
  static unsigned char flow_frames[MAX_BATCH][MAX_FRAME];
  for (unsigned f = 0; f < flows; f++) udp_frame(flow_frames[f], frame, size, 40000 + f);

  // Every message points at the same frame (the kernel copies it per send anyway); only the
  // length differs under --imix.
  struct iovec iov[MAX_BATCH];
  struct mmsghdr msgs[MAX_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < MAX_BATCH; i++) {
    iov[i] = (struct iovec){.iov_base = frame, .iov_len = size};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t bytes = 0;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  uint64_t sent = 0, send_errors = 0, late_bursts = 0, bursts = 0;
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), next = start;
  uint64_t interval = rate > 0 ? (uint64_t)(burst * 1e9 / rate) : 0;
  if (rate > 0 && interval == 0) die("--rate too high for --burst %u", burst);
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end || stop_requested) break;
    if (rate > 0 && t < next) {
      struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull), .tv_nsec = (long)(next % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      continue;
    }
    unsigned want = rate > 0 ? burst : MAX_BATCH;
    while (want > 0 && !stop_requested) {
      unsigned n = want > MAX_BATCH ? MAX_BATCH : want;
      if (imix)
        for (unsigned i = 0; i < n; i++) iov[i].iov_len = IMIX[(sent + i) % IMIX_LEN];
      if (flows)
        for (unsigned i = 0; i < n; i++) iov[i].iov_base = flow_frames[(sent + i) % flows];
      int r = sendmmsg(fd, msgs, n, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        send_errors++; // e.g. ENOBUFS: the frames of this call were not sent
        break;
      }
      for (int i = 0; i < r; i++) bytes += iov[i].iov_len;
      sent += (uint64_t)r;
      want -= (unsigned)r;
    }
    bursts++;
    if (rate > 0) {
      next += interval;
      // More than 10 bursts behind: the machine could not keep up; restart the schedule
      // rather than send a catch-up flood at full speed.
      uint64_t now = now_ns();
      if (now > next + 10 * interval) { late_bursts++; next = now; }
    }
  }
  double elapsed = (now_ns() - start) / 1e9;
  // Our own CPU time (the scheduler's exact sum_exec_runtime), so the harness can tell the
  // generator's share of the host's busy time from the receivers'.
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  uint64_t cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
  if (json)
    printf("{\"tool\":\"tygen\",\"ifname\":\"%s\",\"size\":%u,\"rate\":%.0f,\"burst\":%u,\"seconds\":%.6f,"
           "\"sent\":%llu,\"bytes\":%llu,\"bursts\":%llu,\"send_errors\":%llu,\"late_bursts\":%llu,\"cpu_ns\":%llu}\n",
           ifname, imix ? 0 : size, rate, burst, elapsed, (unsigned long long)sent, (unsigned long long)bytes,
           (unsigned long long)bursts,
           (unsigned long long)send_errors, (unsigned long long)late_bursts, (unsigned long long)cpu_ns);
  else
    printf("tygen: %llu frames of %u bytes in %.3f s (%.0f frames/s), %llu send errors, %llu late bursts\n",
           (unsigned long long)sent, size, elapsed, sent / elapsed, (unsigned long long)send_errors,
           (unsigned long long)late_bursts);
  return 0;
}
