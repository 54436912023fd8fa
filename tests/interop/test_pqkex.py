#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Post-quantum hybrid key exchange against dsshd with its default KEX list.

- dsshd's KEXINIT offers mlkem768x25519-sha256 first (OpenSSH's order).
- A stock OpenSSH client with its own default order still logs in (9.2 has
  no ML-KEM: it picks sntrup761x25519 when dsshd has it, else curve25519).
- If the installed ssh knows mlkem768x25519-sha256 (OpenSSH >= 9.9), it
  logs in with it forced.
- dssh's own client side of mlkem768x25519-sha256, over TCP to the real
  daemon: a raw SSH client here (the ML-KEM operations by tests/kat's
  mlkem_tool, X25519 / Ed25519 / AES-CTR / HMAC by python3-cryptography)
  runs the exchange, checks the host key signature over H, switches keys
  and gets SERVICE_ACCEPT through the new keys, which proves that both
  sides derived the same K (encoded as a string), H and keys.
- A C_INIT one byte short makes dsshd fail the exchange cleanly (a log
  line, a DISCONNECT) and keep serving.
"""

import hashlib
import hmac
import os
import socket
import struct
import subprocess

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import serialization

import dssh_harness as h

MLKEM = "mlkem768x25519-sha256"
MSG_DISCONNECT, MSG_SERVICE_REQUEST, MSG_SERVICE_ACCEPT = 1, 5, 6
MSG_KEXINIT, MSG_NEWKEYS, MSG_HYBRID_INIT, MSG_HYBRID_REPLY = 20, 21, 30, 31


def sstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def byte(self):
        self.i += 1
        return self.b[self.i - 1]

    def string(self):
        n = struct.unpack(">I", self.b[self.i:self.i + 4])[0]
        self.i += 4 + n
        h.check(self.i <= len(self.b), "truncated string")
        return self.b[self.i - n:self.i]


class RawClient:
    """Just enough SSH-2 transport: plain packets, then aes128-ctr +
    hmac-sha2-256 after NEWKEYS."""

    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=20)
        self.buf = b""
        self.seq_out = self.seq_in = 0
        self.enc = self.dec = None

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise h.TestFailure("server closed the connection")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def version(self):
        self.v_c = b"SSH-2.0-dssh_pqtest"
        self.s.sendall(self.v_c + b"\r\n")
        while True:
            line = b""
            while not line.endswith(b"\n"):
                line += self.recv_exact(1)
            if line.startswith(b"SSH-"):
                self.v_s = line.rstrip(b"\r\n")
                return

    def send(self, payload):
        bs = 16 if self.enc else 8
        pad = bs - (5 + len(payload)) % bs
        if pad < 4:
            pad += bs
        pkt = struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + os.urandom(pad)
        if self.enc:
            mac = hmac.new(self.mac_out, struct.pack(">I", self.seq_out) + pkt,
                           hashlib.sha256).digest()
            pkt = self.enc.update(pkt) + mac
        self.s.sendall(pkt)
        self.seq_out = (self.seq_out + 1) & 0xffffffff

    def recv(self):
        if self.dec:
            first = self.dec.update(self.recv_exact(16))
            n = struct.unpack(">I", first[:4])[0]
            h.check(n <= 35000, "bad packet length %d" % n)
            rest = self.dec.update(self.recv_exact(4 + n - 16))
            mac = self.recv_exact(32)
            pkt = first + rest
            want = hmac.new(self.mac_in, struct.pack(">I", self.seq_in) + pkt,
                            hashlib.sha256).digest()
            h.check(hmac.compare_digest(mac, want), "MAC of a server packet does not verify")
        else:
            head = self.recv_exact(4)
            n = struct.unpack(">I", head)[0]
            h.check(n <= 35000, "bad packet length %d" % n)
            pkt = head + self.recv_exact(n)
        self.seq_in = (self.seq_in + 1) & 0xffffffff
        pad = pkt[4]
        return pkt[5:len(pkt) - pad]

    def kexinit(self, kex):
        lists = [kex, "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256",
                 "hmac-sha2-256", "none", "none", "", ""]
        self.i_c = bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(sstr(x) for x in lists) + \
            b"\0" + b"\0\0\0\0"
        self.send(self.i_c)
        while True:
            m = self.recv()
            if m[0] == MSG_KEXINIT:
                self.i_s = m
                return m

    def derive(self, K_enc, H, letter, n):
        out = hashlib.sha256(K_enc + H + letter + self.session_id).digest()
        while len(out) < n:
            out += hashlib.sha256(K_enc + H + out).digest()
        return out[:n]

    def newkeys(self, K_enc, H):
        self.session_id = H
        iv_c, iv_s = self.derive(K_enc, H, b"A", 16), self.derive(K_enc, H, b"B", 16)
        k_c, k_s = self.derive(K_enc, H, b"C", 16), self.derive(K_enc, H, b"D", 16)
        self.mac_out, self.mac_in = self.derive(K_enc, H, b"E", 32), self.derive(K_enc, H, b"F", 32)
        self.send(bytes([MSG_NEWKEYS]))
        m = self.recv()
        h.check_eq(m, bytes([MSG_NEWKEYS]), "server NEWKEYS")
        self.enc = Cipher(algorithms.AES(k_c), modes.CTR(iv_c)).encryptor()
        self.dec = Cipher(algorithms.AES(k_s), modes.CTR(iv_s)).decryptor()

    def close(self):
        self.s.close()


class MlkemTool:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def call(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().split()
        h.check(out and out[0] != "error", "mlkem_tool: %r -> %r" % (line[:20], out))
        return [bytes.fromhex(x) for x in out]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def server_hostkey_raw(srv):
    with open(srv.hostkeys["ssh-ed25519"] + ".pub") as f:
        blob = __import__("base64").b64decode(f.read().split()[1])
    r = Reader(blob)
    h.check_eq(r.string(), b"ssh-ed25519", "host key type")
    return blob, r.string()


def hybrid_login(srv, tool_path):
    tool = MlkemTool(tool_path)
    c = RawClient(srv.host, srv.port)
    try:
        c.version()
        i_s = Reader(c.kexinit(MLKEM)[17:])
        server_kex = i_s.string().decode().split(",")
        h.check_eq(server_kex[0], MLKEM, "first KEX dsshd offers")
        pk, sk = tool.call("keygen %s %s" % (os.urandom(32).hex(), os.urandom(32).hex()))
        xpriv = X25519PrivateKey.generate()
        xpub = xpriv.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        c_init = pk + xpub
        c.send(bytes([MSG_HYBRID_INIT]) + sstr(c_init))
        m = c.recv()
        h.check_eq(m[0], MSG_HYBRID_REPLY, "reply message number")
        r = Reader(m[1:])
        k_s, s_reply, sig = r.string(), r.string(), r.string()
        h.check_eq(r.i, len(r.b), "bytes after the reply")
        h.check_eq(len(s_reply), 1088 + 32, "S_REPLY length")
        (k_pq,) = tool.call("decaps %s %s" % (sk.hex(), s_reply[:1088].hex()))
        k_cl = xpriv.exchange(X25519PublicKey.from_public_bytes(s_reply[1088:]))
        K_enc = sstr(hashlib.sha256(k_pq + k_cl).digest())      # K as a string
        H = hashlib.sha256(sstr(c.v_c) + sstr(c.v_s) + sstr(c.i_c) + sstr(c.i_s) +
                           sstr(k_s) + sstr(c_init) + sstr(s_reply) + K_enc).digest()
        blob, raw = server_hostkey_raw(srv)
        h.check_eq(k_s, blob, "K_S is the server's ed25519 key")
        sr = Reader(sig)
        h.check_eq(sr.string(), b"ssh-ed25519", "signature algorithm")
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(sr.string(), H)
        except Exception:
            raise h.TestFailure("host key signature over H does not verify")
        c.newkeys(K_enc, H)
        c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
        while True:
            m = c.recv()
            if m[0] != 7:       # EXT_INFO would come first if offered
                break
        h.check_eq(m, bytes([MSG_SERVICE_ACCEPT]) + sstr("ssh-userauth"),
                   "SERVICE_ACCEPT through the new keys")
    finally:
        c.close()
        tool.close()


def short_c_init(srv):
    off = srv.log_size()
    c = RawClient(srv.host, srv.port)
    try:
        c.version()
        c.kexinit(MLKEM)
        c.send(bytes([MSG_HYBRID_INIT]) + sstr(os.urandom(1215)))
        try:
            m = c.recv()
            h.check_eq(m[0], MSG_DISCONNECT, "answer to a short C_INIT")
        except (h.TestFailure, ConnectionError):
            pass            # a close without DISCONNECT is refused too
    finally:
        c.close()
    h.check(srv.wait_log(r"key exchange", off) is not None, "no log line for the bad C_INIT")
    h.check(srv.alive(), "dsshd died")


def stock_default(srv, env):
    log = os.path.join(srv.dir, "stock.log")
    r = h.ssh_run(srv, env, "echo pq-ok", verbose=1, logfile=log)
    vlog = open(log, errors="replace").read()
    h.check(r.returncode == 0 and r.stdout == b"pq-ok\n", h.describe(r) + vlog[-1500:])
    chosen = [ln.split(": ")[-1] for ln in vlog.splitlines()
              if ln.startswith("debug1: kex: algorithm: ")]
    h.check(len(chosen) == 1 and chosen[0] in (
        MLKEM, "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256"), "stock ssh chose %r" % chosen)
    h.log("stock ssh with its default order chose %s" % chosen[0])


def stock_forced(srv, env):
    kexes = h.run(["ssh", "-Q", "kex"]).stdout.decode().split()
    if MLKEM not in kexes:
        h.log("installed ssh has no %s: forced-client check not applicable" % MLKEM)
        return
    r = h.ssh_run(srv, env, "echo pq-ok", opts=["KexAlgorithms=" + MLKEM])
    h.check(r.returncode == 0 and r.stdout == b"pq-ok\n", h.describe(r))


def body(args, env):
    if args.kind != "dsshd":
        h.skip("dsshd-only test")
    # dsshd's own default KexAlgorithms (the harness pins the classic list).
    srv = h.Server(args.server, override={"KexAlgorithms": None})
    res = h.Results()
    with srv:
        res.server = srv
        res.run("hybrid-login-own-client", hybrid_login, srv, args.mlkem_tool)
        res.run("hybrid-short-c-init", short_c_init, srv)
        res.run("stock-ssh-default-order", stock_default, srv, env)
        res.run("stock-ssh-forced-mlkem", stock_forced, srv, env)
        res.run("hybrid-login-after-errors", hybrid_login, srv, args.mlkem_tool)
        res.finish(srv)


def add_args(p):
    p.add_argument("--mlkem-tool", required=True, help="tests/kat/mlkem_tool")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
