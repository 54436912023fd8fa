#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A hostile SFTP (version 3) server on stdin/stdout for test_cp_tree.py,
run as the Subsystem: ROOT/d is a directory whose listing holds ".", "..",
"../escaped" (a file), "a/b" (a directory), "" and "good" (a file). Any
file opened reads "good\\n", so a client that followed a bad name would
write outside its target."""

import struct
import sys

ROOT = sys.argv[1]
DATA = b"good\n"
F_SIZE, F_PERM, F_TIMES = 0x1, 0x4, 0x8


def s(b):
    return struct.pack(">I", len(b)) + b


def attrs(kind):
    if kind == "dir":
        return struct.pack(">IIII", F_PERM | F_TIMES, 0o40755, 0, 0)
    return struct.pack(">IQIII", F_SIZE | F_PERM | F_TIMES, len(DATA), 0o100644, 0, 0)


def send(t, body):
    sys.stdout.buffer.write(struct.pack(">IB", len(body) + 1, t) + body)
    sys.stdout.buffer.flush()


def status(rid, code):
    send(101, struct.pack(">II", rid, code) + s(b"") + s(b""))


def read_exact(n):
    b = b""
    while len(b) < n:
        c = sys.stdin.buffer.read(n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b


def main():
    d = (ROOT.rstrip("/") + "/d").encode()
    listed = False
    while True:
        n, = struct.unpack(">I", read_exact(4))
        p = read_exact(n)
        t = p[0]
        if t == 1:                                    # INIT
            send(2, struct.pack(">I", 3))
            continue
        rid, = struct.unpack(">I", p[1:5])
        rest = p[5:]
        arg = rest[4:4 + struct.unpack(">I", rest[:4])[0]] if len(rest) >= 4 else b""
        if t in (7, 17):                              # LSTAT, STAT
            if arg.rstrip(b"/") == d:
                send(105, struct.pack(">I", rid) + attrs("dir"))
            elif arg.startswith(d + b"/"):
                send(105, struct.pack(">I", rid) + attrs("file"))
            else:
                status(rid, 2)
        elif t == 16:                                 # REALPATH
            send(104, struct.pack(">II", rid, 1) + s(arg) + s(arg) + struct.pack(">I", 0))
        elif t == 11:                                 # OPENDIR
            listed = False
            send(102, struct.pack(">I", rid) + s(b"D"))
        elif t == 12:                                 # READDIR
            if listed:
                status(rid, 1)
                continue
            listed = True
            # "." and ".." as files: a client that took them would fail to
            # open them, not climb out of its target.
            names = [(b".", "file"), (b"..", "file"), (b"../escaped", "file"),
                     (b"a/b", "dir"), (b"", "file"), (b"good", "file")]
            body = struct.pack(">II", rid, len(names))
            for nm, kind in names:
                body += s(nm) + s(nm) + attrs(kind)
            send(104, body)
        elif t == 3:                                  # OPEN
            send(102, struct.pack(">I", rid) + s(b"F"))
        elif t == 5:                                  # READ
            off, ln = struct.unpack(">QI", rest[4 + 1:4 + 1 + 12])
            if off >= len(DATA):
                status(rid, 1)
            else:
                send(103, struct.pack(">I", rid) + s(DATA[off:off + ln]))
        elif t in (4, 6, 9, 10, 14):                  # CLOSE, WRITE, SETSTAT, FSETSTAT, MKDIR
            status(rid, 0)
        else:
            status(rid, 8)


if __name__ == "__main__":
    main()
