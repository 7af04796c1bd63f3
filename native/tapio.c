// tapio: the syscalls and ioctls tapyard cannot make from JavaScript, nothing else.
//
// - opening a macvtap through a private node made from its sysfs major:minor,
// - attaching a tap through /dev/net/tun (optionally inside another network namespace),
// - AF_PACKET sockets for observers and raw injection,
// - the tun/tap ioctls,
// - vhost-user's unix socket with fds over SCM_RIGHTS, the guest memory it maps, its eventfds,
// - readiness through uv_poll on Node's own loop, and batched non-blocking read()/write()
//   into and out of buffers JavaScript owns, so that one JS call moves a whole batch.
//
// Policy (what to read, where to send, what to count) stays in TypeScript.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <node_api.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <uv.h>

// ---------------------------------------------------------------------------------------------
// Errors: every failure becomes a JS Error whose code is the errno name.

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ENOSPC: return "ENOSPC";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    case ENOLINK: return "ENOLINK";
    case EBADFD: return "EBADFD";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EROFS: return "EROFS";
    case ECONNRESET: return "ECONNRESET";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EPIPE: return "EPIPE";
    case ENOTCONN: return "ENOTCONN";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int e) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  napi_value code, text, err, num;
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &err);
  napi_create_int32(env, e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_throw(env, err);
  return NULL;
}

static napi_value throw_usage(napi_env env, const char *msg) {
  napi_throw_type_error(env, "EUSAGE", msg);
  return NULL;
}

#define CHECK_NAPI(call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) return throw_usage(env, "bad arguments to " #call); \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Argument helpers.

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// A string argument into buf; null/undefined gives "" and *present = 0.
static int arg_string(napi_env env, napi_value v, char *buf, size_t size, int *present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_null || t == napi_undefined) {
    buf[0] = 0;
    if (present) *present = 0;
    return 1;
  }
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  if (len >= size - 1) return 0;  // would have been cut
  if (present) *present = 1;
  return 1;
}

// The bytes behind a TypedArray / Buffer argument.
static int arg_bytes(napi_env env, napi_value v, void **data, size_t *bytes) {
  bool is_ta;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) return 0;
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *bytes = length * elem;
  return 1;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Network namespaces. setns() moves only the calling thread, so the main thread enters the
// target namespace just long enough to create an fd (an fd keeps its namespace), then returns.

typedef struct {
  int home;  // -1 when no switch happened
} netns_guard;

static int netns_enter(const char *path, netns_guard *g) {
  g->home = -1;
  if (path[0] == 0) return 0;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return -1;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(home);
    errno = e;
    return -1;
  }
  int r = setns(target, CLONE_NEWNET);
  int e = errno;
  close(target);
  if (r < 0) {
    close(home);
    errno = e;
    return -1;
  }
  g->home = home;
  return 0;
}

static void netns_leave(netns_guard *g) {
  if (g->home < 0) return;
  int e = errno;
  // Staying in the wrong namespace would silently misdirect every later call: do not go on.
  if (setns(g->home, CLONE_NEWNET) < 0) {
    fprintf(stderr, "tapyard: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(g->home);
  g->home = -1;
  errno = e;
}

// ---------------------------------------------------------------------------------------------
// Opening devices.

// openMacvtap(major, minor) -> fd. /dev/tapN is named after a per-namespace ifindex while /dev
// is global, so that name can belong to another namespace's device: make our own node from the
// numbers sysfs gave us, in a private directory, open it, and remove it again.
static napi_value OpenMacvtap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t major_n, minor_n;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_int(env, argv[0], &major_n) || !arg_int(env, argv[1], &minor_n) || major_n < 0 || minor_n < 0)
    return throw_usage(env, "openMacvtap(major, minor)");

  // devtmpfs always allows device nodes; /tmp may be mounted nodev.
  static const char *bases[] = {"/dev", "/tmp"};
  int fd = -1, last = 0;
  for (size_t i = 0; i < sizeof bases / sizeof bases[0] && fd < 0; i++) {
    char dir[64], node[80];
    snprintf(dir, sizeof dir, "%s/.tapyard-XXXXXX", bases[i]);
    if (mkdtemp(dir) == NULL) {
      last = errno;
      continue;
    }
    snprintf(node, sizeof node, "%s/macvtap", dir);
    if (mknod(node, S_IFCHR | 0600, makedev((unsigned)major_n, (unsigned)minor_n)) == 0) {
      fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) last = errno;
      unlink(node);
    } else {
      last = errno;
    }
    rmdir(dir);
  }
  if (fd < 0) return throw_errno(env, "open macvtap node", last);
  return make_int(env, fd);
}

// The (ifname, int, netnsPath|null) arguments that attachTap and packetSocket share.
static int args_name_int_ns(napi_env env, napi_callback_info info, char *name, size_t name_size, int32_t *value,
                            char *ns, size_t ns_size) {
  size_t argc = 3;
  napi_value argv[3];
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 3 &&
         arg_string(env, argv[0], name, name_size, NULL) && arg_int(env, argv[1], value) &&
         arg_string(env, argv[2], ns, ns_size, NULL);
}

// attachTap(name, flags, netnsPath|null) -> { fd, name }
static napi_value AttachTap(napi_env env, napi_callback_info info) {
  char name[IFNAMSIZ + 1], ns[PATH_MAX];
  int32_t flags;
  if (!args_name_int_ns(env, info, name, sizeof name, &flags, ns, sizeof ns))
    return throw_usage(env, "attachTap(name, flags, netnsPath)");

  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  int e = errno;
  struct ifreq ifr;
  if (fd >= 0) {
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
    ifr.ifr_flags = (short)flags;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      e = errno;
      close(fd);
      fd = -1;
    }
  }
  netns_leave(&g);
  if (fd < 0) return throw_errno(env, "attach tap (TUNSETIFF)", e);

  napi_value out, v;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "fd", make_int(env, fd));
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &v);
  napi_set_named_property(env, out, "name", v);
  return out;
}

// packetSocket(ifname, protocol, netnsPath|null) -> fd. Bound to one device and one ethertype,
// never promiscuous: observing must not change what the device accepts.
static napi_value PacketSocket(napi_env env, napi_callback_info info) {
  char name[IFNAMSIZ + 1], ns[PATH_MAX];
  int32_t proto;
  if (!args_name_int_ns(env, info, name, sizeof name, &proto, ns, sizeof ns))
    return throw_usage(env, "packetSocket(ifname, protocol, netnsPath)");

  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  const char *what = "socket(AF_PACKET)";
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons((uint16_t)proto));
  int e = errno;
  if (fd >= 0) {
    unsigned idx = if_nametoindex(name);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons((uint16_t)proto);
    sll.sll_ifindex = (int)idx;
    if (idx == 0) {
      e = errno;
      what = "find interface";
    } else if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
      e = errno;
      what = "bind(AF_PACKET)";
      idx = 0;
    }
    if (idx == 0) {
      close(fd);
      fd = -1;
    }
  }
  netns_leave(&g);
  if (fd < 0) return throw_errno(env, what, e);
  return make_int(env, fd);
}

// unixDgram(bindPath|null, connectPath|null) -> fd: a non-blocking unix datagram socket, bound to
// one path and/or connected to another, for QEMU's -netdev dgram (net/dgram.c): one frame per
// datagram, so readBatch and writeBatch serve it as they serve a tap.
static napi_value UnixDgram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct sockaddr_un bind_to, connect_to;
  int has_bind, has_connect;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  memset(&bind_to, 0, sizeof bind_to);
  memset(&connect_to, 0, sizeof connect_to);
  if (argc < 2 || !arg_string(env, argv[0], bind_to.sun_path, sizeof bind_to.sun_path, &has_bind) ||
      !arg_string(env, argv[1], connect_to.sun_path, sizeof connect_to.sun_path, &has_connect))
    return throw_usage(env, "unixDgram(bindPath, connectPath): paths of at most 106 bytes");
  bind_to.sun_family = connect_to.sun_family = AF_UNIX;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX, SOCK_DGRAM)", errno);
  if (has_bind && bind(fd, (struct sockaddr *)&bind_to, sizeof bind_to) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  if (has_connect && connect(fd, (struct sockaddr *)&connect_to, sizeof connect_to) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "connect", e);
  }
  return make_int(env, fd);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return throw_usage(env, "close(fd)");
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return undefined(env);
}

// parentDeathSignal(signo): the kernel sends SIGNO to this process when the thread that started
// it ends (PR_SET_PDEATHSIG; a change of credentials clears it, so it is set again after one).
static napi_value ParentDeathSignal(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t signo;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &signo)) return throw_usage(env, "parentDeathSignal(signo)");
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)signo, 0, 0, 0) < 0) return throw_errno(env, "prctl", errno);
  return undefined(env);
}

// ignoreRealtimeSignals(): SIGRTMIN..SIGRTMAX, whose default ends the process and which Node
// cannot listen to, are ignored (tapyard ends only through its one clean path).
static napi_value IgnoreRealtimeSignals(napi_env env, napi_callback_info info) {
  (void)info;
  for (int signo = SIGRTMIN; signo <= SIGRTMAX; signo++) {
    if (signal(signo, SIG_IGN) == SIG_ERR) return throw_errno(env, "signal", errno);
  }
  return undefined(env);
}

// peerUid(fd): the uid of the process at the other end of a connected unix socket (SO_PEERCRED,
// as it was when it connected).
static napi_value PeerUid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_int(env, argv[0], &fd)) return throw_usage(env, "peerUid(fd)");
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return throw_errno(env, "getsockopt", errno);
  CHECK_NAPI(napi_create_uint32(env, cred.uid, &out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// ioctls.

static int fd_arg(napi_env env, napi_callback_info info, int32_t *fd, int32_t *value, size_t want) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return 0;
  if (!arg_int(env, argv[0], fd)) return 0;
  if (want > 1 && !arg_int(env, argv[1], value)) return 0;
  return 1;
}

// tunGetIff(fd) -> { name, flags }. On a macvtap whose link was deleted: ENOLINK.
static napi_value TunGetIff(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, &fd, NULL, 1)) return throw_usage(env, "tunGetIff(fd)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) return throw_errno(env, "TUNGETIFF", errno);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &v);
  napi_set_named_property(env, out, "name", v);
  napi_set_named_property(env, out, "flags", make_int(env, (uint16_t)ifr.ifr_flags));
  return out;
}

// TUNSETOFFLOAD takes its flags by value.
static napi_value TunSetOffload(napi_env env, napi_callback_info info) {
  int32_t fd, flags;
  if (!fd_arg(env, info, &fd, &flags, 2)) return throw_usage(env, "tunSetOffload(fd, flags)");
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(uint32_t)flags) < 0) return throw_errno(env, "TUNSETOFFLOAD", errno);
  return undefined(env);
}

static napi_value TunSetVnetHdrSz(napi_env env, napi_callback_info info) {
  int32_t fd, size;
  if (!fd_arg(env, info, &fd, &size, 2)) return throw_usage(env, "tunSetVnetHdrSz(fd, size)");
  int v = size;
  if (ioctl(fd, TUNSETVNETHDRSZ, &v) < 0) return throw_errno(env, "TUNSETVNETHDRSZ", errno);
  return undefined(env);
}

// hwaddr(fd) -> Buffer(6): SIOCGIFHWADDR answered by the tap/macvtap fd itself.
static napi_value Hwaddr(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, &fd, NULL, 1)) return throw_usage(env, "hwaddr(fd)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return throw_errno(env, "SIOCGIFHWADDR", errno);
  napi_value buf;
  void *data;
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &data, &buf);
  return buf;
}

// ifMtu(ifname, netnsPath|null) -> mtu, asked of a socket in the device's namespace.
static napi_value IfMtu(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[IFNAMSIZ + 1], ns[PATH_MAX];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_string(env, argv[0], name, sizeof name, NULL) || !arg_string(env, argv[1], ns, sizeof ns, NULL))
    return throw_usage(env, "ifMtu(ifname, netnsPath)");
  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int e = errno, mtu = -1;
  if (s >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0)
      mtu = ifr.ifr_mtu;
    else
      e = errno;
    close(s);
  }
  netns_leave(&g);
  if (mtu < 0) return throw_errno(env, "SIOCGIFMTU", e);
  return make_int(env, mtu);
}

// nsSocket(netnsPath|null) -> fd: a datagram socket made in that namespace (null: this one), for
// asking it about its devices later without entering it again (setns takes milliseconds: the
// loop would stall; after --user it is not allowed).
static napi_value NsSocket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char ns[PATH_MAX];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !arg_string(env, argv[0], ns, sizeof ns, NULL)) return throw_usage(env, "nsSocket(netnsPath)");
  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int e = errno;
  netns_leave(&g);
  if (s < 0) return throw_errno(env, "socket", e);
  return make_int(env, s);
}

// ifStateAt(socketFd, ifname) -> { mtu, flags, index, mac }: ifname as its namespace (the socket's) sees
// it now. flags are SIOCGIFFLAGS's: IFF_UP as set by the administrator, IFF_RUNNING when the
// device also has its carrier.
static napi_value IfStateAt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  char name[IFNAMSIZ + 1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !arg_string(env, argv[1], name, sizeof name, NULL))
    return throw_usage(env, "ifStateAt(fd, ifname)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return throw_errno(env, "SIOCGIFMTU", errno);
  int mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return throw_errno(env, "SIOCGIFFLAGS", errno);
  unsigned short flags = (unsigned short)ifr.ifr_flags;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return throw_errno(env, "SIOCGIFHWADDR", errno);
  struct sockaddr hwaddr = ifr.ifr_hwaddr;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) return throw_errno(env, "SIOCGIFINDEX", errno);
  int index = ifr.ifr_ifindex;
  napi_value out, mac;
  void *data;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "mtu", make_int(env, mtu));
  napi_set_named_property(env, out, "flags", make_int(env, flags));
  napi_set_named_property(env, out, "index", make_int(env, index));
  napi_create_buffer_copy(env, 6, hwaddr.sa_data, &data, &mac);
  napi_set_named_property(env, out, "mac", mac);
  return out;
}

// nsOpenRead(netnsPath|null, path) -> fd: PATH opened read-only from inside that namespace. For
// /proc/thread-self/net/* files: they keep showing the namespace they were opened in, so the
// caller reads them again later (pread at 0 restarts a seq file) without entering it again.
static napi_value NsOpenRead(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char ns[PATH_MAX], path[PATH_MAX];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !arg_string(env, argv[0], ns, sizeof ns, NULL) || !arg_string(env, argv[1], path, sizeof path, NULL))
    return throw_usage(env, "nsOpenRead(netnsPath, path)");
  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int e = errno;
  netns_leave(&g);
  if (fd < 0) return throw_errno(env, "open", e);
  return make_int(env, fd);
}

// rtnlSubscribe(netnsPath|null, groups: number[]) -> fd: a non-blocking NETLINK_ROUTE socket made
// in that namespace and joined to these multicast groups (RTNLGRP_*, NETLINK_ADD_MEMBERSHIP: the
// groups past 32 cannot be named in bind). The kernel then sends it what changes there; a Poller
// reads it like any datagram fd.
static napi_value RtnlSubscribe(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char ns[PATH_MAX];
  uint32_t groups = 0;
  int group[8];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc >= 2) napi_is_array(env, argv[1], &is_array);
  if (argc < 2 || !arg_string(env, argv[0], ns, sizeof ns, NULL) || !is_array ||
      napi_get_array_length(env, argv[1], &groups) != napi_ok || groups < 1 || groups > 8)
    return throw_usage(env, "rtnlSubscribe(netnsPath, groups: 1..8 numbers)");
  for (uint32_t i = 0; i < groups; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_value_int32(env, v, &group[i]) != napi_ok ||
        group[i] < 1)
      return throw_usage(env, "rtnlSubscribe(netnsPath, groups: 1..8 numbers)");
  }
  netns_guard g;
  if (netns_enter(ns, &g) < 0) return throw_errno(env, "enter network namespace", errno);
  const char *what = "socket(AF_NETLINK)";
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  int e = errno;
  if (fd >= 0) {
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    int failed = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0;
    if (failed) what = "bind(AF_NETLINK)";
    for (uint32_t i = 0; i < groups && !failed; i++) {
      failed = setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group[i], sizeof group[i]) < 0;
      if (failed) what = "NETLINK_ADD_MEMBERSHIP";
    }
    if (failed) {
      e = errno;
      close(fd);
      fd = -1;
    }
  }
  netns_leave(&g);
  if (fd < 0) return throw_errno(env, what, e);
  return make_int(env, fd);
}

// ---------------------------------------------------------------------------------------------
// Batched I/O.
//
// Reading: frames are packed into `ring`: each Ethernet frame starts 64-byte aligned, with at least
//   `headroom` bytes before it and the vnet header (hdrLen bytes) just before it. The kernel
//   copies the frame's bytes to where the frame starts; at 1518 B that copy took 20 % more of the
//   forwarder's CPU when the frame started 12 bytes past a 64-byte boundary (perf, 100 k frames/s). A read is
//   only started when a whole maximum frame fits, and its buffer is exactly that size, so a read
//   that fills it was truncated by the kernel (tap_read_iter cuts silently): lengths[i] = -1.
//   A batch stops at EAGAIN, after `budget` frames, or at an error (reported with the frames
//   read before it, so none is lost).

#define MAX_FRAME (65536 + 4096)  // QEMU's NET_BUFSIZE: a 64 KiB GSO frame plus headers
#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

// The datapath's read() and write() as bare system calls: Node is a threaded process, where
// glibc's wrappers switch thread cancellation on and off around every call (about 1 % of the
// forwarder's CPU in a perf profile at 64 B). Nothing here is ever cancelled.
static ssize_t frame_read(int fd, void *buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
static ssize_t frame_write(int fd, const void *buf, size_t n) { return syscall(SYS_write, fd, buf, n); }

typedef struct {
  uint8_t *ring;
  size_t ring_size;
  uint32_t *offsets;
  int32_t *lengths;
  int32_t max_n;
  int32_t hdr_len;
  int32_t headroom;
  int32_t budget;
} rx_ring;

// Where the next frame starts when the ring is used up to byte `pos`.
static size_t frame_slot(const rx_ring *r, size_t pos) { return ALIGN64(pos + (size_t)r->headroom); }

// Frames read into slots n.. from byte `pos` on; returns the frames now in the ring. *err is
// the errno that ended the batch (0 for EAGAIN or budget).
static int read_batch_from(int fd, const rx_ring *r, size_t pos, int n, int *err) {
  size_t want = (size_t)r->hdr_len + MAX_FRAME;
  int budget = r->budget < r->max_n ? r->budget : r->max_n;
  *err = 0;
  while (n < budget && frame_slot(r, pos) + MAX_FRAME <= r->ring_size) {
    uint8_t *at = r->ring + frame_slot(r, pos) - r->hdr_len;
    ssize_t got = frame_read(fd, at, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) *err = errno;
      break;
    }
    r->offsets[n] = (uint32_t)frame_slot(r, pos);
    if ((size_t)got >= want) {
      r->lengths[n++] = -1;  // truncated: the slot is reused, JS counts the frame as a drop
      continue;
    }
    int32_t frame_len = (int32_t)got - r->hdr_len;
    if (frame_len < 0) frame_len = 0;
    r->lengths[n++] = frame_len;
    pos = frame_slot(r, pos) + (size_t)frame_len;
  }
  return n;
}

static int read_batch(int fd, const rx_ring *r, int *err) { return read_batch_from(fd, r, 0, 0, err); }

static int arg_ring(napi_env env, napi_value *argv, rx_ring *r) {
  void *ring, *offs, *lens;
  size_t ring_size, offs_size, lens_size;
  if (!arg_bytes(env, argv[0], &ring, &ring_size) || !arg_bytes(env, argv[1], &offs, &offs_size) ||
      !arg_bytes(env, argv[2], &lens, &lens_size) || !arg_int(env, argv[3], &r->hdr_len) ||
      !arg_int(env, argv[4], &r->headroom) || !arg_int(env, argv[5], &r->budget) || r->hdr_len < 0 ||
      r->headroom < r->hdr_len || r->budget < 1 || ring_size < ALIGN64((size_t)r->headroom) + MAX_FRAME)
    return 0;
  r->ring = ring;
  r->ring_size = ring_size;
  r->offsets = offs;
  r->lengths = lens;
  r->max_n = (int32_t)((offs_size < lens_size ? offs_size : lens_size) / 4);
  return 1;
}

// readBatch(fd, ring, offsets, lengths, hdrLen, headroom, budget) -> count (synchronous).
static napi_value ReadBatch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  int32_t fd;
  rx_ring r;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || !arg_int(env, argv[0], &fd) || !arg_ring(env, argv + 1, &r))
    return throw_usage(env, "readBatch(fd, ring, offsets, lengths, hdrLen, headroom, budget)");
  int err;
  int n = read_batch(fd, &r, &err);
  if (n == 0 && err) return throw_errno(env, "read", err);
  return make_int(env, n);
}

// writeBatch(fd, buf, offsets, lengths, count, status) -> frames processed
//   One write() per frame (tap and macvtap take exactly one frame per write). status[i] = 0 or
//   the errno of a frame the kernel refused (the frame is gone, JS counts it). EAGAIN stops the
//   batch without consuming the frame, so the caller can wait for POLLOUT.
static napi_value WriteBatch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t fd, count;
  void *buf, *offs_p, *lens_p, *status_p;
  size_t buf_size, offs_size, lens_size, status_size;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !arg_int(env, argv[0], &fd) || !arg_bytes(env, argv[1], &buf, &buf_size) ||
      !arg_bytes(env, argv[2], &offs_p, &offs_size) || !arg_bytes(env, argv[3], &lens_p, &lens_size) ||
      !arg_int(env, argv[4], &count) || !arg_bytes(env, argv[5], &status_p, &status_size) || count < 0 ||
      (size_t)count > offs_size / 4 || (size_t)count > lens_size / 4 || (size_t)count > status_size / 4)
    return throw_usage(env, "writeBatch(fd, buf, offsets, lengths, count, status)");
  uint32_t *offsets = offs_p, *lengths = lens_p;
  int32_t *status = status_p;
  int i = 0;
  while (i < count) {
    if ((size_t)offsets[i] + lengths[i] > buf_size) {
      status[i++] = EFAULT;
      continue;
    }
    ssize_t put = frame_write(fd, (uint8_t *)buf + offsets[i], lengths[i]);
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      status[i++] = errno;
      continue;
    }
    status[i++] = 0;
  }
  return make_int(env, i);
}

// ---------------------------------------------------------------------------------------------
// Splice: the plain cross-connect without JavaScript (fd-port.ts spliceTo). Frames are read and
// written one at a time, each from the same slot at the start of the ring, as the C reference
// loop does: a frame goes out while the next one arrives, and its bytes stay in cache. Only a
// frame that needs nothing of the loop is written here:
//   - not truncated, at least an Ethernet header, and not VLAN-tagged (the loop parses tags);
//   - with a vnet header: no offload work (flags 0, gso_type NONE) and hdr_len within the frame,
//     the only check virtio_net_hdr_to_skb makes of such a header (vnet.ts check());
//   - no larger than the egress carries (its MTU, kept current by JavaScript in max_frame).
// The first frame that is not such a frame, or that the egress does not take (EAGAIN, or any
// error: a refused write leaves nothing behind, so the loop may try it again and name the
// error), stays in the ring, and the rest of the turn is read behind it for the loop. Counts
// go to two Float64Arrays the ports' Counters add in: [rx frames, rx bytes, tx frames, tx bytes,
// spoofed]. An egress with a source guard (a macvtap, source-guard.ts: its MAC in bytes 0-5, the
// mode in byte 6, kept current by JavaScript) has each frame's source MAC checked: another MAC
// is counted as spoofed when written (count), or the frame is not plain (drop: the loop drops it
// under its reason). An egress that plays a guest NIC's receive filter takes below JavaScript
// only what the filter accepts in any state (filter_passes); the rest is not plain.

typedef struct {
  int fd;              // the egress, or -1: no splice (unless `into`)
  struct vring *into;  // or a guest's receive ring (vhost-user), its own cells saying the rest
  int32_t *max_frame;  // the egress's largest frame without GSO
  double *in_stats;    // this port's counters
  double *out_stats;   // the egress's
  const uint8_t *guard;  // the egress's source guard, or NULL
  const uint8_t *filter;  // the egress's receive filter (filter_passes), or NULL
  napi_ref refs[6];       // what the raw pointers above point into, kept alive; NULL when unused
} splice_to;

enum { GUARD_COUNT = 1, GUARD_DROP = 2 };

// Whether the egress's guard sees this frame as spoofed. Called only once plain_frame has proved
// frame_len >= ETH_HLEN, so the source MAC (bytes 6-11) lies inside the frame.
static int spoofed_source(const uint8_t *guard, const uint8_t *frame) {
  int checks = guard != NULL && (guard[6] == GUARD_COUNT || guard[6] == GUARD_DROP);
  return checks && memcmp(frame + 6, guard, 6) != 0;
}

// An egress that plays a guest NIC's receive filter (rx-filter.ts spliceCell: the NIC's MAC in
// bytes 0-5, in byte 6 the frames it accepts in every state of its tables): a frame it might
// refuse is not plain, and the loop runs the whole filter and names the drop. Called only for a
// frame of at least an Ethernet header and without a VLAN tag.
enum { FILTER_ALL = 1, FILTER_OWN_MAC = 2, FILTER_BROADCAST = 4 };
static int filter_passes(const uint8_t *filter, const uint8_t *frame) {
  static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (filter == NULL || (filter[6] & FILTER_ALL)) return 1;
  if (frame[0] & 1) return (filter[6] & FILTER_BROADCAST) && memcmp(frame, broadcast, 6) == 0;
  return (filter[6] & FILTER_OWN_MAC) && memcmp(frame, filter, 6) == 0;
}

static int is_vlan_tpid(const uint8_t *type) {
  uint16_t t = (uint16_t)(type[0] << 8 | type[1]);
  return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

// Whether the loop would write this frame to the egress unchanged (see above).
static int plain_frame(const uint8_t *hdr, int32_t hdr_len, int32_t frame_len, int32_t max_frame) {
  if (frame_len < ETH_HLEN || frame_len > max_frame || is_vlan_tpid(hdr + hdr_len + 12)) return 0;
  if (hdr_len == 0) return 1;
  // struct virtio_net_hdr: flags, gso_type, hdr_len (little-endian), ...
  return hdr[0] == 0 && hdr[1] == 0 && (int32_t)(hdr[2] | hdr[3] << 8) <= frame_len;
}

// ---------------------------------------------------------------------------------------------
// Guest rings in C: the splice through a vhost-user guest (vhost-user.ts applySplice). The walk
// in virtqueue.ts and vhost-net.ts is the reference and handles every frame this one does not:
// both walk the same rings, one at a time on Node's loop, and share where each ring is (its
// cells, below). The C legs take only what they can finish whole, the way the splice above
// does for two fds:
//   - a guest's transmit chain that is well formed, holds one frame the wire takes as it is
//     (plain_frame, or offloads the guest negotiated, checked as vnet.ts check() does) and that
//     the wire's write accepts is written and returned; at the first other chain the walk stops,
//     with that chain still available, and JavaScript walks from there (it names the drop);
//   - a frame from the wire goes into the guest's receive buffers when they hold it whole and
//     are well formed; otherwise it stays in the batch ring for the loop, as a frame the egress
//     refused does above (JavaScript then gives it, counts a malformed buffer, or waits for room).
// Every guest value is read once into a local, then checked: a descriptor lies whole inside one
// mapped region; a chain is at most the queue size long, at most VRING_MAX_SEGS segments, with
// no two overlapping; an indirect table is negotiated, not nested, whole entries inside memory.
// The ring tables themselves were checked against their region when the ring was made.
// Little-endian host assumed, as virtio 1.x rings are little-endian (x86-64, arm64).

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the vhost-user rings are read in host byte order: little-endian only"
#endif

#define VRING_MAX_REGIONS 8  // vhost-message.ts MAX_REGIONS
#define VRING_MAX_SEGS 64    // a longer chain is left to JavaScript
#define VRING_MAX_SIZE 32768
enum { DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4 };
enum { AVAIL_F_NO_INTERRUPT = 1, USED_F_NO_NOTIFY = 1 };
// The cells a ring shares with virtqueue.ts (RingCell there): a Uint32Array.
enum {
  VC_LAST_AVAIL, VC_USED_IDX, VC_PUBLISHED, VC_FLAGS, VC_CALL_FD, VC_GUEST_HDR, VC_OFFLOADS, VC_MAX_FRAME,
  VC_COUNT
};
enum { VF_EVENT_IDX = 1, VF_INDIRECT = 2, VF_MERGEABLE = 4 };
// TunOffload flags (native.ts), as VC_OFFLOADS holds them; virtio_net_hdr flags and gso types.
enum { OFF_CSUM = 1, OFF_TSO4 = 2, OFF_TSO6 = 4 };
enum { VNET_NEEDS_CSUM = 1, VNET_DATA_VALID = 2, GSO_NONE = 0, GSO_TCPV4 = 1, GSO_TCPV6 = 4 };
#define VNET_HDR 10

typedef struct {
  uint8_t *base;
  uint64_t guest_phys;
  uint64_t size;
} vregion;

typedef struct vring {
  vregion regions[VRING_MAX_REGIONS];
  int nregions;
  uint32_t *cells;
  uint8_t *desc, *avail, *used;
  uint32_t size;
  int open;
  napi_ref refs[VRING_MAX_REGIONS + 1];  // the regions' arrays and the cells: C keeps raw pointers
  int nrefs;
} vring;

typedef struct {
  uint8_t *p;
  uint32_t len;
} vseg;

static uint16_t load16(const uint8_t *at) { return __atomic_load_n((const uint16_t *)at, __ATOMIC_ACQUIRE); }
static void store16(uint8_t *at, uint16_t v) { __atomic_store_n((uint16_t *)at, v, __ATOMIC_SEQ_CST); }
static uint16_t le16(const uint8_t *at) { return (uint16_t)(at[0] | at[1] << 8); }

// Guest-physical [addr, addr + len) in the mapping, or NULL when it is not whole inside one region.
static uint8_t *vr_guest(const vring *v, uint64_t addr, uint64_t len) {
  for (int i = 0; i < v->nregions; i++) {
    const vregion *r = &v->regions[i];
    if (addr < r->guest_phys) continue;
    uint64_t off = addr - r->guest_phys;
    if (off >= r->size || len > r->size - off) continue;
    return r->base + off;
  }
  return NULL;
}

// The chain at `head`, its segments into segs: their count, or 0 when JavaScript must see it.
static int vr_collect(const vring *v, uint32_t head, int writable, vseg *segs) {
  const uint8_t *table = v->desc;
  uint32_t entries = v->size, index = head, count = 0;
  int indirect = 0, n = 0;
  for (;;) {
    if (index >= entries) return 0;
    uint8_t d[16];
    memcpy(d, table + 16 * (size_t)index, 16);  // read once: the guest may be writing it
    uint64_t addr;
    uint32_t len;
    memcpy(&addr, d, 8);
    memcpy(&len, d + 8, 4);
    uint16_t flags = le16(d + 12), next = le16(d + 14);
    if (flags & DESC_F_INDIRECT) {
      if (!(v->cells[VC_FLAGS] & VF_INDIRECT) || indirect || (flags & DESC_F_NEXT) || len == 0 || len % 16 != 0 ||
          len / 16 > v->size)
        return 0;
      table = vr_guest(v, addr, len);
      if (table == NULL) return 0;
      entries = len / 16;
      indirect = 1;
      index = 0;
      continue;
    }
    if (++count > v->size || n == VRING_MAX_SEGS || len == 0 || !!(flags & DESC_F_WRITE) != writable) return 0;
    uint8_t *p = vr_guest(v, addr, len);
    if (p == NULL) return 0;
    segs[n].p = p;
    segs[n].len = len;
    n++;
    if (!(flags & DESC_F_NEXT)) break;
    index = next;
  }
  for (int i = 1; i < n; i++)
    for (int j = 0; j < i; j++)
      if (segs[i].p < segs[j].p + segs[j].len && segs[j].p < segs[i].p + segs[i].len) return 0;
  return n;
}

// Chains available and not taken; -1 when the index moved by more than the queue (JavaScript stops the ring).
static int vr_pending(const vring *v) {
  uint16_t n = (uint16_t)(load16(v->avail + 2) - (uint16_t)v->cells[VC_LAST_AVAIL]);
  return n > v->size ? -1 : n;
}

// The head of the next available chain, or -1 past the table.
static int vr_head(const vring *v, uint16_t pos) {
  uint16_t head = load16(v->avail + 4 + 2 * (size_t)(pos & (v->size - 1)));
  return head < v->size ? head : -1;
}

static void vr_put(vring *v, uint16_t used_idx, uint32_t head, uint32_t written) {
  uint8_t *slot = v->used + 4 + 8 * (size_t)(used_idx & (v->size - 1));
  memcpy(slot, &head, 4);
  memcpy(slot + 4, &written, 4);
}

// Make the chains put so far visible, and interrupt the guest if it asked (virtqueue.ts publish).
static void vr_publish(vring *v) {
  if (!v->open) return;
  uint16_t now = (uint16_t)v->cells[VC_USED_IDX], before = (uint16_t)v->cells[VC_PUBLISHED];
  if (now == before) return;
  store16(v->used + 2, now);
  v->cells[VC_PUBLISHED] = now;
  int want;
  if (v->cells[VC_FLAGS] & VF_EVENT_IDX) {
    uint16_t event = load16(v->avail + 4 + 2 * (size_t)v->size);
    want = (uint16_t)(now - event - 1) < (uint16_t)(now - before);
  } else {
    want = !(load16(v->avail) & AVAIL_F_NO_INTERRUPT);
  }
  int32_t call = (int32_t)v->cells[VC_CALL_FD];
  if (!want || call < 0) return;
  uint64_t one = 1;
  ssize_t put;
  do put = frame_write(call, &one, sizeof one);
  while (put < 0 && errno == EINTR);
}

// Ask the guest to kick for its next chain (on), or not (virtqueue.ts wantKicks).
static void vr_want_kicks(vring *v, int on) {
  if (!(v->cells[VC_FLAGS] & VF_EVENT_IDX)) store16(v->used, on ? 0 : USED_F_NO_NOTIFY);
  else if (on) store16(v->used + 4 + 8 * (size_t)v->size, load16(v->avail + 2));
}

// Whether a frame with this virtio_net_hdr needs only offloads in `granted`, and its header is
// one the kernel takes (vnet.ts check): otherwise JavaScript decides (and names the drop).
static int vnet_passes(const uint8_t *h, int32_t frame_len, int32_t max_frame, uint32_t granted) {
  uint8_t flags = h[0], gso = h[1];
  uint32_t need = (flags & VNET_NEEDS_CSUM) ? OFF_CSUM : 0;
  if (frame_len < ETH_HLEN || is_vlan_tpid(h + VNET_HDR + 12)) return 0;
  if (flags & ~(VNET_NEEDS_CSUM | VNET_DATA_VALID)) return 0;
  if (gso == GSO_TCPV4) need |= OFF_TSO4;
  else if (gso == GSO_TCPV6) need |= OFF_TSO6;
  else if (gso != GSO_NONE) return 0;
  if ((need & ~granted) != 0 || le16(h + 2) > frame_len) return 0;
  if (gso != GSO_NONE && le16(h + 4) == 0) return 0;
  if ((flags & VNET_NEEDS_CSUM) && (int32_t)le16(h + 6) + le16(h + 8) + 2 > frame_len) return 0;
  return gso != GSO_NONE || frame_len <= max_frame;
}

// One frame (its 10-byte header at hdr, `frame` bytes behind it) into the guest's receive
// buffers, as vhost-net.ts give() does; 0 when it went in (put, not yet published), -1 when it
// is left to JavaScript (nothing taken).
static int vr_give(vring *v, const uint8_t *hdr, int32_t frame_len) {
  uint32_t *c = v->cells;
  if (!v->open || !vnet_passes(hdr, frame_len, (int32_t)c[VC_MAX_FRAME], c[VC_OFFLOADS])) return -1;
  size_t frame = (size_t)frame_len;
  uint8_t header[12];
  memcpy(header, hdr, VNET_HDR);
  if (!(c[VC_OFFLOADS] & OFF_CSUM)) header[0] &= (uint8_t)~VNET_DATA_VALID;
  uint32_t guest_hdr = c[VC_GUEST_HDR] == 12 ? 12 : VNET_HDR;
  int mergeable = (c[VC_FLAGS] & VF_MERGEABLE) != 0;
  uint16_t last = (uint16_t)c[VC_LAST_AVAIL], used_idx = (uint16_t)c[VC_USED_IDX];
  int pending = vr_pending(v);
  if (pending <= 0) return -1;
  const uint8_t *src = hdr + VNET_HDR;
  size_t done = 0;
  uint16_t chains = 0;
  uint8_t *first = NULL;
  vseg segs[VRING_MAX_SEGS];
  while (first == NULL || done < frame) {
    if (pending-- == 0) return -1;
    int head = vr_head(v, last);
    int n = head < 0 ? 0 : vr_collect(v, (uint32_t)head, 1, segs);
    if (n == 0 || (first == NULL && segs[0].len < guest_hdr)) return -1;
    size_t room = 0;
    for (int i = 0; i < n; i++) room += segs[i].len;
    if (first == NULL && !mergeable && room < guest_hdr + frame) return -1;
    size_t skip = 0;
    if (first == NULL) {
      first = segs[0].p;
      memcpy(first, header, guest_hdr);
      skip = guest_hdr;
    }
    size_t written = skip;
    for (int i = 0; i < n && done < frame; i++) {
      if (skip >= segs[i].len) {
        skip -= segs[i].len;
        continue;
      }
      size_t k = segs[i].len - skip;
      if (k > frame - done) k = frame - done;
      memcpy(segs[i].p + skip, src + done, k);
      skip = 0;
      done += k;
      written += k;
    }
    vr_put(v, used_idx, (uint32_t)head, (uint32_t)written);
    used_idx++;
    last++;
    chains++;
    if (!mergeable) break;
  }
  if (guest_hdr == 12) {
    first[10] = (uint8_t)(chains & 0xff);
    first[11] = (uint8_t)(chains >> 8);
  }
  c[VC_LAST_AVAIL] = last;
  c[VC_USED_IDX] = used_idx;
  return 0;
}

#define TX_CHECKED 64  // bytes of a frame from the guest copied out to be checked (headers, MACs)
#define TX_SCRATCH (64 + TX_CHECKED)

// The other leg: the guest's transmit ring written to the wire (see the poller's ring source
// below). Returns 1 when the ring is empty and kicks are on again, 0 when JavaScript must walk on
// from here, 2 when the budget ran out with chains left.

static int vr_take_to(vring *v, const splice_to *s, uint8_t *scratch, int budget) {
  uint32_t *c = v->cells;
  uint32_t guest_hdr = c[VC_GUEST_HDR] == 12 ? 12 : VNET_HDR;
  vseg segs[VRING_MAX_SEGS];
  int kicks_on = 0, outcome = 0;
  uint8_t *frame = scratch + 64;  // the 10-byte header goes just before, the guest's 12 at frame - 12
  vr_want_kicks(v, 0);
  for (int taken = 0;;) {
    int pending = vr_pending(v);
    if (pending < 0) break;
    if (pending == 0) {
      if (kicks_on) {
        outcome = 1;
        break;
      }
      // A chain made available just before the guest saw kicks are wanted brings no kick: look again.
      vr_want_kicks(v, 1);
      kicks_on = 1;
      continue;
    }
    if (taken == budget) {
      outcome = 2;
      break;
    }
    uint16_t last = (uint16_t)c[VC_LAST_AVAIL];
    int head = vr_head(v, last);
    int n = head < 0 ? 0 : vr_collect(v, (uint32_t)head, 0, segs);
    if (n == 0) break;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += segs[i].len;
    if (total < guest_hdr || total - guest_hdr > MAX_FRAME) break;
    // The header and the frame's first bytes are copied out and checked there, where the guest
    // cannot change them any more; the rest goes to the wire straight from its buffers (one copy,
    // the kernel's, as QEMU's own backend writes them).
    size_t left = total < guest_hdr + TX_CHECKED ? total : guest_hdr + TX_CHECKED;
    size_t copied = left;
    struct iovec iov[1 + VRING_MAX_SEGS];
    int niov = 1;
    uint8_t *at = frame - guest_hdr;
    for (int i = 0; i < n; i++) {
      size_t k = segs[i].len < left ? segs[i].len : left;
      memcpy(at, segs[i].p, k);
      at += k;
      left -= k;
      if (k < segs[i].len) iov[niov++] = (struct iovec){.iov_base = segs[i].p + k, .iov_len = segs[i].len - k};
    }
    if (guest_hdr == 12) memmove(frame - VNET_HDR, frame - 12, VNET_HDR);
    int32_t frame_len = (int32_t)(total - guest_hdr);
    uint8_t *hdr = frame - VNET_HDR;
    if (!vnet_passes(hdr, frame_len, *s->max_frame, c[VC_OFFLOADS]) || !filter_passes(s->filter, frame)) break;
    int spoofed = spoofed_source(s->guard, frame);
    if (spoofed && s->guard[6] == GUARD_DROP) break;
    iov[0] = (struct iovec){.iov_base = hdr, .iov_len = VNET_HDR + copied - guest_hdr};
    ssize_t put;
    do put = syscall(SYS_writev, s->fd, iov, niov);
    while (put < 0 && errno == EINTR);
    if (put < 0) break;  // full or refused: the chain stays, and the loop names what happened
    uint16_t used_idx = (uint16_t)c[VC_USED_IDX];
    vr_put(v, used_idx, (uint32_t)head, 0);
    c[VC_USED_IDX] = (uint16_t)(used_idx + 1);
    c[VC_LAST_AVAIL] = (uint16_t)(last + 1);
    s->in_stats[0] += 1;
    s->in_stats[1] += frame_len;
    s->out_stats[2] += 1;
    s->out_stats[3] += frame_len;
    if (spoofed) s->out_stats[4] += 1;
    taken++;
    if (kicks_on) vr_want_kicks(v, 0);
    kicks_on = 0;
  }
  // The frames went to the wire before the guest hears its buffers are back (vhost-user.ts txTurn).
  vr_publish(v);
  return outcome;
}


// The egress's write of one frame (its header at `at`, `got` bytes in all): to an fd, or into a
// guest's receive ring, where -1 leaves the frame to the loop as a refused write does.
static ssize_t splice_put(const splice_to *s, uint8_t *at, size_t got, int32_t frame_len) {
  if (s->into != NULL) return vr_give(s->into, at, frame_len) == 0 ? (ssize_t)got : -1;
  ssize_t put;
  do put = frame_write(s->fd, at, got);
  while (put < 0 && errno == EINTR);
  return put;
}

// Returns the frames left in the ring for JavaScript; *err as read_batch.
static int splice_frames(int fd, const rx_ring *r, const splice_to *s, int *err) {
  size_t want = (size_t)r->hdr_len + MAX_FRAME;
  uint8_t *at = r->ring + frame_slot(r, 0) - r->hdr_len;  // the first slot, each time
  *err = 0;
  for (int i = 0; i < r->budget; i++) {
    ssize_t got = frame_read(fd, at, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) *err = errno;
      return 0;
    }
    int32_t frame_len = (int32_t)got - r->hdr_len;
    // A guest's ring checks its frames itself (vr_give): it may take offloaded ones.
    int keep = (size_t)got >= want || (s->into == NULL && !plain_frame(at, r->hdr_len, frame_len, *s->max_frame)) ||
               (frame_len >= ETH_HLEN && !filter_passes(s->filter, at + r->hdr_len));
    int spoofed = !keep && spoofed_source(s->guard, at + r->hdr_len);
    if (spoofed && s->guard[6] == GUARD_DROP) keep = 1;
    ssize_t put = keep ? -1 : splice_put(s, at, (size_t)got, frame_len);
    if (put < 0) {
      r->offsets[0] = (uint32_t)frame_slot(r, 0);
      r->lengths[0] = (size_t)got >= want ? -1 : (frame_len < 0 ? 0 : frame_len);
      if (!keep) return 1;  // the egress is full or refused it: the loop takes it from here
      size_t next = r->lengths[0] < 0 ? 0 : frame_slot(r, 0) + (size_t)r->lengths[0];
      return read_batch_from(fd, r, next, 1, err);
    }
    s->in_stats[0] += 1;
    s->in_stats[1] += frame_len;
    s->out_stats[2] += 1;
    s->out_stats[3] += frame_len;
    if (spoofed) s->out_stats[4] += 1;
  }
  return 0;
}

static int splice_batch(int fd, const rx_ring *r, const splice_to *s, int *err) {
  int left = splice_frames(fd, r, s, err);
  // A guest hears of its frames once per batch, before the loop sees what was left.
  if (s->into != NULL) vr_publish(s->into);
  return left;
}

// ---------------------------------------------------------------------------------------------
// vhost-user (src/port/vhost-user.ts): what Node cannot do for it. QEMU sends the guest's memory
// and the rings' eventfds as fds over SCM_RIGHTS on a unix stream socket; the memory is mmapped
// and handed to JavaScript as an ArrayBuffer over the mapping, where typed arrays bound every
// access; the eventfds are read (a kick) and written (a call). The protocol itself is in TS.

// unixListen(path) -> fd: a non-blocking unix stream socket listening on path, created 0600
// (umask around bind: chmod after bind would leave a moment where others could connect).
static napi_value UnixListen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un addr;
  int present;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  memset(&addr, 0, sizeof addr);
  if (argc < 1 || !arg_string(env, argv[0], addr.sun_path, sizeof addr.sun_path, &present) || !present)
    return throw_usage(env, "unixListen(path): a path of at most 106 bytes");
  addr.sun_family = AF_UNIX;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX, SOCK_STREAM)", errno);
  mode_t old = umask(0177);
  int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int e = errno;
  umask(old);
  if (r < 0 || listen(fd, 4) < 0) {
    if (r == 0) e = errno;
    close(fd);
    return throw_errno(env, r < 0 ? "bind" : "listen", e);
  }
  return make_int(env, fd);
}

// unixConnect(path) -> fd, or -1 while nobody listens there (ENOENT, ECONNREFUSED): for a QEMU
// that is the server (`server=on`). Blocking connect on a unix socket returns at once.
static napi_value UnixConnect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct sockaddr_un addr;
  int present;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  memset(&addr, 0, sizeof addr);
  if (argc < 1 || !arg_string(env, argv[0], addr.sun_path, sizeof addr.sun_path, &present) || !present)
    return throw_usage(env, "unixConnect(path): a path of at most 106 bytes");
  addr.sun_family = AF_UNIX;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX, SOCK_STREAM)", errno);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) return make_int(env, -1);
    return throw_errno(env, "connect", e);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return make_int(env, fd);
}

// acceptConn(fd) -> a non-blocking connection's fd, or -1 when none is waiting.
static napi_value AcceptConn(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, &fd, NULL, 1)) return throw_usage(env, "acceptConn(fd)");
  int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    if (errno == EAGAIN || errno == EINTR) return make_int(env, -1);
    return throw_errno(env, "accept", errno);
  }
  return make_int(env, c);
}

#define RECV_MAX_FDS 8  // VHOST_MEMORY_BASELINE_NREGIONS: the most fds one message carries

// recvFds(fd, buf, offset, length, fds: Int32Array) -> bytes read into buf[offset..], 0 at the
// end of the stream, -1 when nothing is waiting. Fds that came with them are stored in fds
// (the rest of it -1), non-blocking and close-on-exec. More fds than fds holds: all are closed
// and the call fails with EMSGSIZE, so nothing leaks.
static napi_value RecvFds(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd, offset, length;
  void *buf, *fds_p;
  size_t buf_size, fds_size;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !arg_int(env, argv[0], &fd) || !arg_bytes(env, argv[1], &buf, &buf_size) ||
      !arg_int(env, argv[2], &offset) || !arg_int(env, argv[3], &length) ||
      !arg_bytes(env, argv[4], &fds_p, &fds_size) || offset < 0 || length < 1 ||
      (size_t)offset + (size_t)length > buf_size)
    return throw_usage(env, "recvFds(fd, buf, offset, length, fds)");
  int32_t *fds = fds_p;
  size_t max_fds = fds_size / 4;
  for (size_t i = 0; i < max_fds; i++) fds[i] = -1;
  union {
    char buf[CMSG_SPACE(RECV_MAX_FDS * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {(uint8_t *)buf + offset, (size_t)length};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t got;
  do got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN) return make_int(env, -1);
    return throw_errno(env, "recvmsg", errno);
  }
  size_t n = 0;
  int overflow = (msg.msg_flags & MSG_CTRUNC) != 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *in = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int got_fd;
      memcpy(&got_fd, in + i, sizeof got_fd);
      if (n < max_fds) {
        fcntl(got_fd, F_SETFL, fcntl(got_fd, F_GETFL) | O_NONBLOCK);
        fds[n++] = got_fd;
      } else {
        close(got_fd);
        overflow = 1;
      }
    }
  }
  if (overflow) {
    for (size_t i = 0; i < n; i++) close(fds[i]), fds[i] = -1;
    return throw_errno(env, "recvmsg: more fds than a message may carry", EMSGSIZE);
  }
  return make_int(env, got);
}

// sendAll(fd, buf, length) -> bytes written (a reply is small: the socket takes it whole, or
// the peer is not reading, which the caller treats as the peer failing).
static napi_value SendAll(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, length;
  void *buf;
  size_t buf_size;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_bytes(env, argv[1], &buf, &buf_size) ||
      !arg_int(env, argv[2], &length) || length < 0 || (size_t)length > buf_size)
    return throw_usage(env, "sendAll(fd, buf, length)");
  ssize_t put;
  do put = send(fd, buf, (size_t)length, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (put < 0 && errno == EINTR);
  if (put < 0) return throw_errno(env, "send", errno);
  return make_int(env, put);
}

// A mapping behind an ArrayBuffer: unmapped once, by unmapShared or, failing that, by the GC.
typedef struct {
  void *base;
  size_t size;
  int unmapped;
} mapping;

static void mapping_finalize(napi_env env, void *data, void *hint) {
  mapping *m = hint;
  if (!m->unmapped) munmap(m->base, m->size);
  free(m);
}

// mapShared(fd, size, offset) -> ArrayBuffer of `size` bytes: the file's bytes from `offset`,
// mapped shared and read-write (QEMU's guest RAM, a memfd). The mapping starts at the page
// below offset, as mmap wants; the ArrayBuffer starts exactly at offset. size and offset come
// as doubles (a region may be larger than 2 GiB).
static napi_value MapShared(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  double size_d, offset_d;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !arg_int(env, argv[0], &fd) || napi_get_value_double(env, argv[1], &size_d) != napi_ok ||
      napi_get_value_double(env, argv[2], &offset_d) != napi_ok || !(size_d >= 1) || !(offset_d >= 0) ||
      size_d > 9007199254740991.0 || offset_d > 9007199254740991.0)
    return throw_usage(env, "mapShared(fd, size, offset)");
  size_t size = (size_t)size_d, offset = (size_t)offset_d;
  // Touching a page past the end of the file would kill tapyard with SIGBUS: the front-end's
  // claim is checked against the file's real size first.
  struct stat st;
  if (fstat(fd, &st) < 0) return throw_errno(env, "fstat", errno);
  if (st.st_size < 0 || offset > (size_t)st.st_size || size > (size_t)st.st_size - offset)
    return throw_errno(env, "mmap past the end of the file", EINVAL);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t skip = offset % page;
  if (size > SIZE_MAX - skip) return throw_errno(env, "mmap", EINVAL);
  void *base = mmap(NULL, size + skip, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(offset - skip));
  if (base == MAP_FAILED) return throw_errno(env, "mmap", errno);
  mapping *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(base, size + skip);
    return throw_errno(env, "allocate mapping", ENOMEM);
  }
  m->base = base;
  m->size = size + skip;
  m->unmapped = 0;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, (uint8_t *)base + skip, size, mapping_finalize, m, &ab) != napi_ok) {
    munmap(base, size + skip);
    free(m);
    return throw_usage(env, "this Node.js cannot make an ArrayBuffer over a mapping");
  }
  // The record rides on the ArrayBuffer, so that unmapShared finds exactly this mapping.
  napi_wrap(env, ab, m, NULL, NULL, NULL);
  return ab;
}

// unmapShared(arrayBuffer): detach it (every view on it becomes empty, so JavaScript can no
// longer reach the memory) and unmap it now.
static napi_value UnmapShared(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ab = false, detached = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return throw_usage(env, "unmapShared(arrayBuffer)");
  if (napi_is_detached_arraybuffer(env, argv[0], &detached) == napi_ok && detached) return undefined(env);
  void *data;
  if (napi_remove_wrap(env, argv[0], &data) != napi_ok) return throw_usage(env, "unmapShared: not a mapping");
  mapping *m = data;
  void *base = m->base;
  size_t size = m->size;
  // Marked first: the finalizer may run inside the detach, and it frees the record.
  m->unmapped = 1;
  napi_detach_arraybuffer(env, argv[0]);
  munmap(base, size);
  return undefined(env);
}

// eventfdRead(fd) -> the counter read (a kick: how many since the last read), 0 if none.
static napi_value EventfdRead(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, &fd, NULL, 1)) return throw_usage(env, "eventfdRead(fd)");
  uint64_t value = 0;
  ssize_t got;
  do got = frame_read(fd, &value, sizeof value);
  while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN) return throw_errno(env, "read eventfd", errno);
  return make_int(env, got == (ssize_t)sizeof value ? (int64_t)(value > INT32_MAX ? INT32_MAX : value) : 0);
}

// eventfdWrite(fd): add one (a call: the guest's interrupt). A full counter (EAGAIN) already
// means "signalled".
static napi_value EventfdWrite(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, &fd, NULL, 1)) return throw_usage(env, "eventfdWrite(fd)");
  uint64_t one = 1;
  ssize_t put;
  do put = frame_write(fd, &one, sizeof one);
  while (put < 0 && errno == EINTR);
  if (put < 0 && errno != EAGAIN) return throw_errno(env, "write eventfd", errno);
  return undefined(env);
}

static void vring_release(napi_env env, vring *v) {
  for (int i = 0; i < v->nrefs; i++) napi_delete_reference(env, v->refs[i]);
  v->nrefs = 0;
  v->open = 0;
}

static void vring_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  vring *v = data;
  vring_release(env, v);
  free(v);
}

#define VRING_USAGE \
  "new VhostRing(cells: Uint32Array(8), regions: Uint8Array[], guestPhys: number[], layout: number[7])"

// new VhostRing(cells, regions, guestPhys, [descRegion, descAt, availRegion, availAt, usedRegion,
// usedAt, size]): a ring over memory JavaScript holds (the mappings, or hand-built arrays in
// tests), checked here again: each table whole inside its region and aligned as virtio says.
static napi_value VhostRingNew(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  void *cells;
  size_t cells_size;
  uint32_t nregions = 0, nphys = 0, nlayout = 0;
  if (argc < 4 || !arg_bytes(env, argv[0], &cells, &cells_size) || cells_size < VC_COUNT * 4 ||
      napi_get_array_length(env, argv[1], &nregions) != napi_ok ||
      napi_get_array_length(env, argv[2], &nphys) != napi_ok ||
      napi_get_array_length(env, argv[3], &nlayout) != napi_ok || nregions > VRING_MAX_REGIONS ||
      nphys != nregions || nlayout != 7)
    return throw_usage(env, VRING_USAGE);
  vring *v = calloc(1, sizeof *v);
  if (v == NULL) return throw_errno(env, "allocate ring", ENOMEM);
  v->cells = cells;
  v->nregions = (int)nregions;
  for (uint32_t i = 0; i < nregions; i++) {
    napi_value region, phys;
    void *data;
    size_t size;
    double gp;
    if (napi_get_element(env, argv[1], i, &region) != napi_ok || !arg_bytes(env, region, &data, &size) ||
        napi_get_element(env, argv[2], i, &phys) != napi_ok || napi_get_value_double(env, phys, &gp) != napi_ok ||
        !(gp >= 0 && gp < 9007199254740992.0)) {
      free(v);
      return throw_usage(env, VRING_USAGE);
    }
    v->regions[i] = (vregion){.base = data, .guest_phys = (uint64_t)gp, .size = size};
  }
  int64_t layout[7];
  for (uint32_t i = 0; i < 7; i++) {
    napi_value x;
    if (napi_get_element(env, argv[3], i, &x) != napi_ok || napi_get_value_int64(env, x, &layout[i]) != napi_ok) {
      free(v);
      return throw_usage(env, VRING_USAGE);
    }
  }
  int64_t size = layout[6];
  // Where each table is: [region, byte offset, bytes it needs, alignment]. Descriptors are read
  // with memcpy; the two indexes atomically, so those rings must be aligned in the mapping.
  const int64_t tables[3][4] = {
      {layout[0], layout[1], 16 * size, 1},
      {layout[2], layout[3], 6 + 2 * size, 2},
      {layout[4], layout[5], 6 + 8 * size, 4},
  };
  uint8_t *at[3];
  int ok = size > 0 && size <= VRING_MAX_SIZE && (size & (size - 1)) == 0;
  for (int t = 0; ok && t < 3; t++) {
    int64_t r = tables[t][0], off = tables[t][1], need = tables[t][2];
    ok = r >= 0 && r < (int64_t)nregions && off >= 0 && (uint64_t)off <= v->regions[r].size &&
         (uint64_t)need <= v->regions[r].size - (uint64_t)off &&
         ((uintptr_t)(v->regions[r].base + off) % (uintptr_t)tables[t][3]) == 0;
    if (ok) at[t] = v->regions[r].base + off;
  }
  if (!ok) {
    free(v);
    return throw_usage(env, "VhostRing: a ring table lies outside its region, is misaligned, or the size is wrong");
  }
  v->desc = at[0];
  v->avail = at[1];
  v->used = at[2];
  v->size = (uint32_t)size;
  napi_create_reference(env, argv[0], 1, &v->refs[v->nrefs++]);
  for (uint32_t i = 0; i < nregions; i++) {
    napi_value region;
    napi_get_element(env, argv[1], i, &region);
    napi_create_reference(env, region, 1, &v->refs[v->nrefs++]);
  }
  v->open = 1;
  napi_wrap(env, self, v, vring_finalize, NULL, NULL);
  return self;
}

static vring *unwrap_vring(napi_env env, napi_value value) {
  void *data;
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_object) return NULL;
  return napi_unwrap(env, value, &data) == napi_ok ? data : NULL;
}

// ring.close(): C stops using the ring's memory (before JavaScript unmaps it, or the ring stops).
static napi_value VhostRingClose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  vring *v = unwrap_vring(env, self);
  if (v == NULL) return throw_usage(env, "ring.close()");
  vring_release(env, v);
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------
// Poller: uv_poll on Node's loop. With a ring set (setRing), readiness to read drains up to a
// budget of frames into it before JavaScript is called, so one call hands over one batch.
// The callback receives (events, errno, count): events has bit 1 for readable and 2 for
// writable; count is the frames now in the ring; errno is non-zero when reading failed or
// libuv reported an error (a deleted tap raises POLLERR: libuv stops the poll and says EBADF,
// and the read behind it says what really happened).

typedef struct {
  uv_poll_t handle;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_ref self;
  napi_ref ring_refs[3];
  rx_ring ring;
  int has_ring;
  splice_to splice;
  // A guest's transmit ring this poller's fd kicks (setRingSource): walked into splice.fd in C.
  struct {
    vring *ring;       // its reference is among splice.refs
    uint8_t *scratch;  // a frame's headers, copied out of the guest's buffers (vr_take_to)
    int budget;
  } source;
  napi_async_context async;
  int active;
  int closing;
} poller;

static void poller_free(uv_handle_t *h) {
  poller *p = h->data;
  free(p);
}

static int splice_on(const poller *p) { return p->splice.fd >= 0 || p->splice.into != NULL; }

// A kick of a ring source: its chains go to the wire from C. Returns whether JavaScript need not
// run: the ring is empty and kicks are on again, or the budget ran out and a kick of our own
// brings the next turn on the loop's next pass (other fds get theirs in between).
static int ring_source_turn(poller *p) {
  vring *v = p->source.ring;
  if (v == NULL || !v->open || p->splice.fd < 0) return 0;
  uint64_t kicks;
  ssize_t got;
  do got = frame_read(p->fd, &kicks, sizeof kicks);
  while (got < 0 && errno == EINTR);
  int outcome = vr_take_to(v, &p->splice, p->source.scratch, p->source.budget);
  if (outcome == 2) {
    uint64_t one = 1;
    ssize_t put;
    do put = frame_write(p->fd, &one, sizeof one);
    while (put < 0 && errno == EINTR);
  }
  return outcome != 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poller *p = h->data;
  if (p->closing) return;
  if (status >= 0 && events == UV_READABLE && p->source.ring != NULL && ring_source_turn(p)) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[3], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_reference_value(env, p->self, &recv);
  int ev = ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
  int err = status < 0 ? -status : 0, count = 0;
  if (status < 0) p->active = 0;  // libuv stopped the handle
  int spliced = p->has_ring && splice_on(p) && status >= 0;
  if (p->has_ring && (ev & 1 || status < 0)) {
    int read_err;
    count = spliced ? splice_batch(p->fd, &p->ring, &p->splice, &read_err) : read_batch(p->fd, &p->ring, &read_err);
    if (read_err) err = read_err;
  }
  // The splice wrote every frame of this turn: nothing for JavaScript to do.
  if (spliced && ev == 1 && count == 0 && err == 0) {
    napi_close_handle_scope(env, scope);
    return;
  }
  napi_create_int32(env, ev, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  napi_create_int32(env, count, &argv[2]);
  // make_callback, not call_function: it drains the microtask queue and keeps async hooks right.
  napi_status s = napi_make_callback(env, p->async, recv, cb, 3, argv, &result);
  if (s == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller *p = data;
  if (!p->closing) {
    p->closing = 1;
    uv_close((uv_handle_t *)&p->handle, poller_free);
  }
}

static poller *unwrap_poller(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok) return NULL;
  return data;
}

// new Poller(fd, callback)
static napi_value PollerNew(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  int32_t fd;
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t;
  if (argc < 2 || !arg_int(env, argv[0], &fd) || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
    return throw_usage(env, "new Poller(fd, callback)");
  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, "allocate poller", ENOMEM);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    return throw_errno(env, "uv_poll_init", -r);
  }
  p->handle.data = p;
  p->fd = fd;
  p->splice.fd = -1;
  p->env = env;
  napi_create_reference(env, argv[1], 1, &p->callback);
  napi_value name;
  napi_create_string_utf8(env, "tapyard.poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, self, name, &p->async);
  napi_wrap(env, self, p, poller_finalize, NULL, NULL);
  // Weak: the JS object holds the poller; while it is active, `self` must stay alive for the callback.
  napi_create_reference(env, self, 0, &p->self);
  return self;
}

// poller.start(readable, writable): (re)arm with exactly these events; both false stops.
static napi_value PollerStart(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  poller *p = unwrap_poller(env, info, &argc, argv);
  bool rd = false, wr = false;
  if (p == NULL || argc < 2 || napi_get_value_bool(env, argv[0], &rd) != napi_ok ||
      napi_get_value_bool(env, argv[1], &wr) != napi_ok)
    return throw_usage(env, "poller.start(readable, writable)");
  if (p->closing) return throw_usage(env, "poller is closed");
  int events = (rd ? UV_READABLE : 0) | (wr ? UV_WRITABLE : 0);
  int r = events ? uv_poll_start(&p->handle, events, on_poll) : uv_poll_stop(&p->handle);
  if (r < 0) return throw_errno(env, "uv_poll_start", -r);
  // An active poll keeps the process alive and its JS object reachable; a stopped one neither.
  if (events && !p->active) napi_reference_ref(env, p->self, NULL);
  if (!events && p->active) napi_reference_unref(env, p->self, NULL);
  p->active = events != 0;
  return undefined(env);
}

// poller.setRing(ring, offsets, lengths, hdrLen, headroom, budget): where readable batches go.
static napi_value PollerSetRing(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  poller *p = unwrap_poller(env, info, &argc, argv);
  rx_ring r;
  if (p == NULL || argc < 6 || !arg_ring(env, argv, &r))
    return throw_usage(env, "poller.setRing(ring, offsets, lengths, hdrLen, headroom, budget)");
  for (int i = 0; i < 3; i++) {
    if (p->has_ring) napi_delete_reference(env, p->ring_refs[i]);
    napi_create_reference(env, argv[i], 1, &p->ring_refs[i]);  // C keeps raw pointers into them
  }
  p->ring = r;
  p->has_ring = 1;
  return undefined(env);
}

#define SPLICE_USAGE \
  "poller.setSplice(egressFd, maxFrame, stats, egressStats[, egressGuard[, egressFilter]]) or poller.setSplice(-1)"

static void splice_release(napi_env env, poller *p) {
  for (size_t i = 0; i < sizeof p->splice.refs / sizeof p->splice.refs[0]; i++)
    if (p->splice.refs[i] != NULL) napi_delete_reference(env, p->splice.refs[i]);
  free(p->source.scratch);
  memset(&p->splice, 0, sizeof p->splice);
  memset(&p->source, 0, sizeof p->source);
  p->splice.fd = -1;
}

// A reference to what a raw pointer of the splice points into, for as long as it is set.
static void splice_keep(napi_env env, poller *p, napi_value value) {
  for (size_t i = 0; i < sizeof p->splice.refs / sizeof p->splice.refs[0]; i++)
    if (p->splice.refs[i] == NULL) {
      napi_create_reference(env, value, 1, &p->splice.refs[i]);
      return;
    }
}

// An optional Uint8Array of at least `min` bytes at argv[i]: 1 with *out set (NULL when absent).
static int arg_optional_cell(napi_env env, napi_value *argv, size_t argc, size_t i, size_t min, void **out) {
  napi_valuetype t = napi_undefined;
  *out = NULL;
  if (argc > i) napi_typeof(env, argv[i], &t);
  if (t == napi_undefined || t == napi_null) return 1;
  size_t size;
  return arg_bytes(env, argv[i], out, &size) && size >= min;
}

// The counters of a splice, argv[at] and argv[at + 1] (Float64Array(5) each: this port's and the
// egress's), and the egress's receive filter at argv[filter_at] if there is one.
static int splice_set_counts(napi_env env, poller *p, napi_value *argv, size_t argc, size_t at, size_t filter_at) {
  void *in_stats, *out_stats, *filter;
  size_t in_size, out_size;
  if (argc < at + 2 || !arg_bytes(env, argv[at], &in_stats, &in_size) || in_size < 5 * sizeof(double) ||
      !arg_bytes(env, argv[at + 1], &out_stats, &out_size) || out_size < 5 * sizeof(double) ||
      !arg_optional_cell(env, argv, argc, filter_at, 7, &filter))
    return 0;
  splice_keep(env, p, argv[at]);
  splice_keep(env, p, argv[at + 1]);
  if (filter != NULL) splice_keep(env, p, argv[filter_at]);
  p->splice.in_stats = in_stats;
  p->splice.out_stats = out_stats;
  p->splice.filter = filter;
  return 1;
}

// An fd egress at argv[at..]: (egressFd, maxFrame, stats, egressStats[, egressGuard[, egressFilter]]).
static int splice_set_egress(napi_env env, poller *p, napi_value *argv, size_t argc, size_t at) {
  int32_t fd;
  void *max_frame, *guard;
  size_t max_size;
  if (argc < at + 4 || !arg_int(env, argv[at], &fd) || fd < 0 || !arg_bytes(env, argv[at + 1], &max_frame, &max_size) ||
      max_size < 4 || !arg_optional_cell(env, argv, argc, at + 4, 7, &guard) ||
      !splice_set_counts(env, p, argv, argc, at + 2, at + 5))
    return 0;
  splice_keep(env, p, argv[at + 1]);
  if (guard != NULL) splice_keep(env, p, argv[at + 4]);
  p->splice.max_frame = max_frame;
  p->splice.guard = guard;
  p->splice.fd = fd;
  return 1;
}

// poller.setSplice(egressFd, maxFrame: Int32Array(1), stats: Float64Array(5), egressStats
// [, egressGuard: Uint8Array(8)[, egressFilter: Uint8Array(8)]]) or poller.setSplice(-1): write
// plain frames to egressFd from C (see Splice above), or stop any splice. setRing must come first.
static napi_value PollerSetSplice(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  poller *p = unwrap_poller(env, info, &argc, argv);
  int32_t fd;
  if (p == NULL || argc < 1 || !arg_int(env, argv[0], &fd)) return throw_usage(env, SPLICE_USAGE);
  splice_release(env, p);
  if (fd < 0) return undefined(env);
  if (!p->has_ring || !splice_set_egress(env, p, argv, argc, 0)) {
    splice_release(env, p);
    return throw_usage(env, SPLICE_USAGE);
  }
  return undefined(env);
}

#define INTO_RING_USAGE "poller.spliceIntoRing(ring, stats, egressStats[, egressFilter])"

// poller.spliceIntoRing(ring: VhostRing, stats, egressStats[, egressFilter]): the plain
// cross-connect's other kind of egress, a guest's receive ring (vr_give), counted as setSplice
// counts. setSplice(-1) stops it.
static napi_value PollerSpliceIntoRing(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  poller *p = unwrap_poller(env, info, &argc, argv);
  vring *v = p == NULL || argc < 3 ? NULL : unwrap_vring(env, argv[0]);
  if (v == NULL || !p->has_ring) return throw_usage(env, INTO_RING_USAGE);
  splice_release(env, p);
  if (!splice_set_counts(env, p, argv, argc, 1, 3)) {
    splice_release(env, p);
    return throw_usage(env, INTO_RING_USAGE);
  }
  splice_keep(env, p, argv[0]);
  p->splice.into = v;
  return undefined(env);
}

#define RING_SOURCE_USAGE \
  "poller.setRingSource(ring, budget, egressFd, maxFrame, stats, egressStats[, egressGuard[, egressFilter]])"

// poller.setRingSource(ring: VhostRing, budget, egressFd, maxFrame, stats, egressStats
// [, egressGuard[, egressFilter]]): this poller's fd is the kick of a guest's transmit ring; each
// kick walks up to `budget` chains into egressFd from C (vr_take_to), counted, guarded and
// filtered as setSplice does. setSplice(-1) stops it.
static napi_value PollerSetRingSource(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  poller *p = unwrap_poller(env, info, &argc, argv);
  vring *v = p == NULL || argc < 6 ? NULL : unwrap_vring(env, argv[0]);
  int32_t budget;
  if (v == NULL || !arg_int(env, argv[1], &budget) || budget < 1) return throw_usage(env, RING_SOURCE_USAGE);
  splice_release(env, p);
  uint8_t *scratch = malloc(TX_SCRATCH);
  if (scratch == NULL) return throw_errno(env, "allocate ring source", ENOMEM);
  p->source.scratch = scratch;
  if (!splice_set_egress(env, p, argv, argc, 2)) {
    splice_release(env, p);
    return throw_usage(env, RING_SOURCE_USAGE);
  }
  splice_keep(env, p, argv[0]);
  p->source.ring = v;
  p->source.budget = budget;
  return undefined(env);
}

// poller.close(): stop for good. The fd itself is closed by the caller afterwards.
static napi_value PollerClose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller *p = unwrap_poller(env, info, &argc, NULL);
  if (p == NULL) return throw_usage(env, "poller.close()");
  if (p->closing) return undefined(env);
  if (p->active) {
    uv_poll_stop(&p->handle);
    napi_reference_unref(env, p->self, NULL);
    p->active = 0;
  }
  p->closing = 1;
  napi_async_destroy(env, p->async);
  napi_delete_reference(env, p->callback);
  napi_delete_reference(env, p->self);
  if (p->has_ring)
    for (int i = 0; i < 3; i++) napi_delete_reference(env, p->ring_refs[i]);
  p->has_ring = 0;
  splice_release(env, p);
  napi_value self;
  napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
  void *unused;
  napi_remove_wrap(env, self, &unused);
  uv_close((uv_handle_t *)&p->handle, poller_free);
  return undefined(env);
}

// ---------------------------------------------------------------------------------------------

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"openMacvtap", NULL, OpenMacvtap, NULL, NULL, NULL, napi_default, NULL},
      {"attachTap", NULL, AttachTap, NULL, NULL, NULL, napi_default, NULL},
      {"packetSocket", NULL, PacketSocket, NULL, NULL, NULL, napi_default, NULL},
      {"unixDgram", NULL, UnixDgram, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"parentDeathSignal", NULL, ParentDeathSignal, NULL, NULL, NULL, napi_default, NULL},
      {"peerUid", NULL, PeerUid, NULL, NULL, NULL, napi_default, NULL},
      {"ignoreRealtimeSignals", NULL, IgnoreRealtimeSignals, NULL, NULL, NULL, napi_default, NULL},
      {"tunGetIff", NULL, TunGetIff, NULL, NULL, NULL, napi_default, NULL},
      {"tunSetOffload", NULL, TunSetOffload, NULL, NULL, NULL, napi_default, NULL},
      {"tunSetVnetHdrSz", NULL, TunSetVnetHdrSz, NULL, NULL, NULL, napi_default, NULL},
      {"hwaddr", NULL, Hwaddr, NULL, NULL, NULL, napi_default, NULL},
      {"ifMtu", NULL, IfMtu, NULL, NULL, NULL, napi_default, NULL},
      {"nsSocket", NULL, NsSocket, NULL, NULL, NULL, napi_default, NULL},
      {"ifStateAt", NULL, IfStateAt, NULL, NULL, NULL, napi_default, NULL},
      {"nsOpenRead", NULL, NsOpenRead, NULL, NULL, NULL, napi_default, NULL},
      {"rtnlSubscribe", NULL, RtnlSubscribe, NULL, NULL, NULL, napi_default, NULL},
      {"readBatch", NULL, ReadBatch, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, WriteBatch, NULL, NULL, NULL, napi_default, NULL},
      {"unixListen", NULL, UnixListen, NULL, NULL, NULL, napi_default, NULL},
      {"unixConnect", NULL, UnixConnect, NULL, NULL, NULL, napi_default, NULL},
      {"acceptConn", NULL, AcceptConn, NULL, NULL, NULL, napi_default, NULL},
      {"recvFds", NULL, RecvFds, NULL, NULL, NULL, napi_default, NULL},
      {"sendAll", NULL, SendAll, NULL, NULL, NULL, napi_default, NULL},
      {"mapShared", NULL, MapShared, NULL, NULL, NULL, napi_default, NULL},
      {"unmapShared", NULL, UnmapShared, NULL, NULL, NULL, napi_default, NULL},
      {"eventfdRead", NULL, EventfdRead, NULL, NULL, NULL, napi_default, NULL},
      {"eventfdWrite", NULL, EventfdWrite, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);

  napi_property_descriptor methods[] = {
      {"start", NULL, PollerStart, NULL, NULL, NULL, napi_default, NULL},
      {"setRing", NULL, PollerSetRing, NULL, NULL, NULL, napi_default, NULL},
      {"setSplice", NULL, PollerSetSplice, NULL, NULL, NULL, napi_default, NULL},
      {"spliceIntoRing", NULL, PollerSpliceIntoRing, NULL, NULL, NULL, napi_default, NULL},
      {"setRingSource", NULL, PollerSetRingSource, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, PollerClose, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  size_t n_methods = sizeof methods / sizeof methods[0];
  napi_define_class(env, "Poller", NAPI_AUTO_LENGTH, PollerNew, NULL, n_methods, methods, &cls);
  napi_set_named_property(env, exports, "Poller", cls);

  napi_property_descriptor ring_methods[] = {
      {"close", NULL, VhostRingClose, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ring_cls;
  napi_define_class(env, "VhostRing", NAPI_AUTO_LENGTH, VhostRingNew, NULL, 1, ring_methods, &ring_cls);
  napi_set_named_property(env, exports, "VhostRing", ring_cls);
  return exports;
}

// Context-aware: every worker thread of `forward --queues N` loads the addon into its own env.
// Nothing here is global: a poller holds its env, its handle lives on that env's own loop,
// and netns_enter moves only the calling thread (/proc/thread-self), so queues do not meet.
NAPI_MODULE_INIT() { return Init(env, exports); }
