#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""OpenSSH's sftp and scp (SFTP protocol, 9.x default) through the server's
Subsystem sftp: a 64 MiB random file up and back, byte-exact, with a small
RekeyLimit so rekeying happens inside the transfer; directory listing and
rename through sftp batch mode; `scp -O` (legacy scp protocol over exec) too.
"""

import hashlib
import os
import subprocess
import tempfile

import dssh_harness as h

SIZE = 64 * 1024 * 1024


def sha(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            d.update(chunk)
    return d.hexdigest()


def client_opts(srv, env):
    """ssh_argv's options, minus the host and command, for sftp/scp (-P port)."""
    argv = h.ssh_argv(srv, env)
    opts = argv[len(srv.client_prefix()) + 1:argv.index("-p")]
    return opts + ["-P", str(srv.port)]


def run(argv, timeout=300, input=None):
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, start_new_session=True)
    if r.returncode != 0:
        raise h.TestFailure("%s: %s" % (" ".join(argv[:1] + argv[-2:]), h.describe(r)))
    return r


def body(args, env):
    res = h.Results()
    with h.Server(args.server, args.kind, name="sftp",
                  extra=["RekeyLimit 16M"]) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        src = os.path.join(tmp, "src")
        with open(src, "wb") as f:
            f.write(os.urandom(SIZE))
        want = sha(src)
        remote = "/tmp/dssh-sftp-%d" % os.getpid()
        opts = client_opts(srv, env)
        target = "%s@%s" % (h.TEST_USER, srv.host)

        def sftp_roundtrip():
            back = os.path.join(tmp, "back-sftp")
            batch = ("put %s %s.part\nrename %s.part %s\nls -l %s\nget %s %s\nrm %s\n"
                     % (src, remote, remote, remote, remote, remote, back, remote))
            r = run(srv.client_prefix() + ["sftp", "-b", "-"] + opts + [target],
                    input=batch.encode())
            h.check(str(SIZE).encode() in r.stdout, "ls -l shows the size: %r" % r.stdout[-300:])
            h.check_eq(sha(back), want, "sftp put/get sha256")

        def scp_roundtrip(legacy):
            back = os.path.join(tmp, "back-scp%s" % ("-O" if legacy else ""))
            flag = ["-O"] if legacy else []
            scp = srv.client_prefix() + ["scp", "-q"] + flag + opts
            run(scp + [src, "%s:%s" % (target, remote)])
            run(scp + ["%s:%s" % (target, remote), back])
            h.check_eq(sha(back), want, "scp%s round trip sha256" % (" -O" if legacy else ""))
            h.ssh_run(srv, env, "rm -f %s" % remote)

        res.run("sftp-put-rename-ls-get", sftp_roundtrip)
        res.run("scp-sftp-protocol", scp_roundtrip, False)
        res.run("scp-legacy-O", scp_roundtrip, True)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
