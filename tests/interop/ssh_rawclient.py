# SPDX-License-Identifier: BSD-3-Clause
"""A raw SSH-2 client for key exchange tests and benchmarks (no OpenSSH).

Just enough transport to run one key exchange and prove both sides agree:
version exchange, KEXINIT (one method each, ssh-ed25519, aes128-ctr,
hmac-sha2-256-etm@openssh.com), the method's INIT/REPLY, host key signature check over H,
NEWKEYS, then SERVICE_REQUEST "ssh-userauth" / SERVICE_ACCEPT through the
new keys. Methods: curve25519-sha256 (K an mpint) and mlkem768x25519-sha256
(K a string; ML-KEM by tests/kat's mlkem_tool). X25519, Ed25519, AES-CTR and
HMAC from python3-cryptography.
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


class RawError(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise RawError(msg)


def check_eq(got, want, what):
    if got != want:
        raise RawError("%s: got %r, want %r" % (what, got, want))


def mpint(b):
    b = b.lstrip(b"\0")
    if b and b[0] & 0x80:
        b = b"\0" + b
    return sstr(b)


MLKEM = "mlkem768x25519-sha256"
SNTRUP = "sntrup761x25519-sha512@openssh.com"     # OpenSSH 9.2 knows this name
SNTRUP_NAMES = (SNTRUP, "sntrup761x25519-sha512")
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
        check(self.i <= len(self.b), "truncated string")
        return self.b[self.i - n:self.i]


class RawClient:
    """Just enough SSH-2 transport: plain packets, then aes128-ctr +
    hmac-sha2-256-etm@openssh.com (the length in clear, the MAC over the
    ciphertext) after NEWKEYS."""

    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=20)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.seq_out = self.seq_in = 0
        self.enc = self.dec = None

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise RawError("server closed the connection")
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
        # with ETM the 4-byte length is outside the padded, encrypted part
        pad = bs - ((1 if self.enc else 5) + len(payload)) % bs
        if pad < 4:
            pad += bs
        pkt = struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + os.urandom(pad)
        if self.enc:
            pkt = pkt[:4] + self.enc.update(pkt[4:])
            pkt += hmac.new(self.mac_out, struct.pack(">I", self.seq_out) + pkt,
                            hashlib.sha256).digest()
        self.s.sendall(pkt)
        self.seq_out = (self.seq_out + 1) & 0xffffffff

    def recv(self):
        if self.dec:
            head = self.recv_exact(4)
            n = struct.unpack(">I", head)[0]
            check(n <= 35000, "bad packet length %d" % n)
            body = self.recv_exact(n)
            mac = self.recv_exact(32)
            want = hmac.new(self.mac_in, struct.pack(">I", self.seq_in) + head + body,
                            hashlib.sha256).digest()
            check(hmac.compare_digest(mac, want), "MAC of a server packet does not verify")
            pkt = head + self.dec.update(body)
        else:
            head = self.recv_exact(4)
            n = struct.unpack(">I", head)[0]
            check(n <= 35000, "bad packet length %d" % n)
            pkt = head + self.recv_exact(n)
        self.seq_in = (self.seq_in + 1) & 0xffffffff
        pad = pkt[4]
        return pkt[5:len(pkt) - pad]

    def kexinit(self, kex):
        lists = [kex, "ssh-ed25519", "aes128-ctr", "aes128-ctr",
                 "hmac-sha2-256-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
                 "none", "none", "", ""]
        self.i_c = bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(sstr(x) for x in lists) + \
            b"\0" + b"\0\0\0\0"
        self.send(self.i_c)
        while True:
            m = self.recv()
            if m[0] == MSG_KEXINIT:
                self.i_s = m
                return m

    def derive(self, K_enc, H, letter, n):
        hf = self.hash
        out = hf(K_enc + H + letter + self.session_id).digest()
        while len(out) < n:
            out += hf(K_enc + H + out).digest()
        return out[:n]

    def newkeys(self, K_enc, H):
        self.session_id = H
        iv_c, iv_s = self.derive(K_enc, H, b"A", 16), self.derive(K_enc, H, b"B", 16)
        k_c, k_s = self.derive(K_enc, H, b"C", 16), self.derive(K_enc, H, b"D", 16)
        self.mac_out, self.mac_in = self.derive(K_enc, H, b"E", 32), self.derive(K_enc, H, b"F", 32)
        self.send(bytes([MSG_NEWKEYS]))
        m = self.recv()
        check_eq(m, bytes([MSG_NEWKEYS]), "server NEWKEYS")
        self.enc = Cipher(algorithms.AES(k_c), modes.CTR(iv_c)).encryptor()
        self.dec = Cipher(algorithms.AES(k_s), modes.CTR(iv_s)).decryptor()

    def close(self):
        self.s.close()


class MlkemTool:
    """tests/kat/mlkem_tool or sntrup_tool: one command a line, hex answers."""

    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def call(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().split()
        check(out and out[0] != "error", "mlkem_tool: %r -> %r" % (line[:20], out))
        return [bytes.fromhex(x) for x in out]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def handshake(host, port, kex, tool=None, hostkey_blob=None, mlkem_keys=None):
    """One key exchange with kex through SERVICE_ACCEPT; returns the server's
    first KEX name list. tool: an MlkemTool (mlkem_tool) for
    mlkem768x25519-sha256, or one running sntrup_tool for the sntrup761
    hybrids; hostkey_blob: the ed25519 public key blob K_S must be (None:
    any); mlkem_keys: the KEM's (pk, sk) made beforehand (None: made here)."""
    c = RawClient(host, port)
    c.hash = hashlib.sha512 if kex in SNTRUP_NAMES else hashlib.sha256
    try:
        c.version()
        server_kex = Reader(c.kexinit(kex)[17:]).string().decode().split(",")
        xpriv = X25519PrivateKey.generate()
        xpub = xpriv.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        if kex == MLKEM:
            pk, sk = mlkem_keys or tool.call("keygen %s %s" % (os.urandom(32).hex(),
                                                               os.urandom(32).hex()))
            c_init = pk + xpub
        elif kex in SNTRUP_NAMES:
            pk, sk = mlkem_keys or tool.call("keypair")
            c_init = pk + xpub
        else:
            c_init = xpub
        c.send(bytes([MSG_HYBRID_INIT]) + sstr(c_init))
        m = c.recv()
        check_eq(m[0], MSG_HYBRID_REPLY, "reply message number")
        r = Reader(m[1:])
        k_s, s_reply, sig = r.string(), r.string(), r.string()
        check_eq(r.i, len(r.b), "bytes after the reply")
        if kex == MLKEM:
            check_eq(len(s_reply), 1088 + 32, "S_REPLY length")
            (k_pq,) = tool.call("decaps %s %s" % (sk.hex(), s_reply[:1088].hex()))
            k_cl = xpriv.exchange(X25519PublicKey.from_public_bytes(s_reply[1088:]))
            K_enc = sstr(hashlib.sha256(k_pq + k_cl).digest())      # K as a string
        elif kex in SNTRUP_NAMES:
            check_eq(len(s_reply), 1039 + 32, "S_REPLY length")
            (k_pq,) = tool.call("dec %s %s" % (sk.hex(), s_reply[:1039].hex()))
            k_cl = xpriv.exchange(X25519PublicKey.from_public_bytes(s_reply[1039:]))
            K_enc = sstr(hashlib.sha512(k_pq + k_cl).digest())
        else:
            check_eq(len(s_reply), 32, "Q_S length")
            K_enc = mpint(xpriv.exchange(X25519PublicKey.from_public_bytes(s_reply)))
        H = c.hash(sstr(c.v_c) + sstr(c.v_s) + sstr(c.i_c) + sstr(c.i_s) +
                           sstr(k_s) + sstr(c_init) + sstr(s_reply) + K_enc).digest()
        if hostkey_blob is not None:
            check_eq(k_s, hostkey_blob, "K_S is the server's ed25519 key")
        kr = Reader(k_s)
        check_eq(kr.string(), b"ssh-ed25519", "host key type")
        raw = kr.string()
        sr = Reader(sig)
        check_eq(sr.string(), b"ssh-ed25519", "signature algorithm")
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(sr.string(), H)
        except Exception:
            raise RawError("host key signature over H does not verify")
        c.newkeys(K_enc, H)
        c.send(bytes([MSG_SERVICE_REQUEST]) + sstr("ssh-userauth"))
        while True:
            m = c.recv()
            if m[0] != 7:       # EXT_INFO would come first if offered
                break
        check_eq(m, bytes([MSG_SERVICE_ACCEPT]) + sstr("ssh-userauth"),
                 "SERVICE_ACCEPT through the new keys")
        return server_kex
    finally:
        c.close()
