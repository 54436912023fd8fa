#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""sntrup761x25519-sha512 with stock OpenSSH ssh: dsshd's Encap against ssh's Decap.

- The server with its default KexAlgorithms: ssh with its own default KEX
  lands on the first of its methods the server offers (`ssh -G` tells the
  client's list: OpenSSH 9.0 .. 9.8 start with
  sntrup761x25519-sha512@openssh.com, Debian 12's 9.2p1-2+deb12u10 and
  9.9 with sntrup761x25519-sha512, 10.0 with mlkem768x25519-sha256), and
  the server's KEXINIT (ssh -vv) offers sntrup761x25519-sha512 and
  sntrup761x25519-sha512@openssh.com, in that order, before curve25519.
- Each name forced with -o KexAlgorithms, several logins (each a fresh KEM
  key pair and encapsulation): the command's output and exit status exact,
  `kex: algorithm: NAME` in ssh -v. ssh versions that lack the IETF name
  (OpenSSH < 9.9) are checked to refuse it locally instead.
- Rekeying: RekeyLimit 1M while 6 MB go through cat: several sntrup
  exchanges in one connection, the data intact.
- A server configured without it: ssh's default falls back to curve25519.
"""

import hashlib
import os
import re
import subprocess
import tempfile

import dssh_harness as h

OSSH = "sntrup761x25519-sha512@openssh.com"
IETF = "sntrup761x25519-sha512"


def client_kex_list(srv):
    r = subprocess.run(["ssh", "-G", "-p", str(srv.port), "127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    for ln in r.stdout.decode().splitlines():
        if ln.startswith("kexalgorithms "):
            return ln.split()[1].split(",")
    raise h.TestFailure("ssh -G printed no kexalgorithms")


def client_knows(name):
    r = subprocess.run(["ssh", "-Q", "kex"], stdout=subprocess.PIPE, check=True)
    return name in r.stdout.decode().split()


def server_offer(vlog):
    m = re.search(r"^debug2: peer server KEXINIT proposal\n"
                  r"debug2: KEX algorithms: (\S*)$", vlog, re.M)
    h.check(m is not None, "no server KEXINIT proposal in ssh -vv output")
    return m.group(1).split(",")


def login(srv, env, tmp, tag, opts=(), verbose=1):
    logfile = os.path.join(tmp, "ssh-%s.log" % tag)
    cmd = "printf 'out-%s\\n'; printf 'err-%s\\n' >&2; exit 5" % (tag, tag)
    r = h.ssh_run(srv, env, cmd, verbose=verbose, logfile=logfile, opts=list(opts),
                  timeout=90)
    vlog = open(logfile, errors="replace").read()
    if (r.returncode, r.stdout, r.stderr) != (5, ("out-%s\n" % tag).encode(),
                                              ("err-%s\n" % tag).encode()):
        raise h.TestFailure("%s; ssh -v tail:\n%s" % (h.describe(r), vlog[-1500:]))
    m = re.findall(r"^debug1: kex: algorithm: (\S+)$", vlog, re.M)
    h.check_eq(len(m), 1, "number of 'kex: algorithm' lines")
    return m[0], vlog


def default_kex(srv, env, tmp, kind):
    mine = client_kex_list(srv)
    kex, vlog = login(srv, env, tmp, "default", verbose=2)
    offer = [k for k in server_offer(vlog) if not k.startswith(("ext-info-", "kex-strict-"))]
    want = next(k for k in mine if k in offer)
    h.check_eq(kex, want, "KEX with ssh's defaults (client %r, server %r)" % (mine, offer))
    if mine[0] in (IETF, OSSH):  # OpenSSH 9.0 .. 9.9: an sntrup761 name first
        h.check_eq(kex, mine[0], "OpenSSH's default KEX")
    h.check(OSSH in offer and offer.index(OSSH) < offer.index("curve25519-sha256"),
            "server offer: %s missing or after curve25519: %r" % (OSSH, offer))
    if kind == "dsshd":
        h.check(IETF in offer and offer.index(IETF) < offer.index(OSSH),
                "server offer: %s missing or after %s: %r" % (IETF, OSSH, offer))


def forced(srv, env, tmp, name, n):
    if not client_knows(name):
        # OpenSSH before 9.9 has only the @openssh.com name: it refuses the
        # option itself, before connecting.
        r = h.ssh_run(srv, env, "true", opts=["KexAlgorithms=" + name])
        h.check_eq(r.returncode, 255, "ssh exit status with an unknown KEX name")
        h.check(b"kex" in r.stderr.lower(), "stderr %r" % r.stderr)
        h.log("note: this ssh does not know %s; the engine unit test covers it" % name)
        return
    for i in range(n):
        # ssh -E appends: one log file per login.
        kex, _ = login(srv, env, tmp, "%s-%d" % ("ietf" if name == IETF else "ossh", i),
                       opts=["KexAlgorithms=" + name])
        h.check_eq(kex, name, "negotiated KEX")


def rekeys(srv, env, tmp):
    data = os.urandom(6 << 20)
    logfile = os.path.join(tmp, "ssh-rekey.log")
    r = h.ssh_run(srv, env, "cat", input=data, verbose=3, logfile=logfile, timeout=180,
                  opts=["KexAlgorithms=" + OSSH, "RekeyLimit=1M"])
    vlog = open(logfile, errors="replace").read()
    if r.returncode != 0 or hashlib.sha256(r.stdout).digest() != hashlib.sha256(data).digest():
        raise h.TestFailure("exit=%d, %d of %d bytes back; tail:\n%s"
                            % (r.returncode, len(r.stdout), len(data), vlog[-1500:]))
    n = vlog.count("debug1: SSH2_MSG_KEX_ECDH_REPLY received")
    h.check(n >= 4, "expected several key exchanges (RekeyLimit 1M, 12 MB moved), saw %d" % n)
    h.check_eq(vlog.count("debug1: kex: algorithm: %s\n" % OSSH), n,
               "every exchange used " + OSSH)


def fallback(args, env, tmp):
    with h.Server(args.server, args.kind, name="nopq",
                  override={"KexAlgorithms": "curve25519-sha256,ecdh-sha2-nistp256"}) as srv:
        kex, vlog = login(srv, env, tmp, "nopq", verbose=2)
        h.check_eq(kex, "curve25519-sha256", "KEX when the server has no PQ hybrid")
        h.check(OSSH not in server_offer(vlog), "server offers a KEX it was not given")


def body(args, env):
    res = h.Results()
    with tempfile.TemporaryDirectory() as tmp:
        with h.Server(args.server, args.kind, name="sntrup",
                      override={"KexAlgorithms": None}) as srv:
            res.server = srv
            res.run("default-kex", default_kex, srv, env, tmp, args.kind)
            res.run("forced/" + OSSH, forced, srv, env, tmp, OSSH, 8)
            res.run("forced/" + IETF, forced, srv, env, tmp, IETF, 4)
            res.run("rekeys/" + OSSH, rekeys, srv, env, tmp)
            res.finish(srv)
        res.run("fallback-curve25519", fallback, args, env, tmp)
        res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
