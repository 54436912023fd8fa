#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""
dsshd's default algorithms, as an auditor sees them: ssh-audit (Debian's
package) reports no failure; the offered lists carry no SHA-1, no 1024-bit
group, no 64-bit-tag MAC and no encrypt-and-MAC mode, put the post-quantum
hybrids first and keep curve25519 for clients without one; and clients
that have no hybrid still get in with the defaults (paramiko with its own
defaults, OpenSSH's ssh with curve25519 forced).
"""
import json
import shutil
import subprocess
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dssh_harness as h  # noqa: E402

# The lines of the harness's config that pin algorithms: dropped, so the
# server runs on its defaults.
DEFAULTS = {"KexAlgorithms": None, "HostKeyAlgorithms": None, "Ciphers": None, "MACs": None}


def audit(srv, *extra):
    return subprocess.run(["ssh-audit", "-n", "-t", "10", "-p", str(srv.port)] + list(extra) +
                          ["127.0.0.1"], capture_output=True, text=True, timeout=60)


def check_report(srv):
    r = audit(srv, "-l", "info")
    fails = [ln for ln in r.stdout.splitlines() if "[fail]" in ln]
    h.log("ssh-audit: %d lines, %d failures" % (len(r.stdout.splitlines()), len(fails)))
    h.check("# key exchange algorithms" in r.stdout, "ssh-audit did not report: %s %s"
            % (r.stdout[-400:], r.stderr[-400:]))
    h.check(not fails, "ssh-audit failures on the defaults:\n" + "\n".join(fails))


def check_lists(srv):
    r = audit(srv, "-j")
    d = json.loads(r.stdout)
    kex = [k["algorithm"] for k in d["kex"]]
    keys = [k["algorithm"] for k in d["key"]]
    macs, ciphers = d["mac"], d["enc"]
    h.log("kex %s; host keys %s; ciphers %s; MACs %s" % (kex, keys, ciphers, macs))
    every = kex + keys + macs + ciphers
    h.check(not [a for a in every if "sha1" in a or a in ("ssh-rsa", "ssh-dss")],
            "SHA-1 among the defaults: %s" % every)
    h.check(not [a for a in kex if "group1-" in a or "group-exchange" in a],
            "a 1024-bit or negotiated group among the defaults: %s" % kex)
    h.check(not [m for m in macs if "-64" in m or "96" in m], "a 64-bit tag: %s" % macs)
    h.check(all(m.endswith("-etm@openssh.com") for m in macs),
            "an encrypt-and-MAC mode among the defaults: %s" % macs)
    h.check(not [a for a in kex + keys if "nistp" in a], "a NIST curve: %s" % (kex + keys))
    h.check_eq(kex[:3], ["mlkem768x25519-sha256", "sntrup761x25519-sha512",
                         "sntrup761x25519-sha512@openssh.com"], "the hybrids first")
    h.check("curve25519-sha256" in kex and "curve25519-sha256@libssh.org" in kex,
            "no curve25519 fallback: %s" % kex)


def check_clients(srv, env):
    import paramiko
    key = paramiko.Ed25519Key.from_private_key_file(env.keys["ed25519"])
    t = paramiko.Transport(("127.0.0.1", srv.port))
    try:
        t.start_client(timeout=15)
        t.auth_publickey(h.TEST_USER, key)
        h.check(t.is_authenticated(), "paramiko not authenticated")
        h.log("paramiko %s: %s, %s, %s" % (paramiko.__version__, t.kex_engine.__class__.__name__,
                                           t.local_cipher, t.local_mac))
    finally:
        t.close()
    r = h.ssh_run(srv, env, "echo ok", opts=["KexAlgorithms=curve25519-sha256"])
    h.check(r.returncode == 0 and r.stdout == b"ok\n", "ssh with curve25519: %s" % h.describe(r))


def body(args, env):
    if shutil.which("ssh-audit") is None:
        h.skip("ssh-audit not installed (scripts/setup.sh installs it)")
    srv = h.Server(args.server, args.kind, name="audit", override=DEFAULTS)
    with srv:
        res = h.Results()
        res.run("ssh-audit", check_report, srv)
        res.run("default-lists", check_lists, srv)
        if srv.kind == "dsshd":
            res.run("clients-without-hybrid", check_clients, srv, env)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__.strip().splitlines()[0], body)
