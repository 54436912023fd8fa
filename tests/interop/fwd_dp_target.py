#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Forwarding targets for test_forward_dp.py, run inside the data plane's
network namespace (ip netns exec): listens on ADDR:PORT and serves each
connection by MODE, printing one line per finished connection on stdout.

  sink    reads to EOF, answers "<sha256> <bytes>\\n", closes
  source  reads an 8-byte big-endian count, sends that many random bytes
          (reading on to EOF meanwhile: the peer may half-close first),
          closes, prints "<sha256> <bytes>"
  echo    echoes to EOF, closes
  reset   reads 1 KiB, sends 64 KiB, then closes with SO_LINGER 0 (RST)

"ready" is printed once listening."""

import hashlib
import os
import socket
import struct
import sys
import threading


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            break
        b += d
    return b


def sink(s):
    hs, n = hashlib.sha256(), 0
    while True:
        d = s.recv(1 << 18)
        if not d:
            break
        hs.update(d)
        n += len(d)
    s.sendall(("%s %d\n" % (hs.hexdigest(), n)).encode())
    return "%s %d" % (hs.hexdigest(), n)


def source(s):
    (left,) = struct.unpack(">Q", recv_exact(s, 8))
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(65536), b"")],
                             daemon=True)
    drain.start()
    hs, n = hashlib.sha256(), 0
    blk = os.urandom(1 << 20)
    while left:
        d = blk[:min(left, len(blk))]
        blk = blk[1:] + blk[:1]     # not the same block twice in a row
        s.sendall(d)
        hs.update(d)
        n += len(d)
        left -= len(d)
    return "%s %d" % (hs.hexdigest(), n)


def echo(s):
    n = 0
    while True:
        d = s.recv(65536)
        if not d:
            return "echo %d" % n
        s.sendall(d)
        n += len(d)


def reset(s):
    recv_exact(s, 1024)
    s.sendall(b"r" * 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return "reset"


def main():
    addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fn = {"sink": sink, "source": source, "echo": echo, "reset": reset}[mode]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(256)
    lock = threading.Lock()
    print("ready", flush=True)

    def serve(c):
        try:
            line = fn(c)
        except OSError as e:
            line = "error %s" % e
        finally:
            c.close()
        with lock:
            print(line, flush=True)

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
