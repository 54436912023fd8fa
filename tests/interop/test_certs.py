#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""User certificates: CAs made with ssh-keygen sign user certificates that
OpenSSH's ssh presents (-o CertificateFile). Accepted through
TrustedUserCAKeys, through cert-authority lines in authorized_keys (with and
without principals=) and through AuthorizedPrincipalsFile; refused, each with
a log line saying why: expired, not yet valid, wrong principal, source
address, revoked (RevokedKeys as a key list and as a KRL), unknown CA. force-command runs instead of the
asked command; a certificate without permit-pty (-O clear) gets no pty.
Host certificates: with HostCertificate, a client that trusts the host CA
(@cert-authority in known_hosts) and StrictHostKeyChecking=yes connects with
no prompt; one that trusts another CA is refused."""

import os
import pwd
import shutil
import subprocess
import tempfile

import dssh_harness as h

USER = h.TEST_USER


class Certs:
    """Keys and CAs in a private directory; per-case certificates."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dssh-certs-")
        os.chmod(self.dir, 0o755)
        self.n = 0
        for name, t in (("ca_trusted", "rsa"), ("ca_ak", "ed25519"),
                        ("ca_princ", "ecdsa"), ("ca_unknown", "ed25519"),
                        ("ca_revoked", "ed25519")):
            self.keygen(name, t)

    def path(self, name):
        return os.path.join(self.dir, name)

    def keygen(self, name, t):
        extra = ["-b", "2048"] if t == "rsa" else []
        h.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", name,
               "-f", self.path(name)] + extra)
        return self.path(name)

    def pub(self, name):
        with open(self.path(name) + ".pub") as f:
            return f.read()

    def cert(self, ca, principals=USER, validity="-5m:+1h", opts=(), keytype="ed25519"):
        """A fresh user key and its certificate; returns the key's path."""
        self.n += 1
        key = self.keygen("user%d" % self.n, keytype)
        argv = ["ssh-keygen", "-q", "-s", self.path(ca), "-I", "case%d" % self.n,
                "-n", principals, "-V", validity]
        for o in opts:
            argv += ["-O", o]
        h.run(argv + [key + ".pub"])
        return key

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def login(srv, env, key, command="echo cert-ok", extra_opts=(), **kw):
    return h.ssh_run(srv, env, command, key=key,
                     opts=("CertificateFile=%s-cert.pub" % key,) + tuple(extra_opts), **kw)


def accepted(srv, env, key, what):
    r = login(srv, env, key)
    h.check_eq((r.returncode, r.stdout), (0, b"cert-ok\n"), what + ": " + h.describe(r))


def refused(srv, env, key, why_regex, what, extra_opts=()):
    off = srv.log_size()
    r = login(srv, env, key, command="echo SHOULD-NOT-RUN", extra_opts=extra_opts)
    h.check(r.returncode == 255 and r.stdout == b"" and b"Permission denied" in r.stderr,
            what + " not refused: " + h.describe(r))
    if srv.kind == "dsshd":
        h.check(srv.wait_log(why_regex, off, timeout=5) is not None,
                "%s: no log line matching %r in:\n%s" % (what, why_regex,
                                                         srv.log_since(off)[-2000:]))


def body(args, env):
    c = Certs()
    pw = pwd.getpwnam(USER)
    sshdir = os.path.join(pw.pw_dir, ".ssh")
    # A file of our own next to authorized_keys (which other tests share).
    akname = "dssh_certs_%d" % os.getpid()
    ak = os.path.join(sshdir, akname)
    princ = os.path.join(sshdir, akname + "_principals")
    revoked_key = c.keygen("revoked_user", "ed25519")
    with open(c.path("trusted"), "w") as f:
        f.write(c.pub("ca_trusted"))
    with open(c.path("revoked"), "w") as f:
        f.write(open(revoked_key + ".pub").read() + c.pub("ca_revoked"))
    with open(ak, "w") as f:
        f.write("cert-authority %s" % c.pub("ca_ak"))
        f.write('cert-authority,principals="ops,admin" %s' % c.pub("ca_princ"))
        f.write("cert-authority %s" % c.pub("ca_revoked"))
    with open(princ, "w") as f:
        f.write("# principals for %s\nops-team\n" % USER)
    for p in (ak, princ):
        os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(p, 0o600)
    override = {"AuthorizedKeysFile": ".ssh/authorized_keys .ssh/" + akname}
    extra = ["TrustedUserCAKeys %s" % c.path("trusted"),
             "RevokedKeys %s" % c.path("revoked")]
    res = h.Results()
    try:
        with h.Server(args.server, args.kind, name="certs", override=override,
                      extra=extra) as srv:
            for t in ("ed25519", "ecdsa", "rsa"):
                res.run("trusted-ca-" + t, accepted, srv, env,
                        c.cert("ca_trusted", keytype=t), "TrustedUserCAKeys, %s key" % t)
            res.run("cert-authority", accepted, srv, env, c.cert("ca_ak"),
                    "cert-authority line")
            res.run("cert-authority-principals", accepted, srv, env,
                    c.cert("ca_princ", principals="admin"), 'principals="ops,admin"')
            res.run("cert-authority-principals-refused", refused, srv, env,
                    c.cert("ca_princ", principals=USER), r"refused.*wrong principal",
                    'principals="ops,admin" with only the user name')
            res.run("expired", refused, srv, env,
                    c.cert("ca_trusted", validity="20200101:20200102"),
                    r"refused for %s: expired" % USER, "expired certificate")
            res.run("not-yet-valid", refused, srv, env,
                    c.cert("ca_trusted", validity="+1d:+2d"),
                    r"refused for %s: not yet valid" % USER, "future certificate")
            res.run("wrong-principal", refused, srv, env,
                    c.cert("ca_trusted", principals="other"),
                    r"refused for %s: wrong principal" % USER, "principal other")
            res.run("source-address", refused, srv, env,
                    c.cert("ca_trusted", opts=("source-address=10.0.0.0/8",)),
                    r"refused for %s: source address 127\.0\.0\.1 not in" % USER,
                    "source-address 10.0.0.0/8")
            res.run("source-address-ok", accepted, srv, env,
                    c.cert("ca_trusted", opts=("source-address=10.0.0.0/8,127.0.0.0/8",)),
                    "source-address 127.0.0.0/8")
            rk = c.cert("ca_trusted")
            shutil.copy(revoked_key, rk)
            shutil.copy(revoked_key + ".pub", rk + ".pub")
            h.run(["ssh-keygen", "-q", "-s", c.path("ca_trusted"), "-I", "revoked",
                   "-n", USER, "-V", "-5m:+1h", rk + ".pub"])
            res.run("revoked-key", refused, srv, env, rk,
                    r"refused for %s: revoked" % USER, "revoked key")
            res.run("revoked-ca", refused, srv, env, c.cert("ca_revoked"),
                    r"refused for %s: revoked" % USER, "revoked CA")
            # A CA signature made with SHA-1 (ssh-rsa): refused.
            sha1 = c.cert("ca_trusted")
            h.run(["ssh-keygen", "-q", "-s", c.path("ca_trusted"), "-t", "ssh-rsa",
                   "-I", "sha1", "-n", USER, "-V", "-5m:+1h", sha1 + ".pub"])
            res.run("sha1-ca-signature", refused, srv, env, sha1,
                    r"certificate refused for %s: invalid \(bad or SHA-1 CA signature\)"
                    % USER, "certificate signed with ssh-rsa (SHA-1)")
            res.run("unknown-ca", refused, srv, env, c.cert("ca_unknown"),
                    r"refused for %s: unknown CA" % USER, "unknown CA")

            def force_command():
                key = c.cert("ca_trusted", opts=("force-command=echo forced",))
                r = login(srv, env, key, command="echo mine")
                h.check_eq((r.returncode, r.stdout), (0, b"forced\n"),
                           "force-command: " + h.describe(r))
            res.run("force-command", force_command)

            def no_pty():
                key = c.cert("ca_trusted", opts=("clear",))
                r = login(srv, env, key, command="tty; echo done", tty=True)
                h.check_eq((r.returncode, r.stdout, r.stderr),
                           (255, b"", b"PTY allocation request failed on channel 0\r\n"),
                           "-O clear with -tt (exit, stdout, stderr)")
                r = login(srv, env, key, command="tty; echo done")
                h.check_eq((r.returncode, r.stdout), (0, b"not a tty\ndone\n"),
                           "-O clear without a pty")
                key = c.cert("ca_trusted", opts=("clear", "permit-pty"))
                r = login(srv, env, key, command="tty; echo done", tty=True)
                h.check(r.returncode == 0 and r.stdout.startswith(b"/dev/pts/"),
                        "-O clear -O permit-pty with -tt: " + h.describe(r))
            res.run("no-pty", no_pty)
            res.server = srv
            res.finish(srv)
        # AuthorizedPrincipalsFile: its principals, no longer the user name;
        # RevokedKeys as an OpenSSH KRL (ssh-keygen -k) revoking serial 4242.
        with open(c.path("krl_spec"), "w") as f:
            f.write("serial: 4242\nid: revoked-id\n")
        h.run(["ssh-keygen", "-q", "-k", "-f", c.path("krl"), "-s",
               c.path("ca_trusted") + ".pub", c.path("krl_spec")])
        extra2 = ["TrustedUserCAKeys %s" % c.path("trusted"),
                  "RevokedKeys %s" % c.path("krl"),
                  "AuthorizedPrincipalsFile %%h/.ssh/%s_principals" % akname]
        res = h.Results()
        with h.Server(args.server, args.kind, name="certs-principals",
                      extra=extra2) as srv:
            res.run("principals-file", accepted, srv, env,
                    c.cert("ca_trusted", principals="ops-team"),
                    "AuthorizedPrincipalsFile ops-team")
            res.run("principals-file-user-name-refused", refused, srv, env,
                    c.cert("ca_trusted", principals=USER),
                    r"refused for %s: wrong principal" % USER,
                    "user name with AuthorizedPrincipalsFile")
            key = c.cert("ca_trusted", principals="ops-team")
            h.run(["ssh-keygen", "-q", "-s", c.path("ca_trusted"), "-I", "krl",
                   "-n", "ops-team", "-z", "4242", "-V", "-5m:+1h", key + ".pub"])
            res.run("krl-serial", refused, srv, env, key,
                    r"refused for %s: revoked" % USER, "serial 4242 in the KRL")
            key = c.cert("ca_trusted", principals="ops-team")
            h.run(["ssh-keygen", "-q", "-s", c.path("ca_trusted"), "-I", "revoked-id",
                   "-n", "ops-team", "-z", "7", "-V", "-5m:+1h", key + ".pub"])
            res.run("krl-key-id", refused, srv, env, key,
                    r"refused for %s: revoked" % USER, "key ID in the KRL")
            res.finish(srv)
        host_certs(args, env, c)
    finally:
        for p in (ak, princ):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        c.cleanup()


def strict_login(srv, env, known_hosts):
    """ssh with StrictHostKeyChecking=yes against known_hosts (no prompt:
    BatchMode, stdin closed); returns CompletedProcess (stderr has -v)."""
    argv = h.ssh_argv(srv, env, verbose=1, command="echo host-ok")
    argv = ["StrictHostKeyChecking=yes" if a == "StrictHostKeyChecking=no" else
            "UserKnownHostsFile=" + known_hosts if a == "UserKnownHostsFile=/dev/null"
            else a for a in argv]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, start_new_session=True)


def host_certs(args, env, c):
    c.keygen("host_ca", "ed25519")
    kh = c.path("known_hosts")
    kh_other = c.path("known_hosts_other")
    with open(kh, "w") as f:
        f.write("@cert-authority * " + c.pub("host_ca"))
    with open(kh_other, "w") as f:
        f.write("@cert-authority * " + c.pub("ca_unknown"))
    res = h.Results()
    srv = h.Server(args.server, args.kind, name="certs-host")
    algs = ",".join(["ssh-ed25519-cert-v01@openssh.com",
                     "rsa-sha2-512-cert-v01@openssh.com"] + h.HOSTKEY_ALGS)
    certs = []
    for alg in ("ssh-ed25519", "rsa"):
        key = srv.hostkeys[alg]
        h.run(["ssh-keygen", "-q", "-s", c.path("host_ca"), "-h", "-I", "host-" + alg,
               "-n", "127.0.0.1,localhost", "-V", "-5m:+1h", key + ".pub"])
        certs.append("HostCertificate %s-cert.pub" % key)
    # rewrite its config with the certificates and the cert algorithms
    with open(srv.config_path) as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith("HostKeyAlgorithms ")]
    with open(srv.config_path, "w") as f:
        f.write("\n".join(lines + ["HostKeyAlgorithms " + algs] + certs) + "\n")

    def ca_known(alg):
        r = strict_login(srv, env, kh)
        h.check_eq((r.returncode, r.stdout), (0, b"host-ok\n"),
                   "@cert-authority host CA: " + h.describe(r))
        h.check(b"Server host certificate: " + alg.encode() in r.stderr and
                b"]:%d' is known and matches the" % srv.port in r.stderr and
                b"CERT host certificate." in r.stderr,
                "no host certificate check in: " + r.stderr.decode(errors="replace")[-3000:])

    def ca_unknown():
        r = strict_login(srv, env, kh_other)
        h.check(r.returncode == 255 and r.stdout == b"" and
                b"Host key verification failed" in r.stderr,
                "another CA's host certificate accepted: " + h.describe(r))

    with srv:
        res.run("host-cert-ed25519", ca_known, "ssh-ed25519-cert-v01@openssh.com")
        res.run("host-cert-other-ca", ca_unknown)

        # The RSA certificate: the client asks only for its algorithm.
        def rsa():
            old = h.SSH_BASE
            h.SSH_BASE = old + ["-o", "HostKeyAlgorithms=rsa-sha2-512-cert-v01@openssh.com"]
            try:
                ca_known("ssh-rsa-cert-v01@openssh.com")
            finally:
                h.SSH_BASE = old
        res.run("host-cert-rsa", rsa)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
