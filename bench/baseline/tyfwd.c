// tyfwd — the reference forwarder tapyard is measured against.
//
// It does the same job as `tapyard forward` with two ports and nothing else: a plain poll()
// loop, one frame per read() and one per write(), the virtio_net_hdr copied through unchanged.
// No batching syscalls, no busy polling, no filtering: the floor a userspace forwarder built
// from ordinary syscalls reaches on this machine, so that tapyard's figures read as ratios.
//
//   tyfwd --port NAME=macvtap:IF --port NAME=tap:IF[,netns=NS] [--offload] [--json] [--stats]
//
// Run it inside the namespace that holds the macvtap (sysfs there shows its char device). A
// tap port may live in another namespace: we enter it only to attach, then come back.
//
// Every frame read is counted once as tx or as a named drop, so rx = tx + drops at exit.
// SIGINT or SIGTERM ends the loop cleanly and prints the counters (one JSON object with --json).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define TOOL "tyfwd"
#include "tool.h"

// Largest frame with offloads on: 64 KiB GSO frame + Ethernet + VLAN tag, behind a 10-byte
// header (docs/kernel-notes.md §3). A short buffer would silently truncate (§1).
#define VNET_HDR_LEN 10
#define FRAME_BUF (VNET_HDR_LEN + 65535 + 14 + 4)
// Frames drained from one fd per wake-up before looking at the other: the same fairness
// limit QEMU's tap_send uses (50), rounded up.
#define DRAIN_BUDGET 64

enum port_kind { PORT_MACVTAP, PORT_TAP };

struct port {
  char name[32];
  enum port_kind kind;
  char ifname[IFNAMSIZ];
  char netns[64];
  int fd;
  uint64_t rx, rx_bytes, tx, tx_bytes;
};

// Named drops: each frame read ends as tx or as exactly one of these.
struct drops {
  uint64_t write_would_block; // egress fd full (EAGAIN): the frame is discarded, never queued
  uint64_t write_error;       // any other write() failure, e.g. EINVAL for a malformed header
  uint64_t short_write;       // write() accepted fewer bytes than the frame
};



// NAME=macvtap:IF or NAME=tap:IF[,netns=NS]
static void parse_port(const char *spec, struct port *p) {
  const char *eq = strchr(spec, '='), *colon = eq ? strchr(eq, ':') : NULL;
  if (!eq || !colon || eq == spec) die("bad --port '%s' (NAME=macvtap:IF or NAME=tap:IF[,netns=NS])", spec);
  memset(p, 0, sizeof *p);
  p->fd = -1;
  snprintf(p->name, sizeof p->name, "%.*s", (int)(eq - spec), spec);
  size_t klen = (size_t)(colon - eq - 1);
  if (klen == 7 && strncmp(eq + 1, "macvtap", 7) == 0) p->kind = PORT_MACVTAP;
  else if (klen == 3 && strncmp(eq + 1, "tap", 3) == 0) p->kind = PORT_TAP;
  else die("bad port kind in '%s' (macvtap or tap)", spec);
  const char *ifname = colon + 1, *comma = strchr(ifname, ',');
  size_t ilen = comma ? (size_t)(comma - ifname) : strlen(ifname);
  if (ilen == 0 || ilen >= IFNAMSIZ) die("bad interface name in '%s'", spec);
  memcpy(p->ifname, ifname, ilen);
  if (comma) {
    if (strncmp(comma + 1, "netns=", 6) != 0 || comma[7] == '\0') die("bad port option in '%s' (netns=NS)", spec);
    snprintf(p->netns, sizeof p->netns, "%s", comma + 7);
    if (p->kind == PORT_MACVTAP) die("netns= works for tap ports only: run tyfwd in the macvtap's namespace");
  }
}

// The macvtap's char device through its sysfs major:minor and a private node: /dev/tapN is
// named by a per-namespace ifindex in a global /dev and may be another namespace's (§1).
static int open_macvtap(const struct port *p) {
  char dir[128], path[512], devno[32];
  snprintf(dir, sizeof dir, "/sys/class/net/%s/macvtap", p->ifname);
  DIR *d = opendir(dir);
  if (!d) die("%s is not a macvtap in this namespace (%s: %s)", p->ifname, dir, strerror(errno));
  struct dirent *e;
  path[0] = '\0';
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "tap", 3) == 0) snprintf(path, sizeof path, "%s/%s/dev", dir, e->d_name);
  closedir(d);
  if (!path[0]) die("no tap device under %s", dir);
  FILE *f = fopen(path, "r");
  unsigned maj, min;
  if (!f || !fgets(devno, sizeof devno, f) || sscanf(devno, "%u:%u", &maj, &min) != 2) die("cannot read %s", path);
  fclose(f);
  char tmpl[] = "/tmp/tyfwd.XXXXXX";
  if (!mkdtemp(tmpl)) die("mkdtemp: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/tap", tmpl);
  if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) < 0) die("mknod %s: %s", path, strerror(errno));
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  int err = errno;
  unlink(path);
  rmdir(tmpl);
  if (fd < 0) die("open macvtap %s (%u:%u): %s", p->ifname, maj, min, strerror(err));
  // A fresh macvtap queue already has IFF_VNET_HDR with a 10-byte header; say so anyway.
  int hdr = VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) die("TUNSETVNETHDRSZ on %s: %s", p->ifname, strerror(errno));
  return fd;
}

// Attach to an existing tap. /dev/net/tun resolves the name in the namespace current at
// open(), so a tap in another namespace is opened from inside it.
static int open_tap(const struct port *p) {
  int home = -1, there = -1;
  if (p->netns[0]) {
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", p->netns);
    home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    there = open(path, O_RDONLY | O_CLOEXEC);
    if (home < 0 || there < 0) die("cannot open namespace %s: %s", p->netns, strerror(errno));
    if (setns(there, CLONE_NEWNET) < 0) die("setns into %s: %s", p->netns, strerror(errno));
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", p->ifname);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("attach tap %s: %s", p->ifname, strerror(errno));
  if (p->netns[0]) {
    if (setns(home, CLONE_NEWNET) < 0) die("setns back: %s", strerror(errno));
    close(home);
    close(there);
  }
  int hdr = VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) die("TUNSETVNETHDRSZ on %s: %s", p->ifname, strerror(errno));
  return fd;
}

// TUNSETOFFLOAD(0) makes the kernel hand us plain, checksummed frames (what QEMU asks for
// at init); CSUM|TSO4|TSO6 lets GSO super-frames with partial checksums through, header intact.
static void set_offload(const struct port *p, int on) {
  unsigned long flags = on ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (ioctl(p->fd, TUNSETOFFLOAD, flags) < 0) die("TUNSETOFFLOAD on %s: %s", p->ifname, strerror(errno));
}

static struct port ports[2];
static struct drops drops;
static uint64_t wakeups;

static void forward_burst(struct port *in, struct port *out, unsigned char *buf) {
  for (int i = 0; i < DRAIN_BUDGET; i++) {
    ssize_t n = read(in->fd, buf, FRAME_BUF);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read from %s: %s", in->ifname, strerror(errno));
    }
    if (n == 0) return;
    in->rx++;
    in->rx_bytes += (uint64_t)n;
    ssize_t w = write(out->fd, buf, (size_t)n);
    if (w == n) {
      out->tx++;
      out->tx_bytes += (uint64_t)n;
    } else if (w >= 0) {
      drops.short_write++;
    } else if (errno == EAGAIN) {
      drops.write_would_block++;
    } else {
      drops.write_error++;
    }
  }
}

static uint64_t total_drops(void) { return drops.write_would_block + drops.write_error + drops.short_write; }

static void print_counters(FILE *out, int json, int offload, double seconds) {
  uint64_t rx = ports[0].rx + ports[1].rx, tx = ports[0].tx + ports[1].tx;
  if (json) {
    fprintf(out, "{\"tool\":\"tyfwd\",\"offload\":%s,\"seconds\":%.6f,\"rx\":%llu,\"tx\":%llu,\"dropped\":%llu,",
            offload ? "true" : "false", seconds, (unsigned long long)rx, (unsigned long long)tx,
            (unsigned long long)total_drops());
    fprintf(out, "\"drops\":{\"write_would_block\":%llu,\"write_error\":%llu,\"short_write\":%llu},",
            (unsigned long long)drops.write_would_block, (unsigned long long)drops.write_error,
            (unsigned long long)drops.short_write);
    fprintf(out, "\"wakeups\":%llu,\"ports\":{", (unsigned long long)wakeups);
    for (int i = 0; i < 2; i++)
      fprintf(out,
              "%s\"%s\":{\"kind\":\"%s\",\"ifname\":\"%s\","
              "\"rx\":%llu,\"rx_bytes\":%llu,\"tx\":%llu,\"tx_bytes\":%llu}",
              i ? "," : "", ports[i].name, ports[i].kind == PORT_MACVTAP ? "macvtap" : "tap", ports[i].ifname,
              (unsigned long long)ports[i].rx, (unsigned long long)ports[i].rx_bytes,
              (unsigned long long)ports[i].tx, (unsigned long long)ports[i].tx_bytes);
    fputs("}}\n", out);
  } else {
    fprintf(out,
            "tyfwd: %.1f s, rx %llu, tx %llu, dropped %llu (would block %llu, error %llu, short %llu), "
            "wakeups %llu\n",
            seconds, (unsigned long long)rx, (unsigned long long)tx, (unsigned long long)total_drops(),
            (unsigned long long)drops.write_would_block, (unsigned long long)drops.write_error,
            (unsigned long long)drops.short_write, (unsigned long long)wakeups);
    for (int i = 0; i < 2; i++)
      fprintf(out, "  %-8s %-7s %-15s rx %llu tx %llu\n", ports[i].name,
              ports[i].kind == PORT_MACVTAP ? "macvtap" : "tap", ports[i].ifname,
              (unsigned long long)ports[i].rx, (unsigned long long)ports[i].tx);
  }
  fflush(out);
}

static void usage(FILE *out) {
  fputs("usage: tyfwd --port NAME=macvtap:IF --port NAME=tap:IF[,netns=NS] [--offload] [--json] [--stats]\n"
        "  Forwards frames between two ports, one read() and one write() per frame.\n"
        "  --offload  TUNSETOFFLOAD CSUM|TSO4|TSO6 on both fds (default: 0, plain frames)\n"
        "  --json     print the final counters as one JSON object\n"
        "  --stats    print the counters to stderr every second\n",
        out);
}

int main(int argc, char **argv) {
  int nports = 0, offload = 0, json = 0, stats = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      if (nports == 2) die("exactly two --port options");
      parse_port(argv[++i], &ports[nports++]);
    } else if (strcmp(argv[i], "--offload") == 0) offload = 1;
    else if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (strcmp(argv[i], "--stats") == 0) stats = 1;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { usage(stdout); return 0; }
    else die("unknown option '%s' (see tyfwd --help)", argv[i]);
  }
  if (nports != 2) die("exactly two --port options (see tyfwd --help)");
  if (strcmp(ports[0].name, ports[1].name) == 0) die("the two ports need different names");

  for (int i = 0; i < 2; i++) {
    ports[i].fd = ports[i].kind == PORT_MACVTAP ? open_macvtap(&ports[i]) : open_tap(&ports[i]);
    set_offload(&ports[i], offload);
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop; // no SA_RESTART: poll() returns EINTR and the loop ends
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  static unsigned char buf[FRAME_BUF];
  struct pollfd pfd[2] = {{.fd = ports[0].fd, .events = POLLIN}, {.fd = ports[1].fd, .events = POLLIN}};
  double start = now_ns() / 1e9, next_stats = start + 1;
  fprintf(stderr, "tyfwd: ready, %s %s <-> %s %s, offload %s\n", ports[0].name, ports[0].ifname, ports[1].name,
          ports[1].ifname, offload ? "on" : "off");

  while (!stop_requested) {
    int n = poll(pfd, 2, stats ? 1000 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (n > 0) wakeups++;
    for (int i = 0; i < 2; i++) {
      if (pfd[i].revents & (POLLERR | POLLNVAL)) die("port %s (%s) failed", ports[i].name, ports[i].ifname);
      if (pfd[i].revents & POLLIN) forward_burst(&ports[i], &ports[1 - i], buf);
    }
    if (stats && now_ns() / 1e9 >= next_stats) {
      print_counters(stderr, 0, offload, now_ns() / 1e9 - start);
      next_stats += 1;
    }
  }
  print_counters(stdout, json, offload, now_ns() / 1e9 - start);
  return 0;
}
