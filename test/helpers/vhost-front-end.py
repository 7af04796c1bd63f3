#!/usr/bin/env python3
# A hostile vhost-user front-end for the fuzz tests (test/e2e/vhost-user.test.ts): it does what QEMU does
# (features, a memfd as guest memory over SCM_RIGHTS, two rings with their eventfds) and then plays a
# guest that writes random descriptor tables and rings into that memory and kicks, with random protocol
# messages in between. Python because Node cannot send fds over a unix socket.
#
#   vhost-front-end.py SOCKET CONNECTIONS STATES SEED     prints "states N replies N closed N"
#
# Or a guest whose rings are right but whose virtio-net headers are not: with the offloads negotiated,
# COUNT well-formed transmit chains toward DST_MAC, each with random and absurd header fields.
#
#   vhost-front-end.py SOCKET headers COUNT SEED DST_MAC [nokick]  prints "chains N used N"
#
# With nokick the guest never kicks: only a back-end that polls its rings (--busy-poll) takes the chains.

import mmap
import os
import random
import socket
import struct
import sys
import time

path, headers = sys.argv[1], sys.argv[2] == "headers"
kicking = not (headers and sys.argv[6:7] == ["nokick"])
connections = 1 if headers else int(sys.argv[2])
states, seed = int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
# With headers, room for SLOTS chains of a 64 KiB frame each behind the rings.
MEM = 1 << 22 if headers else 1 << 20
GPA = 0x100000
UVA = 0x7F0000000000
NUM = 64
RINGS = [(0x0000, 0x1000, 0x2000), (0x4000, 0x5000, 0x6000)]  # desc, avail, used of queues 0 and 1
counts = {"states": 0, "replies": 0, "closed": 0}


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def send(s, request, payload=b"", fds=(), need_reply=False):
    data = struct.pack("<III", request, 1 | (8 if need_reply else 0), len(payload)) + payload
    if fds:
        socket.send_fds(s, [data], list(fds))
    else:
        s.sendall(data)


def reply(s):
    _, _, size = struct.unpack("<III", recv_exact(s, 12))
    counts["replies"] += 1
    return recv_exact(s, size)


# CSUM, GUEST_CSUM, GUEST_TSO4/6, HOST_TSO4/6, PROTOCOL_FEATURES, VERSION_1: a 12-byte header.
OFFLOADS = (1 << 0) | (1 << 1) | (1 << 7) | (1 << 8) | (1 << 11) | (1 << 12) | (1 << 30) | (1 << 32)


def setup(s, memfd):
    send(s, 1)
    offered = struct.unpack("<Q", reply(s))[0]
    if headers:
        features = offered & OFFLOADS
        if features != OFFLOADS:
            sys.exit(f"the back-end offers 0x{offered:x}, without the offloads")
    else:
        features = offered & rnd.getrandbits(64) | (offered & (1 << 30))
    send(s, 2, struct.pack("<Q", features))
    send(s, 15)
    reply(s)
    send(s, 16, struct.pack("<Q", 1 << 3))
    send(s, 3)
    send(s, 5, struct.pack("<IIQQQQ", 1, 0, GPA, MEM, UVA, 0), [memfd], need_reply=True)
    reply(s)
    kicks = []
    for index, (desc, avail, used) in enumerate(RINGS):
        send(s, 8, struct.pack("<II", index, NUM))
        send(s, 9, struct.pack("<IIQQQQ", index, 0, UVA + desc, UVA + used, UVA + avail, 0))
        send(s, 10, struct.pack("<II", index, 0))
        kick, call = os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)
        send(s, 12, struct.pack("<Q", index), [kick])
        send(s, 13, struct.pack("<Q", index), [call])
        send(s, 18, struct.pack("<II", index, 1))
        kicks.append((kick, call))
    return kicks


def scramble(mem):
    """One random guest state: descriptors mostly near the memory, rings with random heads and indexes."""
    for index, (desc, avail, _) in enumerate(RINGS):
        for i in range(NUM):
            addr = GPA + rnd.randrange(-0x2000, MEM + 0x2000) if rnd.random() < 0.9 else rnd.getrandbits(64)
            length = rnd.choice([0, 1, 12, 14, 60, 1500, 4096, 70000, 0xFFFFFFFF, rnd.getrandbits(32)])
            flags = rnd.getrandbits(3) | (2 if index == 0 and rnd.random() < 0.8 else 0)
            entry = struct.pack("<QIHH", addr % (1 << 64), length, flags, rnd.randrange(NUM + 4))
            mem[desc + 16 * i : desc + 16 * i + 16] = entry
        # Mostly a few more chains made available; now and then an index or a head no ring can have
        # (which stops the ring until the next connection sets it up again).
        idx = struct.unpack_from("<H", mem, avail + 2)[0] + rnd.randrange(8)
        if rnd.random() < 0.002:
            idx = rnd.randrange(1 << 16)
        struct.pack_into("<HH", mem, avail, rnd.getrandbits(1), idx % (1 << 16))
        for i in range(NUM):
            head = rnd.randrange(NUM) if rnd.random() < 0.999 else rnd.randrange(1 << 16)
            struct.pack_into("<H", mem, avail + 4 + 2 * i, head)


DATA, SLOT, SLOTS = 0x10000, 0x10100, 32


def absurd():
    """A value for hdr_len, gso_size, csum_start or csum_offset: sane now and then, mostly not."""
    return rnd.choice([0, 1, 12, 14, 34, 54, 1448, 0x7FFF, 0xFFFE, 0xFFFF, rnd.getrandbits(16)])


def chain_frame(dst):
    """A TCP segment over IPv4 or IPv6, of a random size, and a virtio-net header for it."""
    size = rnd.choice([0, 1, 20, 1400, 1460, 4000, 9000, 20000, 65000, rnd.randrange(65000)])
    tcp = struct.pack("!HHIIBBHHH", 40000, 5001, rnd.getrandbits(32), 0, 0x50, 0x18, 65535, 0, 0)
    if rnd.random() < 0.5:
        l3 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, (20 + 20 + size) & 0xFFFF, 1, 0, 64, 6, 0,
                         bytes([10, 77, 0, 2]), bytes([10, 77, 0, 1]))
        ethertype, gso, start = 0x0800, 1, 34
    else:
        l3 = struct.pack("!IHBB16s16s", 0x60000000, (20 + size) & 0xFFFF, 6, 64,
                         bytes(15) + b"\x02", bytes(15) + b"\x01")
        ethertype, gso, start = 0x86DD, 4, 54
    frame = dst + bytes([2, 0, 0, 0, 0, 0x99]) + struct.pack("!H", ethertype) + l3 + tcp + bytes(size)
    if rnd.random() < 0.2:
        # What a guest's driver writes: the checksum and segmentation asked for where they are.
        flags, gso_type = 1, gso if size > 1460 else 0
        fields = (start + 20, 1448 if gso_type else 0, start, 16)
    else:
        flags = rnd.choice([0, 1, 2, 3, 4, 0xFF])
        gso_type = rnd.choice([0, 1, 3, 4, 5, 0x80, 0x81, 0x84, 0xFF])
        fields = (absurd(), absurd(), absurd(), absurd())
    header = struct.pack("<BBHHHHH", flags, gso_type, *fields, rnd.getrandbits(16))
    return header + frame


def send_headers(s, view, kicks, dst):
    """COUNT chains on the transmit queue, SLOTS at a time, each waited for in the used ring."""
    desc, avail, used = RINGS[1]
    kick = kicks[1][0]
    idx = done = 0
    while done < states:
        batch = min(SLOTS, states - done)
        for slot in range(batch):
            chain = chain_frame(dst)
            at = DATA + slot * SLOT
            view[at : at + len(chain)] = chain
            # One descriptor, or the header and the frame in two (both are what drivers do).
            if rnd.random() < 0.5:
                view[desc + 32 * slot : desc + 32 * slot + 16] = struct.pack("<QIHH", GPA + at, len(chain), 0, 0)
            else:
                view[desc + 32 * slot : desc + 32 * slot + 32] = struct.pack(
                    "<QIHHQIHH", GPA + at, 12, 1, 2 * slot + 1, GPA + at + 12, len(chain) - 12, 0, 0
                )
            struct.pack_into("<H", view, avail + 4 + 2 * ((idx + slot) % NUM), 2 * slot)
        idx = (idx + batch) % (1 << 16)
        struct.pack_into("<H", view, avail + 2, idx)
        if kicking:
            os.eventfd_write(kick, 1)
        deadline = time.monotonic() + 10
        while struct.unpack_from("<H", view, used + 2)[0] != idx and time.monotonic() < deadline:
            time.sleep(0.001)
        got = (struct.unpack_from("<H", view, used + 2)[0] - (idx - batch)) % (1 << 16)
        counts["chains"] = counts.get("chains", 0) + batch
        counts["used"] = counts.get("used", 0) + got
        if got != batch:
            break
        done += batch


for _ in range(connections):
    memfd = os.memfd_create("guest", 0)
    os.ftruncate(memfd, MEM)
    view = mmap.mmap(memfd, MEM)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        kicks = setup(s, memfd)
        if headers:
            send_headers(s, view, kicks, bytes.fromhex(sys.argv[5].replace(":", "")))
        for _ in range(0 if headers else states):
            scramble(view)
            counts["states"] += 1
            for kick, _ in kicks:
                os.eventfd_write(kick, 1)
            if rnd.random() < 0.05:
                # A random message: any request number, any payload (no fds).
                send(s, rnd.randrange(40), os.urandom(rnd.choice([0, 4, 8, 40, 300])))
            time.sleep(0.0005)
    except (ConnectionError, BrokenPipeError, ConnectionResetError):
        counts["closed"] += 1
    s.close()
    view.close()
    os.close(memfd)
if headers:
    print(f"chains {counts.get('chains', 0)} used {counts.get('used', 0)}")
else:
    print(f"states {counts['states']} replies {counts['replies']} closed {counts['closed']}")
