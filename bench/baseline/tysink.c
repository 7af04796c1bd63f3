// tysink — counts the generator's frames where the guest's stack receives them.
//
//   tysink --if IF [--ethertype 0x88b5] [--json]      (stop with SIGINT or SIGTERM)
//
// SIGUSR1 prints the count since the last one (or since the start) and goes on, so one sink
// serves every trial of a benchmark session: PACKET_STATISTICS resets as it is read.
//
// Interface counters are not the receiver: a tap counts rx_packets before the backlog queue
// can still drop the frame. So the count is taken one step later, at protocol dispatch: an
// AF_PACKET socket bound to the generator's EtherType sees every frame the guest's stack
// accepted. It never reads; PACKET_STATISTICS counts frames that arrived (tp_packets), the
// ones its tiny queue had no room for included (tp_drops), at the cost of one cheap enqueue
// attempt per frame — the same in every path.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOOL "tysink"
#include "tool.h"


static volatile sig_atomic_t report_requested;
static void on_report(int sig) { (void)sig; report_requested = 1; }

/** Prints and resets the count: frames the stack accepted since the last report. */
static int report(int fd, const char *ifname, int json) {
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) { perror("tysink: PACKET_STATISTICS"); return 2; }
  if (json) printf("{\"tool\":\"tysink\",\"ifname\":\"%s\",\"received\":%u}\n", ifname, st.tp_packets);
  else printf("tysink: %u frames received on %s\n", st.tp_packets, ifname);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  const char *ifname = NULL;
  unsigned ethertype = 0x88b5;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (strcmp(argv[i], "--if") == 0 && i + 1 < argc) ifname = argv[++i];
    else if (strcmp(argv[i], "--ethertype") == 0 && i + 1 < argc) ethertype = (unsigned)strtoul(argv[++i], NULL, 0);
    else if (strcmp(argv[i], "--help") == 0) { puts("usage: tysink --if IF [--ethertype 0x88b5] [--json]"); return 0; }
    else { fprintf(stderr, "tysink: unknown option '%s'\n", argv[i]); return 2; }
  }
  if (!ifname) { fputs("tysink: --if is required\n", stderr); return 2; }
  int fd = socket(AF_PACKET, SOCK_RAW, htons((unsigned short)ethertype));
  if (fd < 0) { perror("tysink: socket"); return 2; }
  int small = 1; // the kernel rounds it up to its minimum: a few frames, then counted drops
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons((unsigned short)ethertype),
                            .sll_ifindex = (int)if_nametoindex(ifname)};
  if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    fprintf(stderr, "tysink: cannot bind to %s: %s\n", ifname, strerror(errno));
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_report;
  sigaction(SIGUSR1, &sa, NULL);
  // The signals stay blocked except inside sigsuspend, so none lands between the check and the wait.
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  fprintf(stderr, "tysink: ready on %s\n", ifname);
  while (!stop_requested) {
    sigsuspend(&wait_mask);
    if (report_requested && !stop_requested) {
      report_requested = 0;
      if (report(fd, ifname, json)) return 2;
    }
  }
  return report(fd, ifname, json);
}
