#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compression (zlib@openssh.com, sshd's Compression yes/delayed/no).

Cases: ssh -C negotiates zlib@openssh.com and an exec `cat` echoes 64 MiB of
compressible and of random data byte-exact both ways at once, and again with
the client rekeying every 8 MiB (fresh streams after each key exchange); sftp -C puts
and gets a file of each kind byte-exact; paramiko with compression on runs a
command; a compressed packet that inflates past 256 KiB (a zip bomb sent
through paramiko after authentication) ends the connection with a log line
and dsshd goes on; with Compression no the same ssh -C negotiates none.
With --dataplane the packet layer runs on the data core unless the server is
given `DataCrypto control` (--data-crypto control): compression is then
negotiated and must work; on the data cores it is not offered (documented).
"""

import hashlib
import os
import pwd
import re
import subprocess
import tempfile

import dssh_harness as h

SIZE = 64 * 1024 * 1024


def compressible(n):
    line = b"".join(b"%08d the quick brown fox jumps over the lazy dog\n" % i
                    for i in range(4096))
    return (line * (n // len(line) + 1))[:n]


def negotiated(stderr):
    m = re.findall(rb"kex: server->client cipher: \S+ MAC: \S+ compression: (\S+)", stderr)
    return m[0].decode() if m else None


def ssh_c(srv, env, command, data, timeout=600, opts=()):
    argv = h.ssh_argv(srv, env, verbose=1, opts=("Compression=yes",) + tuple(opts),
                      command=command)
    return subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, start_new_session=True)


def echo_round_trip(srv, env, data, want_comp, opts=()):
    r = ssh_c(srv, env, "cat", data, opts=opts)
    h.check(r.returncode == 0, "ssh -C cat: %s" % h.describe(r))
    h.check_eq(negotiated(r.stderr), want_comp, "negotiated compression")
    h.check(len(r.stdout) == len(data), "echo length %d, want %d" % (len(r.stdout), len(data)))
    h.check(hashlib.sha256(r.stdout).digest() == hashlib.sha256(data).digest(),
            "echoed bytes differ")


def sftp_c(srv, env, tmp, data, name):
    home = pwd.getpwnam(h.TEST_USER).pw_dir
    local = os.path.join(tmp, name)
    with open(local, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.chmod(local, 0o644)
    remote = os.path.join(home, "dssh-comp-" + name)
    argv = h.ssh_argv(srv, env, opts=("Compression=yes",))
    opts = argv[len(srv.client_prefix()) + 1:argv.index("-p")] + ["-P", str(srv.port)]
    batch = "put %s %s\nget %s %s.back\nrm %s\n" % (local, remote, remote, local, remote)
    r = subprocess.run(srv.client_prefix() + ["sftp", "-C", "-b", "-"] + opts +
                       ["%s@%s" % (h.TEST_USER, srv.host)], input=batch.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
                       start_new_session=True)
    h.check(r.returncode == 0, "sftp -C: %s" % h.describe(r))
    h.check(h.sha256_file(local + ".back") == h.sha256_file(local), "sftp -C round trip")


def paramiko_connect(srv, env):
    import paramiko
    t = paramiko.Transport((srv.host, srv.port))
    t.use_compression(True)
    t.start_client(timeout=15)
    t.auth_publickey(h.TEST_USER, paramiko.Ed25519Key.from_private_key_file(env.keys["ed25519"]))
    return t


def paramiko_exec(srv, env):
    t = paramiko_connect(srv, env)
    try:
        h.check_eq(t.local_compression, "zlib@openssh.com", "paramiko's compression")
        ch = t.open_session(timeout=15)
        ch.exec_command("printf 'hi %s' $((6*7)); head -c 300000 /dev/zero | tr '\\0' x")
        out = b""
        while True:
            b = ch.recv(65536)
            if not b:
                break
            out += b
        h.check_eq(ch.recv_exit_status(), 0, "paramiko exit status")
        h.check(out == b"hi 42" + b"x" * 300000, "paramiko output (%d bytes)" % len(out))
    finally:
        t.close()


def zip_bomb(srv, env):
    import paramiko
    from paramiko.common import cMSG_IGNORE
    off = srv.log_size()
    t = paramiko_connect(srv, env)
    try:
        m = paramiko.Message()
        m.add_byte(cMSG_IGNORE)
        m.add_string(b"\0" * (4 * 1024 * 1024))   # ~4 KiB compressed
        t._send_message(m)
        srv.wait_log(r"inflates past 262144 bytes", off, timeout=15)
        srv.wait_log(r"decompressed packet too large", off, timeout=15)
    finally:
        t.close()
    r = h.ssh_run(srv, env, "echo alive")
    h.check(r.returncode == 0 and r.stdout == b"alive\n", "login after the bomb: %s"
            % h.describe(r))


def body(args, env):
    res = h.Results()
    extra = ["Compression yes"]
    if args.data_crypto:
        extra.append("DataCrypto %s" % args.data_crypto)
    offered = args.kind == "sshd" or not args.dataplane or args.data_crypto == "control"
    want = "zlib@openssh.com" if offered else "none"
    tmp = tempfile.mkdtemp(prefix="dssh-comp-")
    size = SIZE
    with h.Server(args.server, args.kind, extra=extra) as srv:
        res.server = srv
        res.run("ssh-C-compressible", echo_round_trip, srv, env, compressible(size), want)
        res.run("ssh-C-random", echo_round_trip, srv, env, os.urandom(size), want)
        # fresh zlib streams after each key exchange (the client rekeys every 8 MiB)
        res.run("ssh-C-rekey", echo_round_trip, srv, env, compressible(size // 2) +
                os.urandom(size // 2), want, opts=("RekeyLimit=8M",))
        res.run("sftp-C-compressible", sftp_c, srv, env, tmp, compressible(16 << 20), "text")
        res.run("sftp-C-random", sftp_c, srv, env, tmp, os.urandom(16 << 20), "random")
        if offered:
            res.run("paramiko-compress", paramiko_exec, srv, env)
            if args.kind == "dsshd":
                res.run("zip-bomb", zip_bomb, srv, env)
        res.finish(srv)
    with h.Server(args.server, args.kind, extra=["Compression no"]) as srv:
        res.server = srv
        res.run("compression-no", echo_round_trip, srv, env, b"x" * 100000, "none")
        res.finish(srv)


def add_args(p):
    p.add_argument("--data-crypto", choices=("cores", "control"),
                   help="dsshd with --dataplane: DataCrypto")


if __name__ == "__main__":
    h.main(__doc__, body, add_args)
