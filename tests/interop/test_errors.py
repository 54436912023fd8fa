#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hostile and broken peers: each gets its connection dropped and logged,
while a concurrent good session carries on and new logins still work.

- "SSH-1.5-..." gets "Protocol major versions differ" and is closed.
- Malformed packets after the version string (bad padding length, random
  garbage), an oversize packet length (256 KiB + 1, 2^32-1: closed without
  the server waiting for the body).
- A bit flipped in an encrypted packet (through a TCP proxy, after login) for
  AEAD, plain-MAC and encrypt-then-MAC ciphers: MAC/tag failure, disconnect.
"""

import random
import re
import select
import socket
import struct
import subprocess
import threading
import time

import dssh_harness as h

# What each server kind logs for each fault (dsshd: loose, its own wording).
LOG_RX = {
    "sshd": {
        "version": r"Protocol major versions differ",
        "padding": r"(Corrupted padlen|padding error|message authentication code incorrect|"
                   r"Connection corrupted)",
        "garbage": r"(Bad packet length|Connection corrupted|Corrupted padlen|"
                   r"invalid format|Bad protocol version)",
        "oversize": r"Bad packet length (262145|4294967295)",
        "mac": r"(message authentication code incorrect|Corrupted MAC)",
    },
    "dsshd": {
        "version": r"protocol major versions differ",
        "padding": r"(padding|corrupt|bad packet|invalid packet|malformed)",
        "garbage": r"(packet|length|corrupt|malformed|invalid)",
        "oversize": r"(length (262145|4294967295)|too (big|large|long)|oversize)",
        "mac": r"(corrupt|incorrect|integrity|tag mismatch|decrypt\S* fail|bad mac)",
    },
}


def recv_until_eof(s, timeout):
    """Reads until EOF/reset; returns (data, closed)."""
    s.settimeout(0.5)
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def raw_connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.settimeout(10)
    banner = b""
    while not banner.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise h.TestFailure("server closed before sending its version")
        banner += c
    h.check(banner.startswith(b"SSH-2.0-") and banner.endswith(b"\r\n"),
            "server version line %r" % banner)
    return s, banner


def check_logged(srv, offset, kind, what):
    rx = r"[^\n]*" + LOG_RX[srv.kind][kind] + r"[^\n]*"
    m = srv.wait_log(rx, offset, timeout=10, flags=re.I)
    h.check(m is not None, "%s: server log has no line matching %r; new log text:\n%s"
            % (what, LOG_RX[srv.kind][kind], srv.log_since(offset)[-2000:]))
    h.log("%s: server logged: %s" % (what, m.group(0).strip()))


def version_1(srv):
    off = srv.log_size()
    s, _ = raw_connect(srv)
    try:
        s.sendall(b"SSH-1.5-OldClient\r\n")
        data, closed = recv_until_eof(s, 10)
    finally:
        s.close()
    h.check(closed, "connection not closed after SSH-1.5 version")
    h.check(b"Protocol major versions differ" in data,
            "reply to SSH-1.5 lacks 'Protocol major versions differ': %r" % data[:300])
    check_logged(srv, off, "version", "SSH-1.5")


def bad_packet(srv, payload, kind, what):
    off = srv.log_size()
    s, _ = raw_connect(srv)
    try:
        s.sendall(b"SSH-2.0-HostileTest_1.0\r\n" + payload)
        t0 = time.time()
        _, closed = recv_until_eof(s, 15)
        dt = time.time() - t0
    finally:
        s.close()
    h.check(closed, "%s: connection still open after 15 s" % what)
    h.log("%s: closed after %.2fs" % (what, dt))
    check_logged(srv, off, kind, what)


def bad_padding(srv):
    # packet_length 12, padding_length 2 (< 4), 11 more bytes: RFC 4253 6.
    bad_packet(srv, struct.pack(">IB", 12, 2) + bytes([20]) + b"\0" * 10,
               "padding", "padding length 2")


def garbage(srv):
    rnd = random.Random(4253)
    junk = bytes(rnd.getrandbits(8) for _ in range(4096))
    bad_packet(srv, junk, "garbage", "4 KiB of garbage")


def oversize(srv, length):
    # Only the length and 12 bytes: the server must not wait for the body.
    bad_packet(srv, struct.pack(">I", length) + b"\x0a" + b"\0" * 11,
               "oversize", "packet length %d" % length)


class FlipProxy:
    """TCP proxy to the server; once armed, flips the last bit of the next
    client->server chunk (the end of an encrypted packet's MAC or tag)."""

    def __init__(self, srv):
        self.srv = srv
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.armed = threading.Event()
        self.flipped = threading.Event()
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        c, _ = self.lsock.accept()
        u = socket.create_connection(("127.0.0.1", self.srv.port))
        socks = [c, u]
        try:
            while True:
                r, _, _ = select.select(socks, [], [], 30)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is c:
                        if self.armed.is_set() and not self.flipped.is_set():
                            data = data[:-1] + bytes([data[-1] ^ 1])
                            self.flipped.set()
                        u.sendall(data)
                    else:
                        c.sendall(data)
        except OSError:
            return
        finally:
            c.close()
            u.close()
            self.lsock.close()


def bad_mac(srv, env, cipher, mac):
    proxy = FlipProxy(srv)

    class Via:
        """The proxy in front of the server, as ssh_argv sees a server."""
        port = proxy.port
        host = "127.0.0.1"

        @staticmethod
        def client_prefix():
            return []
    opts = ["Ciphers=" + cipher] + (["MACs=" + mac] if mac else [])
    argv = h.ssh_argv(Via, env, opts=opts, command="echo ready; cat; echo after-cat")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        line = p.stdout.readline()
        h.check_eq(line, b"ready\n", "first line through the proxy")
        off = srv.log_size()
        proxy.armed.set()
        p.stdin.write(b"this packet gets a flipped bit\n")
        p.stdin.flush()
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise h.TestFailure("ssh still connected 15 s after a corrupted packet")
        out = p.stdout.read()
        h.check(proxy.flipped.is_set(), "proxy did not flip a bit")
        h.check_eq(rc, 255, "ssh exit status after corrupted packet")
        h.check(b"this packet" not in out and b"after-cat" not in out,
                "corrupted data was delivered: %r" % out)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check_logged(srv, off, "mac", "bad MAC with %s/%s" % (cipher, mac))


def fresh_login(srv, env):
    r = h.ssh_run(srv, env, "echo still-serving")
    h.check_eq((r.returncode, r.stdout, r.stderr), (0, b"still-serving\n", b""),
               "new login after the faults")


def body(args, env):
    res = h.Results()
    with h.Server(args.server, args.kind, name="errors") as srv:
        # The concurrent good session: logged in before, finished after.
        good = subprocess.Popen(
            h.ssh_argv(srv, env, command="echo good-up; read x; echo got-$x; exit 5"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            h.check_eq(good.stdout.readline(), b"good-up\n", "good session start")
            res.run("ssh-1.5", version_1, srv)
            res.run("bad-padding", bad_padding, srv)
            res.run("garbage", garbage, srv)
            res.run("oversize-256k+1", oversize, srv, 256 * 1024 + 1)
            res.run("oversize-4g", oversize, srv, 0xFFFFFFFF)
            for cipher, mac in (("aes128-gcm@openssh.com", None),
                                ("chacha20-poly1305@openssh.com", None),
                                ("aes256-ctr", "hmac-sha2-256"),
                                ("aes128-ctr", "hmac-sha2-512-etm@openssh.com")):
                res.run("bad-mac-%s-%s" % (cipher, mac or "implicit"),
                        bad_mac, srv, env, cipher, mac)
            res.run("fresh-login", fresh_login, srv, env)

            def good_session():
                out, err = good.communicate(b"hello\n", timeout=20)
                h.check_eq((good.returncode, out, err), (5, b"got-hello\n", b""),
                           "concurrent good session (exit, stdout, stderr)")
            res.run("concurrent-session-survived", good_session)
        finally:
            if good.poll() is None:
                good.kill()
                good.wait()
        h.check(srv.alive(), "server died")
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
