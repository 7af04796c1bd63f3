#!/usr/bin/env python3
# A hostile vhost-user front-end for the fuzz test (test/e2e/vhost-user.test.ts): it does what QEMU does
# (features, a memfd as guest memory over SCM_RIGHTS, two rings with their eventfds) and then plays a
# guest that writes random descriptor tables and rings into that memory and kicks, with random protocol
# messages in between. Python because Node cannot send fds over a unix socket.
#
#   vhost-front-end.py SOCKET CONNECTIONS STATES SEED     prints "states N replies N closed N"

import mmap
import os
import random
import socket
import struct
import sys
import time

path, connections, states, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
MEM = 1 << 20
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


def setup(s, memfd):
    send(s, 1)
    offered = struct.unpack("<Q", reply(s))[0]
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


for _ in range(connections):
    memfd = os.memfd_create("guest", 0)
    os.ftruncate(memfd, MEM)
    view = mmap.mmap(memfd, MEM)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        kicks = setup(s, memfd)
        for _ in range(states):
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
print(f"states {counts['states']} replies {counts['replies']} closed {counts['closed']}")
