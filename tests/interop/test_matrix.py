#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""OpenSSH ssh logs in with every KEX x host key x cipher/MAC and runs a command.

Default: a covering set (every KEX x host-key pair once, every cipher/MAC pair
at least once), 4 clients at a time.  --full: the whole cross product.
Checks the negotiated algorithms from `ssh -v`, and stdout, stderr and exit
status exactly.
"""

import concurrent.futures
import itertools
import os
import re
import tempfile

import dssh_harness as h


def combos(full, skip=()):
    pairs = h.cipher_mac_pairs(skip)
    kh = list(itertools.product(h.KEXES, h.HOSTKEY_ALGS))
    if full:
        return [(k, hk, c, m) for (k, hk) in kh for (c, m) in pairs]
    out = []
    step = next(s for s in (5, 7, 11, 13) if len(pairs) % s != 0)  # coprime: covers all
    for i, (k, hk) in enumerate(kh):
        c, m = pairs[(i * step) % len(pairs)]
        out.append((k, hk, c, m))
    # every cipher/MAC pair must be covered
    assert {(c, m) for (_, _, c, m) in out} == set(pairs)
    return out


def one(srv, env, tmp, idx, kex, hk, cipher, mac):
    tag = "c%d" % idx
    mac_opt = mac or "hmac-sha2-256"
    logfile = os.path.join(tmp, "ssh-%d.log" % idx)
    key = {"ssh-ed25519": "ed25519", "ecdsa-sha2-nistp256": "ecdsa"}.get(hk, "rsa")
    cmd = ("printf 'out-%s\\nline2\\n'; printf 'err-%s\\n' >&2; "
           "printf '%%s' \"$USER:$SSH_CONNECTION\" | wc -c >/dev/null; exit 7") % (tag, tag)
    r = h.ssh_run(srv, env, cmd, key=key, verbose=1, logfile=logfile,
                  opts=["KexAlgorithms=" + kex, "HostKeyAlgorithms=" + hk,
                        "Ciphers=" + cipher, "MACs=" + mac_opt], timeout=90)
    vlog = open(logfile, errors="replace").read()
    if r.returncode != 7 or r.stdout != ("out-%s\nline2\n" % tag).encode() or \
            r.stderr != ("err-%s\n" % tag).encode():
        raise h.TestFailure("%s; ssh -v tail:\n%s" % (h.describe(r), vlog[-1500:]))
    want = [
        "kex: algorithm: %s" % kex,
        "kex: host key algorithm: %s" % hk,
        "kex: server->client cipher: %s MAC: %s compression: none"
        % (cipher, mac or "<implicit>"),
        "kex: client->server cipher: %s MAC: %s compression: none"
        % (cipher, mac or "<implicit>"),
        "Authenticated to %s ([%s]:%d) using \"publickey\"." % (srv.host, srv.host, srv.port),
    ]
    for w in want:
        if w not in vlog:
            raise h.TestFailure("ssh -v lacks %r; tail:\n%s" % (w, vlog[-1500:]))
    m = re.search(r"Server host key: (\S+) ", vlog)
    h.check(m is not None, "no 'Server host key' line")
    want_type = "ssh-rsa" if hk.startswith("rsa-") else hk
    h.check_eq(m.group(1), want_type, "server host key type")


def body(args, env):
    skip = h.Server.skip        # --skip (dssh_harness): what the engine lacks
    combo_list = combos(args.full, skip)
    res = h.Results()
    with h.Server(args.server, args.kind, name="matrix") as srv, \
            tempfile.TemporaryDirectory() as tmp:
        h.log("%d combinations, %d at a time" % (len(combo_list), args.jobs))
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            futs = []
            for i, (k, hk, c, m) in enumerate(combo_list):
                name = "%s/%s/%s/%s" % (k, hk, c, m or "implicit")
                futs.append(ex.submit(res.run, name, one, srv, env, tmp, i, k, hk, c, m))
            for f in futs:
                f.result()
        h.check(srv.alive(), "server died during the matrix")
        res.finish(srv)


def add_args(p):
    p.add_argument("--full", action="store_true", help="full cross product")
    p.add_argument("--jobs", type=int, default=4)


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
