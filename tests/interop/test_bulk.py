#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bulk data: --size bytes (default 1 GiB) up with `cat > f` and back with
`cat f`, byte-exact by sha256, with the server's RekeyLimit small enough that
it rekeys many times in each direction (counted in the client's `ssh -vv`
output: every server-started rekey is one "SSH2_MSG_KEXINIT received").

--client-rekey SIZE: the other way round.  The server has no RekeyLimit (its
default, 1 GiB, is not reached) and the client `-o RekeyLimit=SIZE`; every
rekey must then be one the client started: its "SSH2_MSG_KEXINIT sent" comes
while no exchange is running, before the server's KEXINIT is received."""

import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time

import dssh_harness as h


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s)
    if not m:
        raise ValueError("bad size %r" % s)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def kexinit_received(path):
    with open(path, errors="replace") as f:
        return sum(1 for ln in f if ln.rstrip("\n") == "debug1: SSH2_MSG_KEXINIT received")


def kex_starters(path):
    """Who started each key exchange in an `ssh -vv` log, in order ("client"
    or "server"): the side whose KEXINIT comes first.  An exchange ends when
    NEWKEYS went both ways."""
    out = []
    state = None        # None, or the NEWKEYS lines seen in this exchange
    with open(path, errors="replace") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln in ("debug1: SSH2_MSG_KEXINIT sent",
                      "debug1: SSH2_MSG_KEXINIT received") and state is None:
                out.append("client" if ln.endswith("sent") else "server")
                state = set()
            elif ln in ("debug1: SSH2_MSG_NEWKEYS sent",
                        "debug1: SSH2_MSG_NEWKEYS received") and state is not None:
                state.add(ln)
                if len(state) == 2:
                    state = None
    return out


CLIENT_REKEY = None     # --client-rekey: the client's RekeyLimit


def ssh_popen(srv, env, command, logfile, cipher, **kw):
    opts = ["Ciphers=" + cipher]
    if CLIENT_REKEY:
        opts.append("RekeyLimit=" + CLIENT_REKEY)
    argv = h.ssh_argv(srv, env, verbose=2, logfile=logfile, command=command,
                      opts=opts)
    return subprocess.Popen(argv, start_new_session=True, **kw)


def upload(srv, env, tmp, size, cipher, remote):
    logfile = os.path.join(tmp, "up-%s.log" % cipher)
    p = ssh_popen(srv, env, "cat > %s" % remote, logfile, cipher,
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hsh = hashlib.sha256()
    out = {}

    def reader():
        out["stdout"] = p.stdout.read()
        out["stderr"] = p.stderr.read()
    t = threading.Thread(target=reader)
    t.start()
    left = size
    t0 = time.time()
    try:
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            hsh.update(chunk)
            p.stdin.write(chunk)
            left -= len(chunk)
        p.stdin.close()
    except BrokenPipeError:
        pass
    try:
        rc = p.wait(timeout=1200)
    finally:
        if p.poll() is None:
            p.kill()
    t.join()
    dt = time.time() - t0
    if left or rc != 0 or out["stdout"] or out["stderr"]:
        raise h.TestFailure("upload: %d bytes not sent, exit %d, stdout %r, stderr %r; "
                            "ssh -vv tail:\n%s" % (left, rc, out["stdout"][-300:],
                                                   out["stderr"][-500:],
                                                   open(logfile, errors="replace").read()[-2000:]))
    h.log("upload %s: %d MiB in %.1fs (%.0f MiB/s)"
          % (cipher, size >> 20, dt, (size >> 20) / max(dt, 1e-3)))
    return hsh.hexdigest(), logfile


def download(srv, env, tmp, cipher, remote):
    logfile = os.path.join(tmp, "down-%s.log" % cipher)
    p = ssh_popen(srv, env, "cat %s" % remote, logfile, cipher,
                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hsh = hashlib.sha256()
    n = 0
    t0 = time.time()
    err = {}
    t = threading.Thread(target=lambda: err.setdefault("e", p.stderr.read()))
    t.start()
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        hsh.update(chunk)
        n += len(chunk)
    try:
        rc = p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    t.join()
    dt = time.time() - t0
    if rc != 0 or err["e"]:
        raise h.TestFailure("download: exit %d, stderr %r" % (rc, err["e"][-500:]))
    h.log("download %s: %d MiB in %.1fs (%.0f MiB/s)"
          % (cipher, n >> 20, dt, (n >> 20) / max(dt, 1e-3)))
    return hsh.hexdigest(), n, logfile


def body(args, env):
    global CLIENT_REKEY
    CLIENT_REKEY = args.client_rekey
    size = parse_size(args.size)
    limit = parse_size(args.client_rekey or args.rekey)
    if size < 2 * limit:
        raise h.TestFailure("--size must be at least twice the rekey limit to see rekeying")
    min_rekeys = size // limit // 2
    if args.client_rekey:
        min_rekeys = max(min_rekeys, 2)     # more than one client-started rekey
    remote = "%s/dssh-bulk-%d.bin" % (env.user.pw_dir, os.getpid())
    res = h.Results()
    with h.Server(args.server, args.kind, name="bulk",
                  rekey=None if args.client_rekey else args.rekey) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        res.server = srv

        def one(cipher):
            try:
                up_hash, up_log = upload(srv, env, tmp, size, cipher, remote)
                r = h.ssh_run(srv, env, "stat -c %%s %s; sha256sum < %s" % (remote, remote))
                h.check_eq(r.returncode, 0, "remote stat/sha256sum exit")
                h.check_eq(r.stdout, ("%d\n%s  -\n" % (size, up_hash)).encode(),
                           "remote size and sha256")
                down_hash, n, down_log = download(srv, env, tmp, cipher, remote)
                h.check_eq(n, size, "bytes downloaded")
                h.check_eq(down_hash, up_hash, "sha256 of downloaded data")
                if args.client_rekey:
                    for what, path in (("upload", up_log), ("download", down_log)):
                        rekeys = kex_starters(path)[1:]     # not the first exchange
                        cl, sv = rekeys.count("client"), rekeys.count("server")
                        h.log("%s %s: client-started rekeys: %d, server-started: %d"
                              % (cipher, what, cl, sv))
                        h.check(sv == 0, "%s: %d server-started rekeys, want 0 "
                                "(the server has no RekeyLimit)" % (what, sv))
                        h.check(cl >= min_rekeys, "%s: %d client-started rekeys, "
                                "want >= %d" % (what, cl, min_rekeys))
                    return
                up_rk = kexinit_received(up_log) - 1
                down_rk = kexinit_received(down_log) - 1
                h.log("%s: server-started rekeys: %d during upload, %d during download"
                      % (cipher, up_rk, down_rk))
                h.check(up_rk >= min_rekeys, "upload: %d rekeys, want >= %d"
                        % (up_rk, min_rekeys))
                h.check(down_rk >= min_rekeys, "download: %d rekeys, want >= %d"
                        % (down_rk, min_rekeys))
            finally:
                h.ssh_run(srv, env, "rm -f %s" % remote)
        for cipher in args.ciphers.split(","):
            res.run("bulk-" + cipher, one, cipher)
        h.check(srv.alive(), "server died")
        res.finish(srv)


def add_args(p):
    p.add_argument("--size", default="1G", help="bytes each way, e.g. 1G, 256M")
    p.add_argument("--rekey", default="64M", help="server RekeyLimit")
    p.add_argument("--client-rekey", metavar="SIZE",
                   help="no server RekeyLimit; ssh -o RekeyLimit=SIZE, and the "
                        "rekeys counted are the ones the client started")
    p.add_argument("--ciphers", default="aes128-gcm@openssh.com",
                   help="comma-separated ciphers, one full run each")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
