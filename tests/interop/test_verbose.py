#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""`ssh -vvv` shows strict KEX (Terrapin fix) and server-sig-algs negotiated.

OpenSSH 9.2p1 (Debian, with the strict-KEX backport) logs, among others:
  debug2: peer server KEXINIT proposal
  debug2: KEX algorithms: ...,kex-strict-s-v00@openssh.com
  debug3: kex_choose_conf: will use strict KEX ordering
  debug1: ssh_packet_send2_wrapped: resetting send seqnr 3
  debug1: ssh_packet_read_poll2: resetting read seqnr 3
  debug1: SSH2_MSG_EXT_INFO received
  debug1: kex_input_ext_info: server-sig-algs=<...>
Also checks that the server's KEXINIT lists exactly the configured
algorithms, and that a client with no algorithm in common is refused.
"""

import os
import re
import tempfile

import dssh_harness as h

PSEUDO = re.compile(r"^(ext-info-[cs]|kex-strict-[cs]-v00@openssh\.com)$")


def server_proposal(vlog):
    """Parses the 'peer server KEXINIT proposal' block of ssh -vv output."""
    lines = vlog.splitlines()
    try:
        i = lines.index("debug2: peer server KEXINIT proposal")
    except ValueError:
        raise h.TestFailure("no 'peer server KEXINIT proposal' in ssh -vvv output")
    prop = {}
    for ln in lines[i + 1:i + 13]:
        m = re.match(r"debug2: ([a-zA-Z_ ]+?): ?(.*)$", ln)
        if m:
            prop[m.group(1)] = m.group(2).strip()
    return prop


def verbose_login(srv, env, tmp, kex):
    logfile = os.path.join(tmp, "vvv-%s.log" % kex)
    r = h.ssh_run(srv, env, "echo verbose-ok", verbose=3, logfile=logfile,
                  opts=["KexAlgorithms=" + kex])
    vlog = open(logfile, errors="replace").read()
    if r.returncode != 0 or r.stdout != b"verbose-ok\n" or r.stderr != b"":
        raise h.TestFailure("%s\n%s" % (h.describe(r), vlog[-2000:]))
    for want in ("debug3: kex_choose_conf: will use strict KEX ordering",
                 "debug1: ssh_packet_send2_wrapped: resetting send seqnr 3",
                 "debug1: ssh_packet_read_poll2: resetting read seqnr 3",
                 "debug1: SSH2_MSG_EXT_INFO received",
                 "debug1: kex: algorithm: %s" % kex):
        h.check(vlog.count(want + "\n") == 1,
                "expected exactly one %r line, got %d" % (want, vlog.count(want + "\n")))

    prop = server_proposal(vlog)
    kexes = prop.get("KEX algorithms", "").split(",")
    h.check("kex-strict-s-v00@openssh.com" in kexes,
            "server KEXINIT lacks kex-strict-s-v00@openssh.com: %r" % kexes)
    h.check_eq([k for k in kexes if not PSEUDO.match(k)], h.KEXES,
               "server KEX algorithms (configured KexAlgorithms)")
    h.check_eq(sorted(prop.get("host key algorithms", "").split(",")),
               sorted(h.HOSTKEY_ALGS), "server host key algorithms")
    want_c = ",".join(h.AEAD_CIPHERS + h.CTR_CIPHERS)
    h.check_eq(prop.get("ciphers ctos"), want_c, "server ciphers ctos")
    h.check_eq(prop.get("ciphers stoc"), want_c, "server ciphers stoc")
    h.check_eq(prop.get("MACs ctos"), ",".join(h.MACS), "server MACs ctos")
    h.check_eq(prop.get("MACs stoc"), ",".join(h.MACS), "server MACs stoc")
    h.check("none" in prop.get("compression ctos", "").split(","),
            "server does not offer compression none")

    m = re.findall(r"^debug1: kex_input_ext_info: server-sig-algs=<([^>]*)>$", vlog, re.M)
    h.check_eq(len(m), 1, "number of server-sig-algs lines")
    algs = m[0].split(",")
    for a in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512"):
        h.check(a in algs, "server-sig-algs lacks %s: %r" % (a, algs))
    # rsa-sha2-* advertised means OpenSSH signs an RSA user key with SHA-2.
    h.check("Authenticated to 127.0.0.1" in vlog, "not authenticated")


def rsa_user_key_uses_sha2(srv, env, tmp):
    logfile = os.path.join(tmp, "vvv-rsa.log")
    r = h.ssh_run(srv, env, "echo rsa-ok", key="rsa", verbose=3, logfile=logfile)
    vlog = open(logfile, errors="replace").read()
    if r.returncode != 0 or r.stdout != b"rsa-ok\n":
        raise h.TestFailure("%s\n%s" % (h.describe(r), vlog[-2000:]))
    m = re.search(r"debug1: Server accepts key: \S+ (\S+) ", vlog)
    h.check(m is not None, "no 'Server accepts key' line:\n" + vlog[-2000:])
    h.check_eq(m.group(1), "RSA", "accepted key type")
    m = re.search(r"debug3: sign_and_send_pubkey: signing using (\S+) ", vlog)
    h.check(m is not None and m.group(1) in ("rsa-sha2-512", "rsa-sha2-256"),
            "RSA user key not signed with rsa-sha2-*: %r" % (m and m.group(0)))


def no_common_cipher(args, env, tmp):
    with h.Server(args.server, args.kind, name="narrow",
                  override={"Ciphers": "aes256-ctr"}) as srv:
        r = h.ssh_run(srv, env, "echo no", opts=["Ciphers=aes128-ctr", "LogLevel=INFO"])
        h.check_eq(r.returncode, 255, "ssh exit status with no common cipher")
        want = ("Unable to negotiate with 127.0.0.1 port %d: no matching cipher "
                "found. Their offer: aes256-ctr" % srv.port)
        h.check(want.encode() in r.stderr, "stderr %r lacks %r" % (r.stderr, want))
        h.check_eq(r.stdout, b"", "stdout")
        r = h.ssh_run(srv, env, "echo yes", opts=["Ciphers=aes256-ctr"])
        h.check_eq((r.returncode, r.stdout), (0, b"yes\n"), "login with aes256-ctr")


def body(args, env):
    res = h.Results()
    with tempfile.TemporaryDirectory() as tmp:
        with h.Server(args.server, args.kind, name="verbose") as srv:
            for kex in ("curve25519-sha256", "ecdh-sha2-nistp256",
                        "diffie-hellman-group14-sha256"):
                res.run("strict-kex+ext-info/" + kex, verbose_login, srv, env, tmp, kex)
            res.run("rsa-user-key-sha2", rsa_user_key_uses_sha2, srv, env, tmp)
            res.finish(srv)
        res.run("no-common-cipher", no_common_cipher, args, env, tmp)
        res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
