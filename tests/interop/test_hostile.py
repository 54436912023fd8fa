#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hostile input and pre-auth limits: a raw client (sockets; paramiko to get
past NEWKEYS or authentication) sends what no honest client does: SSH-1 and
garbage version lines, a 1 MB version line, packet lengths 0, 5, 2^31,
2^32-1, bad padding, a bad MAC after NEWKEYS, out-of-order and unknown
messages (USERAUTH before NEWKEYS, an IGNORE inside the first key exchange
under strict KEX), channel data to an unknown channel, window overflow,
10 000 tiny packets, a KEXINIT flood, a 1-byte-a-second slowloris, 500
half-open connections; and the limits: MaxStartups random early drop,
PerSourceMaxStartups, PerSourcePenalties, LoginGraceTime, MaxAuthTries,
MaxSessions, ClientAliveInterval/CountMax.

After every case: the server is alive, an honest OpenSSH login started in
parallel (from 127.0.0.2, another source) succeeded within its usual time,
the server logged the line that case must produce, and its descriptors
and RSS are back within a bound of the baseline. Each case connects from
its own source address (127.x.y.z), so that per-source limits and
penalties of one case cannot touch another. The counters (SIGUSR1) are
checked at the end. dsshd only (sshd 9.2 has no PerSourcePenalties)."""

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import dssh_harness as h


class Net:
    """Addresses: loopback (kernel backend) or the kernel side of dsshd's
    tap (--dataplane tap), where the sources are added to the tap."""
    honest = "127.0.0.2"
    server = "127.0.0.1"
    prefix = None       # tap: "198.18.N"
    seq = 0

    @classmethod
    def new_src(cls):
        cls.seq += 1
        n = cls.seq
        if cls.prefix is None:
            return "127.10.%d.%d" % (n // 250, n % 250 + 1)
        h.check(n < 190, "out of tap source addresses")
        return "%s.%d" % (cls.prefix, 9 + n)

    @classmethod
    def tap_setup(cls, srv):
        cls.prefix = srv.host.rsplit(".", 1)[0]
        cls.server = srv.host
        cls.honest = cls.prefix + ".3"
        srcs = ["%s.%d" % (cls.prefix, k) for k in [3] + list(range(10, 200))]
        # Sources dsshd has never heard from, for the new-neighbours case.
        cls.unseen = ["%s.%d" % (cls.prefix, k) for k in range(200, 220)]
        cmds = "".join("addr add %s/24 dev %s\n" % (a, srv.tap) for a in srcs + cls.unseen)
        subprocess.run(["ip", "-batch", "-"], input=cmds.encode(), check=True)
        # dsshd learns every source's MAC now, so that the cases below do
        # not depend on ARP (new_neighbours is the case that does).
        pings = [subprocess.Popen(["ping", "-q", "-c", "2", "-i", "0.2", "-W", "2", "-I", a,
                                   srv.host], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for a in srcs]
        for p in pings:
            p.wait()

HONEST_MAX_S = 10.0        # an ASan build logs in within 1-3 s
FD_SLACK = 3
RSS_SLACK_KB = 96 * 1024   # ASan's quarantine holds freed memory a while

MSG_DISCONNECT, MSG_IGNORE, MSG_UNIMPLEMENTED = 1, 2, 3
MSG_KEXINIT, MSG_USERAUTH_REQUEST = 20, 50
MSG_CHANNEL_DATA = 94

def new_src():
    """A fresh source address for one case."""
    return Net.new_src()


# ---------------------------------------------------------------- wire

def sshstr(b):
    return struct.pack(">I", len(b)) + b


def namelist(names):
    return sshstr(",".join(names).encode())


def packet(payload, block=8):
    """An unencrypted binary packet (RFC 4253 6) with valid padding."""
    pad = block - (5 + len(payload)) % block
    if pad < 4:
        pad += block
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def kexinit(strict=False):
    kex = ["curve25519-sha256"] + (["kex-strict-c-v00@openssh.com"] if strict else [])
    return (bytes([MSG_KEXINIT]) + os.urandom(16) + namelist(kex) + namelist(["ssh-ed25519"])
            + namelist(["aes128-ctr"]) * 2 + namelist(["hmac-sha2-256"]) * 2
            + namelist(["none"]) * 2 + namelist([]) * 2 + b"\0" + bytes(4))


def ignore(n=0):
    return bytes([MSG_IGNORE]) + sshstr(b"x" * n)


def connect(srv, src, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((srv.host, srv.port))
    return s


def read_line(s, limit=4096):
    buf = b""
    while not buf.endswith(b"\n") and len(buf) < limit:
        d = s.recv(1)
        if not d:
            break
        buf += d
    return buf


def hello(srv, src):
    """Connected, version lines exchanged; returns (socket, its port)."""
    s = connect(srv, src)
    s.sendall(b"SSH-2.0-hostile_0.1\r\n")
    v = read_line(s)
    h.check(v.startswith(b"SSH-2.0-"), "server version line: %r" % v)
    return s, s.getsockname()[1]


def send_quietly(s, data):
    """Sends; the server may have hung up already (that is the point)."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def wait_closed(s, timeout=10):
    """Reads until the server closes; fails if it keeps the connection."""
    s.settimeout(timeout)
    got = b""
    end = time.time() + timeout
    try:
        while time.time() < end:
            d = s.recv(65536)
            if not d:
                return got
            got += d
    except ConnectionResetError:
        return got
    except socket.timeout:
        pass
    raise h.TestFailure("server kept the connection open %d s" % timeout)


def still_open(s, wait=1.0):
    """True when the server neither closed nor reset within wait seconds
    (what it sends meanwhile is read and dropped)."""
    s.settimeout(0.2)
    end = time.time() + wait
    while time.time() < end:
        try:
            if not s.recv(65536):
                return False
        except socket.timeout:
            continue
        except ConnectionResetError:
            return False
    return True


# ---------------------------------------------------------------- server state

class Watch:
    """The server's pid, descriptors and RSS, baseline and checks."""

    def __init__(self, srv, env):
        self.srv, self.env = srv, env
        self.pid = srv.proc.pid
        self.honest_login()         # warm: PAM, NSS, the spawner
        time.sleep(1)
        self.fd0, self.rss0 = self.fds(), self.rss()
        self.rss_slack = RSS_SLACK_KB
        self.heap0 = None
        if srv.tap:
            # --no-huge: DPDK's memory (mbuf pool, the streams' pipes, the
            # TCP buffers) is ordinary memory paged in on first use and
            # never given back: RSS bounds the peak (500 connections at
            # once), DPDK's heap statistics show what is still allocated.
            self.rss_slack += 512 * 1024
            self.heap0 = self.heap()
            h.log("DPDK heap allocated: %s bytes" % self.heap0)
        h.log("baseline: %d fds, RSS %d kB" % (self.fd0, self.rss0))
        self.max_fd, self.max_rss = self.fd0, self.rss0

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def heap(self):
        """Bytes allocated in DPDK's heaps (every socket's)."""
        try:
            ids = telemetry(self.srv, "/eal/heap_list")
            return sum(int(telemetry(self.srv, "/eal/heap_info,%d" % i)["Alloc_size"])
                       for i in ids)
        except (KeyError, TypeError, ValueError, OSError) as e:
            h.log("DPDK heap statistics not readable: %r" % e)
            return None

    def rss(self):
        with open("/proc/%d/status" % self.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    def honest_argv(self):
        return h.ssh_argv(self.srv, self.env, opts=("BindAddress=%s" % Net.honest,),
                          command="echo honest-ok")

    def honest_login(self):
        t0 = time.time()
        r = subprocess.run(self.honest_argv(), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, start_new_session=True)
        h.check(r.returncode == 0 and r.stdout == b"honest-ok\n",
                "honest login: %s" % h.describe(r))
        return time.time() - t0

    def start_honest(self):
        """An honest login running beside the attack; a thread notes when
        it ended (the attack may go on longer)."""
        p = subprocess.Popen(self.honest_argv(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        st = {"t0": time.time()}

        def wait():
            try:
                st["out"], st["err"] = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                st["out"], st["err"] = p.communicate()
            st["t1"] = time.time()
        th = threading.Thread(target=wait, daemon=True)
        th.start()
        return st, p, th

    def check_honest(self, started, name):
        st, p, th = started
        th.join(70)
        h.check("t1" in st, "%s: the honest login hung" % name)
        out, err = st["out"], st["err"]
        took = st["t1"] - st["t0"]
        h.check(p.returncode == 0 and out == b"honest-ok\n",
                "%s: honest login in parallel failed: exit %d %r %r"
                % (name, p.returncode, out, err[-300:]))
        h.check(took < HONEST_MAX_S, "%s: honest login took %.1f s" % (name, took))

    def check_resources(self, name):
        """Descriptors back to the baseline (connections take a moment to
        be torn down), RSS within the bound."""
        end = time.time() + 10
        while self.fds() > self.fd0 + FD_SLACK and time.time() < end:
            time.sleep(0.2)
        fd, rss = self.fds(), self.rss()
        self.max_fd, self.max_rss = max(self.max_fd, fd), max(self.max_rss, rss)
        h.log("%s: %d fds, RSS %d kB" % (name, fd, rss))
        h.check(fd <= self.fd0 + FD_SLACK,
                "%s: %d fds, baseline %d: %s" % (name, fd, self.fd0, self.fd_list()))
        h.check(rss <= self.rss0 + self.rss_slack,
                "%s: RSS %d kB, baseline %d kB" % (name, rss, self.rss0))
        if self.heap0 is not None:
            end = time.time() + 15
            heap = self.heap()
            while heap > self.heap0 + (8 << 20) and time.time() < end:
                time.sleep(0.5)
                heap = self.heap()
            h.check(heap <= self.heap0 + (8 << 20), "%s: DPDK heap %d bytes allocated, "
                    "baseline %d" % (name, heap, self.heap0))

    def fd_list(self):
        d = "/proc/%d/fd" % self.pid
        out = []
        for n in os.listdir(d):
            try:
                out.append(os.readlink(os.path.join(d, n)))
            except OSError:
                pass
        return sorted(out)


def run_case(res, w, name, fn, parallel=True):
    """fn(srv, off) attacks and checks the server's log after off."""
    def body():
        off = w.srv.log_size()
        honest = w.start_honest() if parallel else None
        try:
            fn(w.srv, off)
        except Exception:
            dump_case_log(w.srv, off)
            raise
        finally:
            if honest is not None:
                w.check_honest(honest, name)
        h.check(w.srv.alive(), "%s: dsshd is gone" % name)
        if not parallel:
            took = w.honest_login()
            h.check(took < HONEST_MAX_S, "%s: honest login took %.1f s" % (name, took))
        w.check_resources(name)
    res.run(name, body)


# sshd's words name the user before the peer once one was asked for:
# "Disconnecting authenticating user X IP port N: ...", "Connection closed
# by invalid user X IP port N [preauth]".
PEER_USER = r"(?:(?:authenticating|invalid) user \S+ |user \S+ )?"


def expect_log(srv, off, regex, what, timeout=10):
    m = srv.wait_log(regex, off, timeout=timeout)
    if m is None:
        srv.dump_log(40)
        dump_dataplane(srv)
        raise h.TestFailure("%s: no log line matching %r" % (what, regex))
    return m


def dump_case_log(srv, off, max_lines=80):
    """A failed case shows the server's log lines since it started (the
    suite's tail shows only the end of the run) and the data plane's state."""
    lines = srv.log_since(off).splitlines()
    h.log("server log during the case (%d lines%s):" % (len(lines),
          ", last %d shown" % max_lines if len(lines) > max_lines else ""))
    for line in lines[-max_lines:]:
        h.log("  | " + line)
    dump_dataplane(srv)


def dump_dataplane(srv):
    """On the data plane, what its ARP table and counters say when a case
    fails: a login once stalled after the version exchange (CI, dpdk-hostile-tap,
    client-alive) with nothing in the log to tell where its bytes went."""
    if getattr(srv, "eal_prefix", None) is None:
        return
    for cmd in ("/dssh/arp", "/dssh/stats"):
        try:
            h.log("%s: %r" % (cmd, telemetry(srv, cmd)))
        except Exception as e:   # diagnostics only: never hide the failure
            h.log("%s: not read (%s)" % (cmd, e))


def disconnect_logged(srv, off, src, port, what):
    return expect_log(srv, off, r"Disconnecting %s%s port %d: [^\n]+" % (PEER_USER, re.escape(src), port),
                      what)


# ---------------------------------------------------------------- cases

def version_case(line, regex):
    def fn(srv, off):
        src = new_src()
        s = connect(srv, src)
        send_quietly(s, line)
        wait_closed(s)
        s.close()
        expect_log(srv, off, r"%s port \d+: %s" % (re.escape(src), regex), "version")
    return fn


def new_neighbours(srv, off):
    """Logins from sources whose MAC dsshd must first ask for. The SYN-ACK
    waits for ARP and was once sent with an unfinished TCP checksum (the
    peer dropped it: every new source's connect took its 1 s SYN
    retransmission), and a duplicate SYN crossing the final ACK then left
    the connection unable to send (no version line, ever)."""
    took = []
    for src in Net.unseen:
        t = time.time()
        s, _ = hello(srv, src)
        took.append(time.time() - t)
        s.close()
    took.sort()
    h.log("new neighbours: version line after %s s" % " ".join("%.2f" % x for x in took))
    h.check(took[len(took) // 2] < 0.5, "new neighbours: median %.2f s to the version line "
            "(1 s is a lost SYN-ACK and the client's retransmission)" % took[len(took) // 2])


def version_1mb(srv, off):
    src = new_src()
    s = connect(srv, src)
    send_quietly(s, b"SSH-2.0-" + b"A" * (1 << 20))
    wait_closed(s)
    s.close()
    expect_log(srv, off, r"%s port \d+: version line too long" % re.escape(src), "1 MB line")


def length_case(length):
    def fn(srv, off):
        src = new_src()
        s, port = hello(srv, src)
        send_quietly(s, struct.pack(">I", length) + os.urandom(64))
        wait_closed(s)
        s.close()
        disconnect_logged(srv, off, src, port, "packet length %d" % length)
    return fn


def bad_padding(srv, off):
    for what, raw in (
            # padding 2 (< 4), total a multiple of 8
            ("short padding", struct.pack(">IB", 12, 2) + bytes([MSG_IGNORE]) + bytes(10)),
            # padding longer than the packet
            ("padding past the end", struct.pack(">IB", 12, 200) + bytes(11)),
            # not a multiple of the block size
            ("unaligned", struct.pack(">IB", 13, 4) + bytes(12))):
        src = new_src()
        s, port = hello(srv, src)
        send_quietly(s, raw)
        wait_closed(s)
        s.close()
        disconnect_logged(srv, off, src, port, what)


def out_of_order(payload, what):
    def fn(srv, off):
        src = new_src()
        s, port = hello(srv, src)
        send_quietly(s, packet(payload))
        wait_closed(s)
        s.close()
        disconnect_logged(srv, off, src, port, what)
    return fn


def strict_kex_ignore(srv, off):
    # Without strict KEX an IGNORE in the first exchange is legal: the
    # connection stays (the control that makes the strict case mean
    # something).
    src = new_src()
    s, port = hello(srv, src)
    s.sendall(packet(kexinit(strict=False)) + packet(ignore(8)))
    h.check(still_open(s, 1.5), "IGNORE in the first KEX without strict KEX: dropped")
    s.close()
    # Strict: the same IGNORE ends it.
    src = new_src()
    s, port = hello(srv, src)
    send_quietly(s, packet(kexinit(strict=True)) + packet(ignore(8)))
    wait_closed(s)
    s.close()
    disconnect_logged(srv, off, src, port, "IGNORE inside strict KEX")


def kexinit_flood(srv, off):
    src = new_src()
    s, port = hello(srv, src)
    send_quietly(s, packet(kexinit()) * 2000)
    wait_closed(s)
    s.close()
    disconnect_logged(srv, off, src, port, "KEXINIT flood")


def tiny_packets(srv, off):
    """10 000 IGNOREs inside the (non-strict) first exchange: all legal,
    all taken; the server stays, then sees us go."""
    src = new_src()
    s, port = hello(srv, src)
    s.sendall(packet(kexinit()) + packet(ignore()) * 10000)
    h.check(still_open(s, 2.0), "10 000 IGNOREs: the server hung up")
    s.close()
    expect_log(srv, off, r"Connection closed by %s%s port %d" % (PEER_USER, re.escape(src), port),
               "10 000 tiny packets")


def slowloris(srv, off):
    """One byte a second: LoginGraceTime (4 s here) ends it, as sshd."""
    src = new_src()
    s = connect(srv, src)
    port = s.getsockname()[1]
    t0 = time.time()
    line = b"SSH-2.0-" + b"s" * 100
    closed = False
    for b in line:
        try:
            s.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if not still_open(s, 1.0):
            closed = True
            break
        if time.time() - t0 > 15:
            break
    s.close()
    h.check(closed, "slowloris: still connected after %.0f s" % (time.time() - t0))
    expect_log(srv, off, r"Timeout before authentication for %s port %d" % (re.escape(src), port),
               "slowloris")
    # 9.8's grace-exceeded penalty for its source (20 s here, past min 10 s)
    expect_log(srv, off, r"new %s/32 active penalty of 20 seconds for penalty: exceeded "
               r"LoginGraceTime" % re.escape(src), "grace-exceeded penalty")


def refused_conn(s):
    """A connection refused at admission: sshd's notice (kernel sockets)
    or just the close (a data core's packet layer), never a version line.
    socket.timeout: neither yet (an admitted one that sends nothing)."""
    try:
        d = s.recv(100)
    except ConnectionResetError:
        return True
    if d.startswith(b"SSH-"):
        return False
    if Net.prefix is None:
        h.check(d.startswith(b"Not allowed at this time"), "refusal: %r" % d)
    else:
        h.check(d == b"" or d.startswith(b"Not allowed at this time"), "refusal: %r" % d)
    return True


def half_open(srv, off):
    """500 connections from one source that send nothing: past
    PerSourceMaxStartups (10) each is refused at once."""
    src = new_src()
    socks = []
    try:
        for _ in range(500):
            socks.append(connect(srv, src))
        time.sleep(1.5)
        refused = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                if refused_conn(s):
                    refused += 1
            except socket.timeout:
                pass
    finally:
        for s in socks:
            s.close()
    h.check(refused >= 480, "500 half-open from one source: only %d refused" % refused)
    drops = re.findall(r"drop connection #\d+ from \[%s\]:\d+ on \[%s\]:%d past "
                       r"MaxStartups" % (re.escape(src), re.escape(Net.server), srv.port),
                       srv.log_since(off))
    h.check(len(drops) >= 480, "500 half-open: %d drop lines" % len(drops))


def maxstartups_global(srv, off):
    """70 sources, one connection each, nothing sent: MaxStartups
    20:30:60 lets the first 20 in, drops with rising probability from
    there, and every one past 60."""
    srcs = [new_src() for _ in range(70)]
    socks = [None] * len(srcs)

    def one(i):
        # On the data plane a first SYN-ACK to a source it has no ARP entry
        # for leaves at TCP's first retransmission (1 s): connect at once.
        try:
            socks[i] = connect(srv, srcs[i])
        except OSError:
            pass
    try:
        ths = [threading.Thread(target=one, args=(i,)) for i in range(len(srcs))]
        for t in ths:
            t.start()
        for t in ths:
            t.join(30)
        h.check(all(socks), "MaxStartups: %d of 70 connects failed" % socks.count(None))
        time.sleep(1.5)
        refused = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                if refused_conn(s):
                    refused += 1
            except socket.timeout:
                pass
    finally:
        for s in socks:
            if s is not None:
                s.close()
    h.check(10 <= refused <= 50, "MaxStartups 20:30:60, 70 connections: %d refused" % refused)
    expect_log(srv, off, r"beginning MaxStartups throttling", "throttling")
    expect_log(srv, off, r"drop connection #\d+ from \[[\d.]+\]:\d+ on \[%s\]:%d past "
               r"MaxStartups" % (re.escape(Net.server), srv.port), "a drop")
    time.sleep(1.5)     # all torn down
    s = connect(srv, new_src())
    expect_log(srv, off, r"exited MaxStartups throttling after \d+s, \d+ connections dropped",
               "end of throttling")
    s.close()


def paramiko_transport(srv, src):
    import paramiko
    s = connect(srv, src, timeout=30)
    t = paramiko.Transport(s)
    t.start_client(timeout=30)
    return t, s


def paramiko_auth(srv, env, src):
    import paramiko
    t, s = paramiko_transport(srv, src)
    t.auth_publickey(h.TEST_USER, paramiko.Ed25519Key.from_private_key_file(env.keys["ed25519"]))
    h.check(t.is_authenticated(), "paramiko login")
    return t, s


def unread_replies(srv, off):
    """Before authentication, requests that each earn a reply, and the
    replies never read: the server stops reading at its cap (64 KiB of
    output) instead of buffering without bound."""
    import paramiko
    src = new_src()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((src, 0))
    s.settimeout(30)
    s.connect((srv.host, srv.port))
    port = s.getsockname()[1]
    t = paramiko.Transport(s)
    t.start_client(timeout=30)
    stop = threading.Event()
    t.packetizer.read_message = lambda: stop.wait() and (_ for _ in ()).throw(EOFError())
    req = paramiko.Message()
    req.add_byte(bytes([5]))                # SERVICE_REQUEST
    req.add_string("ssh-userauth")
    sent = [0]

    def flood():
        try:
            for _ in range(200000):
                t._send_message(req)
                sent[0] += 1
        except (EOFError, OSError, paramiko.SSHException):
            pass
    th = threading.Thread(target=flood, daemon=True)
    th.start()
    expect_log(srv, off, r"%s port %d: peer does not read before authentication: input paused"
               % (re.escape(src), port), "pre-auth cap", timeout=60)
    stop.set()
    s.close()
    th.join(10)
    t.close()
    h.log("unread replies: %d requests sent before the cap held" % sent[0])
    # Gone for good: at our close, or (a data-plane stream whose pipes are
    # full) at LoginGraceTime and the flush deadline after it.
    expect_log(srv, off, r"%s port %d: connection closed\n" % (re.escape(src), port),
               "the unread connection's end", timeout=20)


def bad_mac(srv, off):
    src = new_src()
    t, s = paramiko_transport(srv, src)     # past NEWKEYS
    port = s.getsockname()[1]
    send_quietly(s, os.urandom(256))
    try:
        wait_closed(s)
    except OSError:
        pass
    t.close()
    disconnect_logged(srv, off, src, port, "bad MAC")


def channel_message(payload_fn, what, regex):
    def fn(srv, off, env=None):
        import paramiko
        src = new_src()
        t, s = paramiko_auth(srv, fn.env, src)
        port = s.getsockname()[1]
        try:
            for m in payload_fn(t):
                t._send_message(paramiko.Message(m))
                if not t.is_active():
                    break
        except (EOFError, OSError, paramiko.SSHException):
            pass        # the server hung up: what we wait for
        end = time.time() + 10
        while t.is_active() and time.time() < end:
            time.sleep(0.1)
        h.check(not t.is_active(), "%s: the server kept the connection" % what)
        t.close()
        expect_log(srv, off, r"Disconnecting %s%s port %d: %s" % (PEER_USER, re.escape(src), port, regex),
                   what)
    return fn


def unknown_channel(t):
    yield bytes([MSG_CHANNEL_DATA]) + struct.pack(">I", 4242) + sshstr(b"hello")


def window_overflow(t):
    # A child that never reads: the server re-advertises nothing (data to
    # nobody would be given back at once), so the window runs out.
    ch = t.open_session()
    ch.exec_command("sleep 60")
    chunk = bytes([MSG_CHANNEL_DATA]) + struct.pack(">I", ch.remote_chanid) + sshstr(b"w" * 32000)
    for _ in range(1 << 20):    # until the server hangs up (a 2 MiB window, 16 MiB at most)
        yield chunk


def max_sessions(srv, off):
    import paramiko
    src = new_src()
    t, s = paramiko_auth(srv, max_sessions.env, src)
    a, b = t.open_session(), t.open_session()
    try:
        t.open_session()
        raise h.TestFailure("MaxSessions 2: a third session channel was opened")
    except paramiko.ChannelException:
        pass
    a.exec_command("echo still")
    h.check(a.makefile().read() == b"still\n", "the first session works")
    t.close()
    expect_log(srv, off, r"no more sessions \(MaxSessions 2\)", "MaxSessions")


def max_auth_tries(srv, off):
    """MaxAuthTries 3: three keys nobody authorised, then sshd's line; the
    authfail penalty (30 s) refuses the source's next connection."""
    import paramiko
    src = new_src()
    t, s = paramiko_transport(srv, src)
    port = s.getsockname()[1]
    for _ in range(3):
        try:
            t.auth_publickey(h.TEST_USER, paramiko.ECDSAKey.generate())
        except (paramiko.AuthenticationException, paramiko.SSHException, EOFError):
            pass
        if not t.is_active():
            break
    end = time.time() + 10
    while t.is_active() and time.time() < end:
        time.sleep(0.1)
    h.check(not t.is_active(), "MaxAuthTries 3: still connected after 3 failures")
    t.close()
    expect_log(srv, off, r"Disconnecting authenticating user %s %s port %d: Too many "
               r"authentication failures" % (h.TEST_USER, re.escape(src), port), "MaxAuthTries")
    expect_log(srv, off, r"new %s/32 active penalty of 30 seconds for penalty: failed "
               r"authentication" % re.escape(src), "authfail penalty")
    s2 = connect(srv, src)
    got = wait_closed(s2)
    s2.close()
    h.check(not got.startswith(b"SSH-"), "penalised source let in: %r" % got[:60])
    expect_log(srv, off, r"drop connection #\d+ from \[%s\]:\d+ on \[%s\]:%d "
               r"penalty: failed authentication" % (re.escape(src), re.escape(Net.server), srv.port),
               "penalty drop")


def client_alive(srv, off):
    """ClientAliveInterval 1, CountMax 2: a client that stops answering
    (SIGSTOP) is dropped after about 3 s with sshd's line."""
    src = new_src()
    argv = h.ssh_argv(srv, client_alive.env, opts=("BindAddress=%s" % src,)) + ["-N"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        expect_log(srv, off, r"Accepted publickey for %s from %s port \d+" % (h.TEST_USER,
                                                                          re.escape(src)), "login")
        os.kill(p.pid, signal.SIGSTOP)
        expect_log(srv, off, r"Timeout, client not responding from user %s %s port \d+"
                   % (h.TEST_USER, re.escape(src)), "ClientAlive", timeout=15)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        os.kill(p.pid, signal.SIGCONT)
        p.wait()


# ---------------------------------------------------------------- data plane (tap)

def telemetry(srv, cmd="/dssh/stats"):
    import json
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(5)
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % srv.eal_prefix)
        s.recv(16384)
        s.send(cmd.encode())
        return json.loads(s.recv(65536).decode())[cmd.split(",")[0]]
    finally:
        s.close()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


class Frames:
    """Raw Ethernet frames into dsshd's tap (AF_PACKET on its kernel side)."""

    def __init__(self, srv):
        self.srv = srv
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((srv.tap, 0))
        self.src_mac = bytes.fromhex(open("/sys/class/net/%s/address" % srv.tap)
                                     .read().strip().replace(":", ""))
        out = subprocess.run(["ip", "neigh", "show", srv.host, "dev", srv.tap],
                             capture_output=True, text=True).stdout
        m = re.search(r"lladdr ([0-9a-f:]{17})", out)
        h.check(m is not None, "dsshd's MAC not in the tap's neighbour table: %r" % out)
        self.dst_mac = bytes.fromhex(m.group(1).replace(":", ""))

    def send(self, ip_packet):
        self.sock.send(self.dst_mac + self.src_mac + b"\x08\x00" + ip_packet)

    @staticmethod
    def ip(src, dst, proto, payload, ident=0, frag=0, ttl=64, fix=True):
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, ttl, proto,
                          0, socket.inet_aton(src), socket.inet_aton(dst))
        if fix:
            hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + payload

    @staticmethod
    def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535):
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
            "!BBH", 0, 6, len(hdr) + len(payload))
        c = csum(pseudo + hdr + payload)
        return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload

    def close(self):
        self.sock.close()


def dp_settle(srv, st0, what):
    """mbufs back near where they were (held frames age out)."""
    end = time.time() + 30
    while True:
        st = telemetry(srv)
        if st["mbuf_in_use"] <= st0["mbuf_in_use"] + 256 or time.time() > end:
            break
        time.sleep(0.5)
    h.check(st["mbuf_in_use"] <= st0["mbuf_in_use"] + 256,
            "%s: mbufs in use %d, before %d" % (what, st["mbuf_in_use"], st0["mbuf_in_use"]))
    return st


def syn_flood(srv, off):
    """20 000 SYNs from 50 spoofed sources nobody answers ARP for."""
    import random
    st0 = telemetry(srv)
    f = Frames(srv)
    rnd = random.Random(7)
    try:
        for i in range(20000):
            if i % 100 == 99:
                time.sleep(0.005)   # the tap's queue holds 1000 frames
            src = "%s.%d" % (Net.prefix, 200 + i % 50)
            f.send(f.ip(src, srv.host, 6, f.tcp(src, srv.host, rnd.randrange(1024, 65535),
                                                srv.port, rnd.getrandbits(32), 0, 0x02)))
    finally:
        f.close()
    st = dp_settle(srv, st0, "SYN flood")
    h.log("SYN flood: %s" % {k: st[k] - st0[k] for k in st if isinstance(st[k], int) and
                             st[k] != st0[k]})
    # The tap's kernel queue drops part of a burst before DPDK sees it
    # (port_ipackets): what arrives must still be thousands.
    h.check(st["rx_tcp"] - st0["rx_tcp"] >= 5000, "SYN flood: rx_tcp %d -> %d"
            % (st0["rx_tcp"], st["rx_tcp"]))


def out_of_window(srv, off):
    """A logged-in session's 4-tuple gets 3000 segments with random
    sequence numbers (data, RST, SYN): the session goes on unharmed."""
    import random
    src = new_src()
    t, s = paramiko_auth(srv, out_of_window.env, src)
    sport = s.getsockname()[1]
    st0 = telemetry(srv)
    f = Frames(srv)
    rnd = random.Random(11)
    try:
        for i in range(3000):
            if i % 100 == 99:
                time.sleep(0.005)
            flags = (0x18, 0x04, 0x02, 0x14, 0x11)[i % 5]   # PSH|ACK, RST, SYN, RST|ACK, FIN|ACK
            f.send(f.ip(src, srv.host, 6, f.tcp(src, srv.host, sport, srv.port,
                                                rnd.getrandbits(32), rnd.getrandbits(32), flags,
                                                os.urandom(64) if flags == 0x18 else b"")))
    finally:
        f.close()
    ch = t.open_session()
    ch.exec_command("echo unharmed")
    out = ch.makefile().read()
    t.close()
    h.check(out == b"unharmed\n", "session after out-of-window segments: %r" % out)
    st = dp_settle(srv, st0, "out-of-window")
    h.check(st["rx_tcp"] - st0["rx_tcp"] >= 3000, "out-of-window: rx_tcp %d -> %d"
            % (st0["rx_tcp"], st["rx_tcp"]))


def garbage_ip(srv, off):
    """Malformed and fragmented IPv4 to dsshd's address: counted, dropped."""
    import random
    st0 = telemetry(srv)
    f = Frames(srv)
    rnd = random.Random(13)
    src = "%s.1" % Net.prefix
    n = 0
    try:
        for i in range(500):
            tcp = f.tcp(src, srv.host, 40000 + i, srv.port, rnd.getrandbits(32), 0, 0x02)
            good = f.ip(src, srv.host, 6, tcp, ident=i)
            time.sleep(0.002)
            for pkt in (
                    good[:10] + b"\0\0" + good[12:],               # bad checksum
                    bytes([0x65]) + good[1:],                        # version 6 in an IPv4 frame
                    bytes([0x43]) + good[1:],                        # IHL 3
                    good[:2] + struct.pack("!H", 1500) + good[4:],   # total length past the frame
                    f.ip(src, srv.host, 6, tcp, ident=i, frag=0x2000),        # first fragment
                    f.ip(src, srv.host, 6, os.urandom(40), ident=i, frag=0x0005),  # a later one
                    os.urandom(rnd.randrange(1, 80)),                # noise
                    good[:rnd.randrange(1, 20)]):                   # truncated header
                f.send(pkt)
                n += 1
    finally:
        f.close()
    st = dp_settle(srv, st0, "garbage IP")
    dropped = st["drops"] - st0["drops"]
    h.log("garbage IP: %d frames, %d counted as drops: %s" % (n, dropped, {
        k: st[k] - st0[k] for k in st if k.startswith("drop_") and st[k] != st0[k]}))
    h.check(dropped >= n * 3 // 4, "garbage IP: %d of %d frames counted as drops" % (dropped, n))


def counters(srv, off):
    # Connections the last cases closed may still be on their way out.
    end = time.time() + 15
    while True:
        off = srv.log_size()
        os.kill(srv.proc.pid, signal.SIGUSR1)
        m = expect_log(srv, off, r"limits: startups=(\d+)([^\n]*)", "counters")
        if m.group(1) == "0" or time.time() > end:
            break
        time.sleep(1)
    c = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2)))
    h.log("counters: startups=%s %s" % (m.group(1), c))
    for k, least in (("startups_dropped", 1), ("per_source_dropped", 480),
                     ("penalty_refused", 1), ("penalties_added", 2), ("grace_timeouts", 1),
                     ("auth_tries_exceeded", 1), ("sessions_refused", 1),
                     ("alive_timeouts", 1), ("preauth_input_capped", 1)):
        h.check(c.get(k, 0) >= least, "counter %s = %s, want >= %d" % (k, c.get(k), least))
    h.check(int(m.group(1)) == 0, "unauthenticated connections left: %s" % m.group(1))
    if srv.tap:
        # The same counters as DPDK telemetry /dssh/limits.
        tel = telemetry(srv, "/dssh/limits")
        h.log("/dssh/limits: %s" % tel)
        for k, v in c.items():
            h.check(tel.get(k, -1) >= v, "/dssh/limits %s = %s, logged %d" % (k, tel.get(k), v))


def body(args, env):
    # ASan keeps freed memory in quarantine (256 MB by default), which RSS
    # would show as growth: a small one keeps the RSS bound meaningful.
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=16"
    if args.kind != "dsshd":
        h.skip("dsshd only (PerSourcePenalties is OpenSSH 9.8)")
    if args.dataplane == "af_packet":
        h.skip("--dataplane tap (the raw client runs on the tap's kernel side)")
    override = {
        "LoginGraceTime": "4",
        "PerSourcePenalties": "authfail:30 noauth:0 grace-exceeded:20 crash:0 min:10 max:60",
    }
    extra = [
        "MaxStartups 20:30:60",
        "PerSourceMaxStartups 10",
        "PerSourceNetBlockSize 32:128",
        "PerSourcePenaltyExemptList %s" % Net.honest,
        "MaxAuthTries 3",
        "MaxSessions 2",
        "ClientAliveInterval 1",
        "ClientAliveCountMax 2",
    ]
    if args.dataplane == "tap":
        # Small TCP buffers: a peer that reads nothing fills them soon, and
        # the engine's pre-auth cap is what holds (16 MiB by default).
        extra.append("DataTCPBuffer 256K")
    for fn in (max_sessions, max_auth_tries, client_alive, out_of_window):
        fn.env = env
    res = h.Results()
    with h.Server(args.server, "dsshd", name="hostile", override=override, extra=extra) as srv:
        res.server = srv
        if srv.tap:
            Net.tap_setup(srv)
        w = Watch(srv, env)
        unknown = channel_message(unknown_channel, "data for an unknown channel",
                                  r"message for unknown channel 4242")
        overflow = channel_message(window_overflow, "window overflow",
                                   r"(channel \d+: data past window|channel data past the "
                                   r"window)")
        unknown.env = overflow.env = env
        t0 = time.time()
        cases = [
            ("version-ssh1", version_case(b"SSH-1.5-OldClient\r\n",
                                          r"Protocol major versions differ")),
            ("version-garbage", version_case(b"GET / HTTP/1.0\r\n\r\n",
                                             r"bad protocol version identification")),
            ("version-binary", version_case(bytes(range(256)) * 4,
                                            r"(bad protocol version|version line too long)")),
            ("version-1mb", version_1mb),
            ("length-0", length_case(0)),
            ("length-5", length_case(5)),
            ("length-2^31", length_case(1 << 31)),
            ("length-2^32-1", length_case((1 << 32) - 1)),
            ("bad-padding", bad_padding),
            ("userauth-before-newkeys", out_of_order(
                bytes([MSG_USERAUTH_REQUEST]) + sshstr(b"root") + sshstr(b"ssh-connection")
                + sshstr(b"none"), "USERAUTH_REQUEST before NEWKEYS")),
            ("unknown-message-in-kex", out_of_order(bytes([199]) + b"junk",
                                                    "message 199 in the first KEX")),
            ("strict-kex-ignore", strict_kex_ignore),
            ("kexinit-flood", kexinit_flood),
            ("tiny-packets-10000", tiny_packets),
            ("bad-mac", bad_mac),
            ("unread-replies-preauth", unread_replies),
            ("unknown-channel", unknown),
            ("window-overflow", overflow),
            ("max-sessions", max_sessions),
            ("max-auth-tries-and-penalty", max_auth_tries),
            ("client-alive", client_alive),
            ("slowloris", slowloris),
            ("half-open-500", half_open),
        ]
        if srv.tap:
            # The kernel half of the cases (the packet layer runs on the data
            # core here: every byte of them passes it), then the data plane's.
            cases += [("syn-flood", syn_flood), ("out-of-window", out_of_window),
                      ("garbage-ip", garbage_ip)]
        if srv.tap:
            cases.insert(0, ("new-neighbours", new_neighbours))
        if args.only:
            cases = [c for c in cases if c[0] in args.only.split(",")]
        for name, fn in cases:
            run_case(res, w, name, fn)
        # Everyone is dropped past 60: an honest login in parallel would be
        # too (as with sshd); it runs after.
        if not args.only or "maxstartups-random-early-drop" in args.only:
            run_case(res, w, "maxstartups-random-early-drop", maxstartups_global,
                     parallel=False)
        if not args.only:
            res.run("counters", counters, srv, srv.log_size())
        h.log("%d cases in %.0f s; peak %d fds (baseline %d), RSS %d kB (baseline %d kB)"
              % (len(cases) + 2, time.time() - t0, w.max_fd, w.fd0, w.max_rss, w.rss0))
        if args.keep_log:
            subprocess.run(["cp", srv.log_path, args.keep_log])
        res.finish(srv)


def add_args(p):
    p.add_argument("--only", help="comma list of cases to run (debugging)")
    p.add_argument("--keep-log", help="copy the server's log here at the end")


if __name__ == "__main__":
    h.main(__doc__.splitlines()[0], body, add_args)
