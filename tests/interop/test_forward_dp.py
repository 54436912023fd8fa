#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Forwarding to targets that only the data plane reaches (--dataplane
af_packet): the targets listen inside the data plane's network namespace
on its peer address (198.18.N.1), which the host has no route to, so the
data core that owns the SSH connection connects them with its own TCP and
relays the channel itself (CHAN_CONNECT).

Cases: curl through ssh -L and -D (SOCKS5) to a python3 -m http.server there; ssh -W with
--size bytes (default 64 MiB) byte-exact each way, half-closed both ways
(the client's EOF is the target's FIN and the reverse); a refused port
(OPEN_FAILURE "connect failed"); an on-link address nobody answers for
(OPEN_FAILURE after the core's 10 s timeout, while the SSH connection goes
on forwarding); a target that resets mid-transfer (the channel closes);
200 connections opened and closed with no target connection, queued byte
or mbuf left. Each checks the data core's telemetry (chan_connects,
chan_rx_bytes, chan_tx_bytes, chan_connect_fail, chan_connect_timeout,
chan_tcp_active) and dsshd's log, so a relay through a kernel socket would
fail them."""

import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

import dssh_harness as h
from test_forward import telemetry, parse_size

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "fwd_dp_target.py")


class Ctx:
    def __init__(self, srv, env, tmp, size):
        self.srv, self.env, self.tmp, self.size = srv, env, tmp, size
        self.ns = srv.netns
        self.peer = srv.tap_peer.split("/")[0]
        n = self.peer.split(".")[2]
        self.dead = "198.18.%s.77" % n        # on-link, nobody answers ARP for it
        self.procs = []

    def in_ns(self, argv):
        return ["ip", "netns", "exec", self.ns] + argv

    def target(self, mode, port):
        p = subprocess.Popen(self.in_ns([sys.executable, TARGET, self.peer, str(port), mode]),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        p.port = port
        h.check_eq(p.stdout.readline(), b"ready\n", "%s target ready" % mode)
        return p

    def ssh_w(self, host, port, opts=()):
        argv = h.ssh_argv(self.srv, self.env, opts=["LogLevel=INFO"] + list(opts))
        i = argv.index("-p")
        argv = argv[:i] + ["-W", "%s:%d" % (host, port)] + argv[i:]
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def tunnel(self, fwds, socks=None):
        argv = h.ssh_argv(self.srv, self.env, opts=["ExitOnForwardFailure=yes", "LogLevel=INFO"])
        i = argv.index("-p")
        argv = argv[:i] + ["-N"] + [a for f in fwds for a in ("-L", f)] + (
            ["-D", "127.0.0.1:%d" % socks] if socks else []) + argv[i:]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        return p

    def wait_listening(self, port, proc, addr="127.0.0.1"):
        code = ("import socket,sys,time\nd=time.time()+20\n"
                "while time.time()<d:\n"
                " try:\n  socket.create_connection((%r,%d),timeout=1).close();sys.exit(0)\n"
                " except OSError: time.sleep(0.05)\nsys.exit(1)" % (addr, port))
        r = subprocess.run(self.in_ns([sys.executable, "-c", code]))
        if r.returncode != 0:
            proc.kill()
            raise h.TestFailure("listener on %s:%d: %s" % (addr, port,
                                proc.stderr.read()[-400:] if proc.stderr else ""))

    def cleanup(self):
        for p in self.procs:
            p.kill()
            p.wait()


def free_port():
    return h.free_port()


def stats(c):
    return telemetry(c.srv)


def delta(st1, st0, k):
    return st1[k] - st0[k]


def wait_stats(c, st0, want, timeout=10):
    """The cores publish their counters on a tick (late while a core
    sleeps): wait until every counter of want grew by at least its value."""
    deadline = time.time() + timeout
    while True:
        st = stats(c)
        short = {k: delta(st, st0, k) for k, v in want.items() if delta(st, st0, k) < v}
        if not short or time.time() > deadline:
            h.check(not short, "counters grew by %r, want %r" % (short, want))
            return st
        time.sleep(0.1)


# ---------------------------------------------------------------- cases

def case_http(c):
    www = os.path.join(c.tmp, "www")
    os.mkdir(www)
    page = os.urandom(300000)
    with open(os.path.join(www, "page.bin"), "wb") as f:
        f.write(page)
    port = free_port()
    http = subprocess.Popen(c.in_ns([sys.executable, "-m", "http.server", "--bind", c.peer,
                                     str(port)]), cwd=www, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    c.procs.append(http)
    c.wait_listening(port, http, c.peer)
    lp, sp = free_port(), free_port()
    off = c.srv.log_size()
    st0 = stats(c)
    t = c.tunnel(["%d:%s:%d" % (lp, c.peer, port)], socks=sp)
    try:
        c.wait_listening(lp, t)
        c.wait_listening(sp, t)
        # -L twice, then -D (SOCKS5, the name resolved by the client)
        for extra, url in (([], "http://127.0.0.1:%d/page.bin" % lp),
                           ([], "http://127.0.0.1:%d/page.bin" % lp),
                           (["--socks5", "127.0.0.1:%d" % sp],
                            "http://%s:%d/page.bin" % (c.peer, port))):
            r = subprocess.run(c.in_ns(["curl", "-sS", "--max-time", "30", "-o", "-"] + extra +
                                       [url]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            h.check(r.returncode == 0, "curl %s: %s" % (url, r.stderr.decode(errors="replace")))
            h.check(r.stdout == page, "page from %s: %d bytes, want %d"
                    % (url, len(r.stdout), len(page)))
    finally:
        h.end_ssh(t)
    h.check(c.srv.wait_log(r"channel \d+: %s port %d: connected by the data core"
                           % (c.peer.replace(".", r"\."), port), off) is not None,
            "no log line: the data core did not connect the target")
    # (the -L probe of wait_listening is a fourth)
    wait_stats(c, st0, {"chan_connects": 4, "chan_tx_bytes": 3 * len(page)})


def case_bulk_up(c):
    sink = c.target("sink", free_port_ns(c))
    st0 = stats(c)
    p = c.ssh_w(c.peer, sink.port)
    hs = hashlib.sha256()

    def writer():
        left = c.size
        try:
            while left:
                d = os.urandom(min(left, 1 << 18))
                hs.update(d)
                p.stdin.write(d)
                left -= len(d)
            p.stdin.close()     # our EOF: the target's FIN
        except BrokenPipeError:
            pass
    w = threading.Thread(target=writer)
    w.start()
    out = p.stdout.read()
    w.join()
    rc = p.wait(timeout=60)
    want = "%s %d\n" % (hs.hexdigest(), c.size)
    h.check_eq(out.decode(errors="replace"), want, "upload digest (ssh -W exit %d: %s)"
               % (rc, p.stderr.read().decode(errors="replace")[-300:]))
    h.check_eq(rc, 0, "ssh -W exit status")
    wait_stats(c, st0, {"chan_connects": 1, "chan_rx_bytes": c.size})


def case_bulk_down(c):
    src = c.target("source", free_port_ns(c))
    st0 = stats(c)
    p = c.ssh_w(c.peer, src.port)
    p.stdin.write(struct.pack(">Q", c.size))
    p.stdin.close()         # half-closed: the target goes on sending
    hs, n = hashlib.sha256(), 0
    while True:
        d = p.stdout.read(1 << 18)
        if not d:
            break
        hs.update(d)
        n += len(d)
    rc = p.wait(timeout=60)
    line = src.stdout.readline().decode().strip()
    h.check_eq(n, c.size, "download size (ssh -W exit %d: %s)"
               % (rc, p.stderr.read().decode(errors="replace")[-300:]))
    h.check_eq(line, "%s %d" % (hs.hexdigest(), n), "download digest")
    h.check_eq(rc, 0, "ssh -W exit status")
    wait_stats(c, st0, {"chan_connects": 1, "chan_tx_bytes": c.size})


def case_refused(c):
    st0 = stats(c)
    off = c.srv.log_size()
    port = free_port_ns(c)      # nothing listens there
    t0 = time.time()
    p = c.ssh_w(c.peer, port)
    _, err = p.communicate(timeout=30)
    err = err.decode(errors="replace")
    h.check(p.returncode != 0, "ssh -W to a closed port succeeded")
    h.check("open failed" in err and "connect failed" in err,
            "ssh's message: %r" % err[-300:])
    h.check(time.time() - t0 < 8, "refusal took %.1f s" % (time.time() - t0))
    h.check(c.srv.wait_log(r"connect to %s port %d failed: Connection refused"
                           % (c.peer.replace(".", r"\."), port), off) is not None,
            "no log line for the refused connect")
    wait_stats(c, st0, {"chan_connect_fail": 1})


def case_timeout(c):
    """A target that never answers: OPEN_FAILURE after the core's timeout;
    the same SSH connection forwards to a live target meanwhile and after."""
    echo = c.target("echo", free_port_ns(c))
    st0 = stats(c)
    lp_dead, lp_live = free_port(), free_port()
    t = c.tunnel(["%d:%s:9" % (lp_dead, c.dead), "%d:%s:%d" % (lp_live, c.peer, echo.port)])
    try:
        c.wait_listening(lp_live, t)
        code = ("import socket,sys,time\n"
                "s=socket.create_connection(('127.0.0.1',%d),timeout=60)\n"
                "t0=time.time()\n"
                "try:\n d=s.recv(10)\nexcept ConnectionResetError:\n d=b''\n"
                "e=socket.create_connection(('127.0.0.1',%d),timeout=20)\n"
                "e.sendall(b'ping');e.shutdown(socket.SHUT_WR)\n"
                "r=b''\nwhile True:\n x=e.recv(100)\n if not x: break\n r+=x\n"
                "print('%%.1f %%r %%s' %% (time.time()-t0, d, r.decode()))\n" % (lp_dead, lp_live))
        r = subprocess.run(c.in_ns([sys.executable, "-c", code]), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=90)
        h.check(r.returncode == 0, "dead target client: %s" % r.stderr.decode()[-300:])
        secs, got, echoed = r.stdout.decode().split()
        h.check(8.0 <= float(secs) <= 25.0, "the unanswered connect ended after %s s" % secs)
        h.check_eq(got, "b''", "bytes from the dead target")
        h.check_eq(echoed, "ping", "echo through the same SSH connection afterwards")
        h.check(t.poll() is None, "ssh exited")
    finally:
        h.end_ssh(t)
        err = t.stderr.read().decode(errors="replace")
    h.check("open failed" in err, "ssh's message: %r" % err[-300:])
    wait_stats(c, st0, {"chan_connect_timeout": 1})


def case_reset(c):
    rst = c.target("reset", free_port_ns(c))
    off = c.srv.log_size()
    p = c.ssh_w(c.peer, rst.port)
    p.stdin.write(b"x" * 1024)
    p.stdin.flush()         # stdin stays open: only the reset ends the channel
    t0 = time.time()
    got = 0
    while True:
        d = p.stdout.read1(65536)
        if not d:
            break
        got += len(d)
    p.wait(timeout=20)
    h.check(time.time() - t0 < 15, "the channel outlived the reset by %.1f s" % (time.time() - t0))
    h.check(got <= 65536, "%d bytes after a 64 KiB reply" % got)
    h.check_eq(rst.stdout.readline(), b"reset\n", "the target reset")
    h.check(c.srv.wait_log(r"channel \d+: %s port %d: reset"
                           % (c.peer.replace(".", r"\."), rst.port), off) is not None,
            "no log line: the reset did not close the channel")
    p.stdin.close()


def case_many(c, count=200):
    echo = c.target("echo", free_port_ns(c))
    lp = free_port()
    t = c.tunnel(["%d:%s:%d" % (lp, c.peer, echo.port)])
    try:
        c.wait_listening(lp, t)
        time.sleep(0.5)
        st0 = stats(c)
        code = ("import socket\n"
                "for w in range(%d):\n"
                " ss=[socket.create_connection(('127.0.0.1',%d),timeout=20) for _ in range(20)]\n"
                " for i,s in enumerate(ss): s.sendall(b'%%d-%%d\\n' %% (w,i))\n"
                " for i,s in enumerate(ss):\n"
                "  want=b'%%d-%%d\\n' %% (w,i); got=b''\n"
                "  while len(got)<len(want):\n"
                "   d=s.recv(100)\n"
                "   if not d: break\n"
                "   got+=d\n"
                "  assert got==want,(got,want)\n"
                "  s.close()\n"
                "print('ok')\n" % (count // 20, lp))
        r = subprocess.run(c.in_ns([sys.executable, "-c", code]), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        h.check(r.returncode == 0 and r.stdout == b"ok\n",
                "many connections: %s" % r.stderr.decode()[-400:])
        wait_stats(c, st0, {"chan_connects": count})
        deadline = time.time() + 30
        while True:
            st = stats(c)
            if st["chan_tcp_active"] == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        h.check_eq(st["chan_tcp_active"], 0, "target connections the cores still hold")
        h.check_eq(st["chan_queued"], 0, "bytes the core still queues")
        h.check(st["mbuf_in_use"] <= st0["mbuf_in_use"] + 64,
                "mbufs in use %d, before %d" % (st["mbuf_in_use"], st0["mbuf_in_use"]))
        h.check(t.poll() is None, "ssh exited")
    finally:
        h.end_ssh(t)


_ports = [0]


def free_port_ns(c):
    """A port for a target in the namespace (its own port space)."""
    _ports[0] += 1
    return 20000 + (os.getpid() % 1000) * 10 + _ports[0]


def body(args, env):
    if h.Server.dataplane != "af_packet":
        h.skip("needs --dataplane af_packet (targets in the data plane's namespace)")
    if not shutil_which("curl"):
        h.skip("curl not installed")
    res = h.Results()
    with h.Server(args.server, args.kind, name="forward-dp") as srv, \
            tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        res.server = srv
        c = Ctx(srv, env, tmp, parse_size(args.size))
        try:
            res.run("http", case_http, c)
            res.run("bulk-up", case_bulk_up, c)
            res.run("bulk-down", case_bulk_down, c)
            res.run("refused", case_refused, c)
            res.run("reset", case_reset, c)
            res.run("timeout", case_timeout, c)
            res.run("many", case_many, c)
        finally:
            c.cleanup()
        res.finish(srv)


def shutil_which(x):
    import shutil
    return shutil.which(x)


def add_args(p):
    p.add_argument("--size", default="64M", help="bytes each way through ssh -W")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
