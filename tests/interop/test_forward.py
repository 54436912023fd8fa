#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tunnels through a real OpenSSH client: ssh -L (curl to a local
python3 -m http.server), ssh -D (curl --socks5-hostname), ssh -R with port 0
(the "Allocated port" reached from this side), agent forwarding (ssh-add -l
on the server side), Unix sockets both ways (with the user's file-system
rights: a socket the user may not reach or create is refused), --size bytes
(default 256 MiB) byte-exact each way, targets that refuse, never answer or
reset mid-transfer, and 500 forwarded connections over one SSH connection
with the server's fd count back to where it was.

On the DPDK data plane (--dataplane) the data core that owns the SSH
connection relays the forwarded sockets (a channel offload): the log says
so for each, the cores' telemetry counts them and the bytes they moved, a
reset is a CLOSE, and after the 500 connections the mbufs in use and
dsshd's RSS are back within a bound.

--quick: the -L and -R cases only."""

import hashlib
import os
import pwd
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import tempfile
import threading
import time

import dssh_harness as h

MIB = 1 << 20


# ---------------------------------------------------------------- targets

class _TCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256        # dsshd connects many at once


class _Unix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 256


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(65536)
            if not d:
                return
            self.request.sendall(d)


class Sink(socketserver.BaseRequestHandler):
    """Reads to EOF, answers with the sha256 of what came and the count."""
    def handle(self):
        hs, n = hashlib.sha256(), 0
        while True:
            d = self.request.recv(1 << 18)
            if not d:
                break
            hs.update(d)
            n += len(d)
        self.request.sendall(("%s %d\n" % (hs.hexdigest(), n)).encode())


class SlowSink(Sink):
    """A Sink that reads 16 KiB per millisecond or so through a small receive
    buffer: dsshd's writes to it come up short and what it holds waits
    (window shut) behind what the socket took, in order."""
    def handle(self):
        hs, n = hashlib.sha256(), 0
        while True:
            d = self.request.recv(16384)
            if not d:
                break
            hs.update(d)
            n += len(d)
            time.sleep(0.001)
        self.request.sendall(("%s %d\n" % (hs.hexdigest(), n)).encode())


class Source(socketserver.BaseRequestHandler):
    """Sends the size asked for (8 bytes) of random data, then its sha256."""
    def handle(self):
        size = struct.unpack(">Q", _recv_exact(self.request, 8))[0]
        hs = hashlib.sha256()
        left = size
        while left:
            d = os.urandom(min(left, 1 << 18))
            hs.update(d)
            self.request.sendall(d)
            left -= len(d)
        self.server.digests.append(hs.hexdigest())


class Resetter(socketserver.BaseRequestHandler):
    """Sends 1 MiB, then resets the connection (SO_LINGER 0)."""
    def handle(self):
        self.request.sendall(b"r" * MIB)
        time.sleep(0.3)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()


def _recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise h.TestFailure("connection ended after %d of %d bytes" % (len(b), n))
        b += d
    return b


def tcp_server(handler):
    return serve(_TCP(("127.0.0.1", 0), handler))


def unix_server(path, handler):
    srv = serve(_Unix(path, handler))
    os.chmod(path, 0o777)
    return srv


# ---------------------------------------------------------------- helpers

def listening(port):
    """Something listens on 127.0.0.1:port (from /proc/net/tcp, no probe)."""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fs = ln.split()
            if fs[1].endswith(want) and fs[3] == "0A":
                return True
    return False


def wait_for(cond, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise h.TestFailure("timed out waiting for %s" % what)


class Tunnel:
    """ssh -N with forwarding options, stderr in a file; a context manager."""

    def __init__(self, c, fwd, *, env=None, opts=()):
        self.c = c
        self.err_path = os.path.join(c.tmp, "ssh-%d.err" % id(self))
        argv = h.ssh_argv(c.srv, c.env, opts=["ExitOnForwardFailure=yes", "LogLevel=INFO"]
                          + list(opts))
        i = argv.index("-p")
        self.argv = argv[:i] + ["-N"] + list(fwd) + argv[i:]
        self.errf = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.errf,
                                     start_new_session=True, env=env)

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_ready(self, cond, what):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise h.TestFailure("ssh exited (%d) before %s: %s"
                                    % (self.proc.returncode, what, self.stderr()[-600:]))
            if cond():
                return self
            time.sleep(0.05)
        raise h.TestFailure("timed out waiting for %s: %s" % (what, self.stderr()[-600:]))

    def close(self):
        h.end_ssh(self.proc)
        self.errf.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Ctx:
    def __init__(self, srv, env, tmp, size):
        self.srv, self.env, self.tmp, self.size = srv, env, tmp, size
        self.www = os.path.join(tmp, "www")
        os.mkdir(self.www)
        self.page = os.urandom(300000)
        with open(os.path.join(self.www, "page.bin"), "wb") as f:
            f.write(self.page)
        self.http_port = h.free_port()
        self.http = subprocess.Popen(["python3", "-m", "http.server", "--bind", "127.0.0.1",
                                      str(self.http_port)], cwd=self.www,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: listening(self.http_port), "http.server")

    def cleanup(self):
        self.http.terminate()
        self.http.wait()


def curl(url, *extra):
    r = subprocess.run(["curl", "-sS", "--max-time", "30", "-o", "-"] + list(extra) + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    h.check(r.returncode == 0, "curl %s: %s" % (url, r.stderr.decode(errors="replace")))
    return r.stdout


def echo_once(addr, family=socket.AF_INET, payload=b"ping\n"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(addr)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            return b""          # ssh ended it already (a refused channel)
        got = b""
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                return got      # ended either way (ssh resets what it did not read)
            if not d:
                return got
            got += d


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def dataplane(c):
    return c.srv.kind == "dsshd" and h.Server.dataplane is not None


def telemetry(srv, cmd="/dssh/stats"):
    """A DPDK telemetry command's answer (the data plane's counters)."""
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


def check_relayed(c, what, off):
    """On the data plane: the data core took the channel's socket."""
    if dataplane(c):
        h.check(c.srv.wait_log(r"channel \d+: %s: relayed by the data core" % what, off)
                is not None, "no log line: %s not relayed by the data core" % what)


# ---------------------------------------------------------------- cases

def case_local_http(c):
    lp = h.free_port()
    off = c.srv.log_size()
    with Tunnel(c, ["-L", "%d:127.0.0.1:%d" % (lp, c.http_port)]) as t:
        t.wait_ready(lambda: listening(lp), "-L listener")
        st0 = telemetry(c.srv) if dataplane(c) else None
        got = curl("http://127.0.0.1:%d/page.bin" % lp)
        h.check(got == c.page, "page through -L differs (%d bytes)" % len(got))
        check_relayed(c, r"127\.0\.0\.1 port %d" % c.http_port, off)
        if st0 is not None:
            st = telemetry(c.srv)
            h.check(st["chan_offloads"] > st0["chan_offloads"], "no channel offload counted")
            # The page came out of the core's reads of the socket.
            h.check(st["chan_tx_bytes"] - st0["chan_tx_bytes"] >= len(c.page),
                    "the core read %d bytes of the target, the page is %d"
                    % (st["chan_tx_bytes"] - st0["chan_tx_bytes"], len(c.page)))


def case_socks(c):
    dp = h.free_port()
    with Tunnel(c, ["-D", "127.0.0.1:%d" % dp]) as t:
        t.wait_ready(lambda: listening(dp), "-D listener")
        for host in ("localhost", "127.0.0.1"):
            got = curl("http://%s:%d/page.bin" % (host, c.http_port),
                       "--socks5-hostname", "127.0.0.1:%d" % dp)
            h.check(got == c.page, "page through -D (%s) differs" % host)


def allocated_port(t):
    m = re.search(r"Allocated port (\d+) for remote forward", t.stderr())
    return int(m.group(1)) if m else None


def case_remote_port0(c):
    with Tunnel(c, ["-R", "0:127.0.0.1:%d" % c.http_port]) as t:
        t.wait_ready(lambda: allocated_port(t) is not None, "Allocated port")
        port = allocated_port(t)
        h.check(listening(port), "nothing listens on the allocated port %d" % port)
        off = c.srv.log_size()
        got = curl("http://127.0.0.1:%d/page.bin" % port)
        h.check(got == c.page, "page through -R differs")
        check_relayed(c, r"\S* ?port %d from 127\.0\.0\.1 port \d+" % port, off)
        # Two at once over the same listener.
        res = []
        th = [threading.Thread(target=lambda: res.append(
            curl("http://127.0.0.1:%d/page.bin" % port))) for _ in range(4)]
        for x in th:
            x.start()
        for x in th:
            x.join()
        h.check(res == [c.page] * 4, "parallel pages through -R differ")
    # The listener goes with the connection.
    wait_for(lambda: not listening(port), "the -R listener to close")


def case_remote_fixed_cancel(c):
    """-R on a fixed port, then ssh -O cancel-free: a second -R on the
    same port while the first holds it is refused (ExitOnForwardFailure)."""
    port = h.free_port()
    echo = tcp_server(Echo)
    try:
        with Tunnel(c, ["-R", "%d:127.0.0.1:%d" % (port, echo.server_address[1])]) as t:
            t.wait_ready(lambda: listening(port), "-R listener")
            h.check_eq(echo_once(("127.0.0.1", port)), b"ping\n", "echo through -R")
            with Tunnel(c, ["-R", "%d:127.0.0.1:%d" % (port, echo.server_address[1])]) as t2:
                t2.proc.wait(30)
                h.check(t2.proc.returncode != 0, "second -R on a busy port did not fail")
                h.check("remote port forwarding failed" in t2.stderr(), t2.stderr())
        wait_for(lambda: not listening(port), "the -R listener to close")
    finally:
        echo.shutdown()
        echo.server_close()


def case_cancel(c):
    """ssh -O cancel through a control master: cancel-tcpip-forward and
    cancel-streamlocal-forward close the listeners, the connection stays."""
    ctl = os.path.join(c.tmp, "ctl")
    port = h.free_port()
    rdir = user_dir(c, 0o755)
    rsock = os.path.join(rdir, "c.sock")
    fwd = ["-R", "%d:127.0.0.1:%d" % (port, c.http_port), "-R", "%s:%s" % (rsock, "/nonexistent")]
    with Tunnel(c, ["-M", "-S", ctl] + fwd) as t:
        t.wait_ready(lambda: listening(port) and os.path.exists(rsock), "-R listeners")
        argv = h.ssh_argv(c.srv, c.env)
        i = argv.index("-p")
        for f in (fwd[:2], fwd[2:]):
            r = subprocess.run(argv[:i] + ["-S", ctl, "-O", "cancel"] + f + argv[i:],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            h.check(r.returncode == 0, h.describe(r))
        wait_for(lambda: not listening(port) and not os.path.exists(rsock),
                 "cancelled listeners to close")
        h.check(t.proc.poll() is None, "the master ended with the cancels")
        h.check(c.srv.wait_log(r"forwarding of %s cancelled" % re.escape(rsock)) is not None,
                "no log line for the cancel")


def case_privileged_port(c):
    with Tunnel(c, ["-R", "1022:127.0.0.1:%d" % c.http_port]) as t:
        t.proc.wait(30)
        h.check(t.proc.returncode != 0, "-R on port 1022 as a user did not fail")
        h.check(not listening(1022), "port 1022 listens")
    h.check(c.srv.wait_log(r"refused remote port forward: listen host \S+ port 1022 "
                           r"\(privileged port") is not None, "no log line")


def agent_ssh(c, cmd, sock, key="ed25519"):
    """ssh -A with sock as the agent (the harness's IdentityAgent=none
    would turn agent forwarding off)."""
    argv = h.ssh_argv(c.srv, c.env, key=key, opts=["ForwardAgent=yes"], command=cmd)
    argv[argv.index("IdentityAgent=none")] = "IdentityAgent=%s" % sock
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, start_new_session=True)


def case_agent(c):
    adir = tempfile.mkdtemp(dir=c.tmp)
    sock = os.path.join(adir, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(sock), "ssh-agent")
        aenv = dict(os.environ, SSH_AUTH_SOCK=sock)
        h.run(["ssh-add", "-q", c.env.keys["ecdsa"]], env=aenv)
        fp = subprocess.run(["ssh-keygen", "-lf", c.env.keys["ecdsa"] + ".pub"],
                            stdout=subprocess.PIPE, check=True).stdout.split()[1].decode()
        cmd = ('ssh-add -l; echo "SOCK=$SSH_AUTH_SOCK"; '
               'stat -c "DIR=%U %a" "$(dirname "$SSH_AUTH_SOCK")"; '
               'stat -c "FILE=%U %a" "$SSH_AUTH_SOCK"')
        r = agent_ssh(c, cmd, sock)
        out = r.stdout.decode(errors="replace")
        h.check(r.returncode == 0 and fp in out, "ssh-add -l through the agent: %s"
                % h.describe(r))
        h.check("DIR=%s 700" % h.TEST_USER in out, "agent directory not private: %s" % out)
        h.check("FILE=%s 600" % h.TEST_USER in out, "agent socket not the user's: %s" % out)
        m = re.search(r"SOCK=(\S+)", out)
        h.check(m is not None, out)
        wait_for(lambda: not os.path.exists(os.path.dirname(m.group(1))),
                 "the agent directory to be removed")
        # Without -A there is no SSH_AUTH_SOCK.
        r = h.ssh_run(c.srv, c.env, 'echo "SOCK=${SSH_AUTH_SOCK:-none}"')
        h.check(b"SOCK=none" in r.stdout, h.describe(r))
        # A key with restrict: agent forwarding refused, the session still runs.
        r = agent_ssh(c, 'echo "SOCK=${SSH_AUTH_SOCK:-none}"', sock, key="opt_restrict")
        h.check(b"SOCK=none" in r.stdout, h.describe(r))
    finally:
        agent.terminate()
        agent.wait()


def user_dir(c, mode):
    """A directory the test user owns (mode), reachable by the user."""
    pw = pwd.getpwnam(h.TEST_USER)
    d = tempfile.mkdtemp(dir=c.tmp)
    os.chown(d, pw.pw_uid, pw.pw_gid)
    os.chmod(d, mode)
    return d


def case_unix_both_ways(c):
    os.chmod(c.tmp, 0o755)
    shared = tempfile.mkdtemp(dir=c.tmp)
    os.chmod(shared, 0o755)
    remote_sock = os.path.join(shared, "remote.sock")
    local_sock = os.path.join(c.tmp, "local.sock")
    es = unix_server(remote_sock, Echo)
    try:
        # -L local.sock:remote.sock (dsshd connects as the user).
        with Tunnel(c, ["-L", "%s:%s" % (local_sock, remote_sock)]) as t:
            t.wait_ready(lambda: os.path.exists(local_sock), "-L socket")
            h.check_eq(echo_once(local_sock, socket.AF_UNIX, b"unix-L\n"), b"unix-L\n",
                       "echo through -L unix")
        # -R remote.sock:local echo (dsshd binds as the user).
        rdir = user_dir(c, 0o755)
        rsock = os.path.join(rdir, "fwd.sock")
        with Tunnel(c, ["-R", "%s:%s" % (rsock, remote_sock)]) as t:
            t.wait_ready(lambda: os.path.exists(rsock), "-R socket")
            st = os.stat(rsock)
            h.check_eq(pwd.getpwuid(st.st_uid).pw_name, h.TEST_USER, "owner of the -R socket")
            h.check_eq(st.st_mode & 0o777, 0o600, "mode of the -R socket (StreamLocalBindMask)")
            h.check_eq(echo_once(rsock, socket.AF_UNIX, b"unix-R\n"), b"unix-R\n",
                       "echo through -R unix")
        wait_for(lambda: not os.path.exists(rsock), "the -R socket to be removed")
        # The user may not create a socket in a root-owned directory ...
        rootdir = tempfile.mkdtemp(dir=c.tmp)
        os.chmod(rootdir, 0o755)
        with Tunnel(c, ["-R", "%s:%s" % (os.path.join(rootdir, "x.sock"), remote_sock)]) as t:
            t.proc.wait(30)
            h.check(t.proc.returncode != 0, "-R into a root directory did not fail")
        h.check(not os.path.exists(os.path.join(rootdir, "x.sock")), "socket made as root")
        # ... nor reach one in a root-only directory.
        private = tempfile.mkdtemp(dir=c.tmp)
        os.chmod(private, 0o700)
        psock = os.path.join(private, "p.sock")
        ps = unix_server(psock, Echo)
        try:
            with Tunnel(c, ["-L", "%s:%s" % (local_sock + "2", psock)]) as t:
                t.wait_ready(lambda: os.path.exists(local_sock + "2"), "-L socket")
                got = echo_once(local_sock + "2", socket.AF_UNIX, b"secret\n")
                h.check_eq(got, b"", "reply through a socket the user may not reach")
            h.check(c.srv.wait_log(r"connect to %s failed: Permission denied" % re.escape(psock))
                    is not None, "no log line for the refused Unix connect")
        finally:
            ps.shutdown()
            ps.server_close()
    finally:
        es.shutdown()
        es.server_close()


def _upload(port, size):
    """size random bytes up, half-closed; returns (their sha256 and count
    line, the target's answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        hs, left = hashlib.sha256(), size
        while left:
            d = os.urandom(min(left, 1 << 18))
            hs.update(d)
            s.sendall(d)
            left -= len(d)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            d = s.recv(200)
            if not d:
                break
            reply += d
    return "%s %d\n" % (hs.hexdigest(), size), reply.decode()


def case_bulk(c):
    sink, source = tcp_server(Sink), tcp_server(Source)
    slow = tcp_server(SlowSink)
    # accepted sockets inherit it: short writes from dsshd
    slow.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    source.digests = []
    lp1, lp2, lp3 = h.free_port(), h.free_port(), h.free_port()
    try:
        with Tunnel(c, ["-L", "%d:127.0.0.1:%d" % (lp1, sink.server_address[1]),
                        "-L", "%d:127.0.0.1:%d" % (lp2, source.server_address[1]),
                        "-L", "%d:127.0.0.1:%d" % (lp3, slow.server_address[1])]) as t:
            t.wait_ready(lambda: listening(lp1) and listening(lp2) and listening(lp3),
                         "-L listeners")
            # Up: client -> target.
            want, got = _upload(lp1, c.size)
            h.check_eq(got, want, "upload digest")
            # Up to a slow target: 8 MiB, then the answer after our half-close.
            want, got = _upload(lp3, 8 * MIB)
            h.check_eq(got, want, "upload digest (slow target)")
            # Down: target -> client.
            with socket.create_connection(("127.0.0.1", lp2), timeout=120) as s:
                s.sendall(struct.pack(">Q", c.size))
                hs, n = hashlib.sha256(), 0
                while True:
                    d = s.recv(1 << 18)
                    if not d:
                        break
                    hs.update(d)
                    n += len(d)
            h.check_eq(n, c.size, "download size")
            h.check_eq(source.digests, [hs.hexdigest()], "download digest")
    finally:
        for s in (sink, source, slow):
            s.shutdown()
            s.server_close()


def case_bad_targets(c):
    closed = h.free_port()          # nothing listens there
    # A listener whose backlog is full: SYNs to it are dropped, the connect hangs.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(full.getsockname())
        fillers.append(f)
    time.sleep(0.2)
    rst = tcp_server(Resetter)
    lc, lh, lr, lw, ln = (h.free_port() for _ in range(5))
    try:
        with Tunnel(c, ["-L", "%d:127.0.0.1:%d" % (lc, closed),
                        "-L", "%d:127.0.0.1:%d" % (lh, full.getsockname()[1]),
                        "-L", "%d:127.0.0.1:%d" % (lr, rst.server_address[1]),
                        "-L", "%d:127.0.0.1:%d" % (lw, c.http_port),
                        "-L", "%d:no-such-host.invalid:80" % ln]) as t:
            t.wait_ready(lambda: all(listening(p) for p in (lc, lh, lr, lw, ln)), "-L listeners")
            off = c.srv.log_size()
            # Refused: the client's connection just ends.
            h.check_eq(echo_once(("127.0.0.1", lc)), b"", "reply from a refused target")
            h.check(c.srv.wait_log(r"connect to 127\.0\.0\.1 port %d failed: Connection refused"
                                   % closed, off) is not None, "no log line for the refusal")
            h.check("open failed: connect failed" in t.stderr(), t.stderr()[-400:])
            # A name that does not resolve (looked up off the loop thread).
            h.check_eq(echo_once(("127.0.0.1", ln)), b"", "reply from an unknown host")
            h.check(c.srv.wait_log(r"connect to no-such-host\.invalid port 80 failed", off,
                                   timeout=30) is not None, "no log line for the unknown host")
            # Never answers: the connect hangs, everything else goes on.
            hang = socket.create_connection(("127.0.0.1", lh), timeout=5)
            time.sleep(0.5)
            got = curl("http://127.0.0.1:%d/page.bin" % lw)
            h.check(got == c.page, "page while a connect hangs")
            hang.close()
            # Reset mid-transfer: the data before it, then the end.
            with socket.create_connection(("127.0.0.1", lr), timeout=20) as s:
                n = 0
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        n += len(d)
                except ConnectionResetError:
                    pass
            h.check(n <= MIB, "more than was sent before the reset")
            if dataplane(c):
                h.check(c.srv.wait_log(r"127\.0\.0\.1 port %d: reset" % rst.server_address[1],
                                       off) is not None, "no log line for the reset")
            got = curl("http://127.0.0.1:%d/page.bin" % lw)
            h.check(got == c.page, "page after a reset")
    finally:
        rst.shutdown()
        rst.server_close()
        for f in fillers:
            f.close()
        full.close()


def case_many(c, count=500):
    echo = tcp_server(Echo)
    lp = h.free_port()
    pid = c.srv.proc.pid
    try:
        with Tunnel(c, ["-L", "%d:127.0.0.1:%d" % (lp, echo.server_address[1])]) as t:
            t.wait_ready(lambda: listening(lp), "-L listener")
            h.check_eq(echo_once(("127.0.0.1", lp)), b"ping\n", "first echo")
            time.sleep(0.5)
            base = fd_count(pid)
            rss0 = rss_kib(pid)
            st0 = telemetry(c.srv) if dataplane(c) else None
            # In waves of 50 at once, each a whole round trip.
            for w in range(count // 50):
                socks = [socket.create_connection(("127.0.0.1", lp), timeout=20)
                         for _ in range(50)]
                for i, s in enumerate(socks):
                    s.sendall(b"%d-%d\n" % (w, i))
                for i, s in enumerate(socks):
                    want = b"%d-%d\n" % (w, i)
                    h.check_eq(_recv_exact(s, len(want)), want, "echo %d/%d" % (w, i))
                    s.close()
            wait_for(lambda: fd_count(pid) <= base, "dsshd's fds back to %d (now %d)"
                     % (base, fd_count(pid)), timeout=20)
            h.check_eq(echo_once(("127.0.0.1", lp)), b"ping\n", "echo after the many")
            # Memory: no per-connection leftovers (ASan's allocator keeps
            # freed memory in quarantine, hence a generous bound).
            rss = rss_kib(pid)
            h.check(rss - rss0 < 64 * 1024, "dsshd's RSS grew by %d KiB over %d connections"
                    % (rss - rss0, count))
            if st0 is not None:
                st = telemetry(c.srv)
                h.check(st["chan_offloads"] - st0["chan_offloads"] >= count,
                        "%d of %d connections relayed by the data core"
                        % (st["chan_offloads"] - st0["chan_offloads"], count))
                h.check_eq(st["chan_queued"], 0, "bytes the core still queues")
                h.check(st["mbuf_in_use"] <= st0["mbuf_in_use"] + 64,
                        "mbufs in use %d, before %d" % (st["mbuf_in_use"], st0["mbuf_in_use"]))
    finally:
        echo.shutdown()
        echo.server_close()


def case_no_port_forwarding(c):
    """A key with restrict: -L, -R refused cleanly, with log lines."""
    lp = h.free_port()
    off = c.srv.log_size()
    # -R: the global request is refused.
    argv = h.ssh_argv(c.srv, c.env, key="opt_restrict",
                      opts=["ExitOnForwardFailure=yes", "LogLevel=INFO"])
    i = argv.index("-p")
    rr = subprocess.run(argv[:i] + ["-N", "-R", "0:127.0.0.1:%d" % c.http_port] + argv[i:],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    h.check(rr.returncode != 0 and b"remote port forwarding failed" in rr.stderr,
            h.describe(rr))
    h.check(c.srv.wait_log(r"refused remote port forward: listen host \S+ port 0 "
                           r"\(key option restrict", off) is not None,
            "no log line for the -R refusal")
    # -L: the channel open is refused.
    argv = h.ssh_argv(c.srv, c.env, key="opt_restrict", opts=["LogLevel=INFO"])
    i = argv.index("-p")
    p = subprocess.Popen(argv[:i] + ["-N", "-L", "%d:127.0.0.1:%d" % (lp, c.http_port)]
                         + argv[i:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: listening(lp), "-L listener")
        h.check_eq(echo_once(("127.0.0.1", lp), payload=b"GET / HTTP/1.0\r\n\r\n"), b"",
                   "reply through a refused -L")
        h.check(c.srv.wait_log(r"refused local port forward: .*target 127\.0\.0\.1 port %d"
                               % c.http_port, off) is not None, "no log line for the -L refusal")
    finally:
        h.end_ssh(p)
        err = p.stderr.read()
        p.stderr.close()
    h.check(b"administratively prohibited" in err, err.decode(errors="replace"))


def case_policy(c, args):
    """The config's forwarding keywords (lib/auth's policy) at work."""
    other = h.free_port()
    lp, lp2, lp3 = h.free_port(), h.free_port(), h.free_port()
    shared = tempfile.mkdtemp(dir=c.tmp)
    os.chmod(shared, 0o755)
    usock = os.path.join(shared, "u.sock")
    es = unix_server(usock, Echo)
    extra = ["AllowTcpForwarding local", "PermitOpen 127.0.0.1:%d" % c.http_port,
             "AllowStreamLocalForwarding no", "AllowAgentForwarding no"]
    try:
        with h.Server(args.server, args.kind, name="forward-policy", extra=extra) as srv:
            pc = Ctx.__new__(Ctx)
            pc.__dict__.update(c.__dict__)
            pc.srv = srv
            # Allowed by PermitOpen.
            with Tunnel(pc, ["-L", "%d:127.0.0.1:%d" % (lp, c.http_port),
                             "-L", "%d:127.0.0.1:%d" % (lp2, other),
                             "-L", "%s:%s" % (os.path.join(c.tmp, "p.sock"), usock)]) as t:
                t.wait_ready(lambda: listening(lp) and listening(lp2), "-L listeners")
                h.check(curl("http://127.0.0.1:%d/page.bin" % lp) == c.page, "allowed -L")
                off = srv.log_size()
                h.check_eq(echo_once(("127.0.0.1", lp2)), b"", "reply through a refused -L")
                h.check(srv.wait_log(r"to connect to host 127\.0\.0\.1 port %d, but the "
                                     r"request was denied \(PermitOpen\)" % other, off)
                        is not None, "no PermitOpen log line")
                h.check_eq(echo_once(os.path.join(c.tmp, "p.sock"), socket.AF_UNIX), b"",
                           "reply through a refused Unix -L")
                h.check(srv.wait_log(r"AllowStreamLocalForwarding", off) is not None,
                        "no AllowStreamLocalForwarding log line")
            # -R refused by AllowTcpForwarding local.
            with Tunnel(pc, ["-R", "%d:127.0.0.1:%d" % (lp3, c.http_port)]) as t:
                t.proc.wait(30)
                h.check(t.proc.returncode != 0, "-R allowed with AllowTcpForwarding local")
            h.check(srv.wait_log(r"refused remote port forward: .*\(AllowTcpForwarding")
                    is not None, "no AllowTcpForwarding log line")
            # Agent forwarding refused: no SSH_AUTH_SOCK, the command still runs.
            r = agent_ssh(pc, 'echo "SOCK=${SSH_AUTH_SOCK:-none}"', "/nonexistent")
            h.check(b"SOCK=none" in r.stdout, h.describe(r))
    finally:
        es.shutdown()
        es.server_close()


def case_clean_exit(c):
    """After everything: dsshd ends on SIGTERM with status 0 and no
    sanitizer report (a leaked channel, socket buffer or listener would
    show up in LeakSanitizer's)."""
    proc = c.srv.proc
    # Every thread has the same ids: dsshd's own unprivileged user
    # (privilege separation: the monitor makes the user's Unix sockets),
    # root for a server that keeps it (sshd's listener).
    creds = set()
    for task in os.listdir("/proc/%d/task" % proc.pid):
        with open("/proc/%d/task/%s/status" % (proc.pid, task)) as f:
            st = dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)
        creds.add((st["Uid"].split()[3], st["Gid"].split()[3], st["Groups"].strip()))
    h.check_eq(len(creds), 1, "threads with different credentials: %r" % creds)
    want = ("0", "0")
    if c.srv.kind == "dsshd":
        pw = pwd.getpwnam("dsshd")
        want = (str(pw.pw_uid), str(pw.pw_gid))
    h.check_eq(next(iter(creds))[:2], want, "fsuid/fsgid of dsshd's threads")
    off = c.srv.log_size()
    c.srv.stop()
    time.sleep(0.5)
    h.check_eq(proc.returncode, 0, "dsshd's exit status")
    text = c.srv.log_since(off)
    h.check("Sanitizer" not in text, "sanitizer report at exit:\n%s" % text[-3000:])


def body(args, env):
    for tool in ("curl", "ssh-agent", "ssh-add"):
        if shutil.which(tool) is None:
            h.skip("%s not installed" % tool)
    size = parse_size(args.size)
    res = h.Results()
    with h.Server(args.server, args.kind, name="forward") as srv, \
            tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        res.server = srv
        c = Ctx(srv, env, tmp, size)
        try:
            res.run("local-http", case_local_http, c)
            res.run("remote-port0", case_remote_port0, c)
            if not args.quick:
                res.run("socks", case_socks, c)
                res.run("remote-fixed-busy", case_remote_fixed_cancel, c)
                res.run("privileged-port", case_privileged_port, c)
                res.run("cancel", case_cancel, c)
                res.run("agent", case_agent, c)
                res.run("unix-both-ways", case_unix_both_ways, c)
                res.run("bad-targets", case_bad_targets, c)
                res.run("no-port-forwarding", case_no_port_forwarding, c)
                res.run("many-connections", case_many, c)
                res.run("policy", case_policy, c, args)
            res.run("bulk", case_bulk, c)
            res.run("clean-exit", case_clean_exit, c)
        finally:
            c.cleanup()
        res.finish(srv)


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s)
    if not m:
        raise ValueError("bad size %r" % s)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def add_args(p):
    p.add_argument("--size", default="256M", help="bytes relayed each way (bulk)")
    p.add_argument("--quick", action="store_true", help="-L, -R and bulk only")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
