# SPDX-License-Identifier: BSD-3-Clause
"""Shared harness for the dssh interop tests.

Every test script runs against a server binary given with --server: either
dsshd or OpenSSH's own sshd (the harness was debugged against the latter, so
a failure with dsshd points at dsshd).  The server kind is taken from the
binary's name unless --kind says otherwise; the few sshd-only or dsshd-only
config keywords are switched on it.

Needs root (users, setuid children, PAM).  Exit status 77 means "skipped".
"""

import argparse
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77

TEST_USER = "dsshtest"
DENY_USER = "dsshdeny"
TEST_PASSWORD = "Dssh-interop-pw-7"
DENY_PASSWORD = "Dssh-deny-pw-9"

STATE_DIR = "/var/tmp/dssh-interop"      # persistent client keys (lock-protected)
KEY_TYPES = ("ed25519", "ecdsa", "rsa")
# Extra ed25519 client keys installed with authorized_keys options.
OPTION_KEYS = {
    "opt_command": 'command="echo forced:$SSH_ORIGINAL_COMMAND"',
    "opt_from_bad": 'from="10.9.8.7"',
    "opt_from_ok": 'from="10.9.8.7,127.0.0.*"',
    "opt_nopty": "no-pty",
    "opt_restrict": "restrict",
    "opt_env": 'environment="DSSH_TEST_FROM_KEY=1"',
    # PermitUserEnvironment's pattern list (test_authkeys.py)
    "opt_env_multi": 'environment="LANG=xx_KEY.dssh",environment="FOOKEY=fk",'
                     'environment="OTHERKEY=ok"',
}

KEXES = [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
]
HOSTKEY_ALGS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]
AEAD_CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                "chacha20-poly1305@openssh.com"]
CTR_CIPHERS = ["aes128-ctr", "aes192-ctr", "aes256-ctr"]
MACS = ["hmac-sha2-256", "hmac-sha2-512",
        "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
        "umac-64-etm@openssh.com", "umac-128-etm@openssh.com"]


def cipher_mac_pairs(skip=()):
    """Every cipher/MAC combination: AEAD ciphers have an implicit MAC.
    skip: algorithm names a server's crypto engine does not offer."""
    pairs = [(c, None) for c in AEAD_CIPHERS if c not in skip]
    pairs += [(c, m) for c in CTR_CIPHERS for m in MACS if c not in skip and m not in skip]
    return pairs


class TestFailure(Exception):
    pass


def log(msg):
    sys.stdout.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def skip(msg):
    log("SKIP: " + msg)
    sys.exit(SKIP)


def run(argv, **kw):
    kw.setdefault("check", True)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(argv, **kw)


def in_shared_tmp(prefix, fn, *a):
    """fn(*a, tmp) with a fresh directory every user may write in (sticky,
    as /tmp: the servers' sessions run as the test user), removed after."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, 0o1777)
    try:
        return fn(*a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- users, keys

def _ensure_user(name, password):
    try:
        pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "-m", "-s", "/bin/bash", name],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # A concurrent run may have created it between the check and here.
        if r.returncode != 0:
            pwd.getpwnam(name)
    run(["chpasswd"], input=("%s:%s\n" % (name, password)).encode())
    # A locked or expired account would make PAM's account stack refuse.
    run(["usermod", "-U", name], check=False)
    run(["chage", "-E", "-1", "-M", "-1", name], check=False)
    return pwd.getpwnam(name)


def _install_authorized_keys(pw, pubkeys):
    home = pw.pw_dir
    os.chmod(home, 0o755)
    sshdir = os.path.join(home, ".ssh")
    os.makedirs(sshdir, exist_ok=True)
    ak = os.path.join(sshdir, "authorized_keys")
    tmp = ak + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(pubkeys))
    for p in (sshdir, tmp):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    os.chmod(sshdir, 0o700)
    os.chmod(tmp, 0o600)
    os.rename(tmp, ak)


class Env:
    """Users and client keys, set up once per process (idempotent)."""

    def __init__(self):
        if os.geteuid() != 0:
            skip("interop tests need root (test users, PAM, setuid)")
        for tool in ("ssh", "ssh-keygen", "useradd", "chpasswd", "setsid"):
            if shutil.which(tool) is None:
                skip("%s not installed" % tool)
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        os.chmod(STATE_DIR, 0o711)
        with open(os.path.join(STATE_DIR, "lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            self.keydir = os.path.join(STATE_DIR, "keys")
            os.makedirs(self.keydir, mode=0o700, exist_ok=True)
            self.keys = {}
            for t in KEY_TYPES + ("wrong",) + tuple(OPTION_KEYS):
                path = os.path.join(self.keydir, "id_" + t)
                if not os.path.exists(path + ".pub"):
                    kt = t if t in KEY_TYPES else "ed25519"
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                    extra = ["-b", "3072"] if kt == "rsa" else []
                    run(["ssh-keygen", "-q", "-t", kt, "-N", "", "-C",
                         "dssh-interop-" + t, "-f", path] + extra)
                os.chmod(path, 0o600)
                self.keys[t] = path
            pubs = [open(self.keys[t] + ".pub").read() for t in KEY_TYPES]
            pubs += ["%s %s" % (o, open(self.keys[t] + ".pub").read())
                     for t, o in OPTION_KEYS.items()]
            self.user = _ensure_user(TEST_USER, TEST_PASSWORD)
            self.deny = _ensure_user(DENY_USER, DENY_PASSWORD)
            _install_authorized_keys(self.user, pubs)
            _install_authorized_keys(self.deny, pubs)
            self.askpass = os.path.join(STATE_DIR, "askpass.sh")
            with open(self.askpass + ".tmp", "w") as f:
                f.write("#!/bin/sh\n"
                        "if [ -n \"$DSSH_ASKPASS_COUNT\" ]; then "
                        "echo x >> \"$DSSH_ASKPASS_COUNT\"; fi\n"
                        "printf '%s\\n' \"$DSSH_TEST_PW\"\n")
            os.chmod(self.askpass + ".tmp", 0o755)
            os.rename(self.askpass + ".tmp", self.askpass)


# ---------------------------------------------------------------- server

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_kind(path, kind=None):
    if kind:
        return kind
    base = os.path.basename(path)
    return "dsshd" if "dsshd" in base else "sshd"


_tap_seq = [0]
SLOT_DIR = "/run/dssh-test-slots"


def claim_slot():
    """A data-plane server's number N (its 198.18.N.0/24, netns, veth, tap
    and EAL file prefix all carry it), held by an exclusive lock on a file
    until release_slot() or this process's end. N used to be derived from
    the pid alone: two test processes (a helper's run beside the suite, a
    leftover) could pick the same N, and setting one up tore down the
    other's namespace and shared its EAL runtime directory (telemetry
    socket included)."""
    os.makedirs(SLOT_DIR, exist_ok=True)
    _tap_seq[0] += 1
    first = (os.getpid() * 7 + _tap_seq[0]) % 150
    for i in range(150):
        n = 100 + (first + i) % 150
        fd = os.open(os.path.join(SLOT_DIR, str(n)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return n, fd
    raise TestFailure("no free data-plane slot in 198.18.100-249.0/24")


def release_slot(fd):
    if fd is not None:
        os.close(fd)


class Server:
    """One server process on a free port of 127.0.0.1, own config and keys.
    With Server.dataplane = "tap" (--dataplane tap), dsshd serves SSH on its
    DPDK data plane instead: our TCP over net_tap, whose kernel side gets
    198.18.N.1/24 while dsshd is 198.18.N.2; clients connect to srv.host."""

    engine = None       # dsshd CryptoEngine for every server (--engine)
    skip = ()           # algorithms that engine lacks: left out of the config
    dataplane = None    # "tap" / "af_packet": SSH over the DPDK data plane (dsshd only)
    dataplane_extra = []   # more config lines for a data-plane server
    mtu = 0             # af_packet: veth MTU and DataMTU (0: the default 1500)

    def __init__(self, path, kind=None, extra=(), password=True, rekey=None,
                 name="server", override=None):
        """extra: config lines appended; override: {keyword: value} replacing
        a default line (sshd takes the first value of a keyword)."""
        self.path = os.path.abspath(path)
        self.kind = server_kind(path, kind)
        self.dir = tempfile.mkdtemp(prefix="dssh-interop-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.pid_path = os.path.join(self.dir, "server.pid")
        self.ctl_path = os.path.join(self.dir, "dsshd.ctl")
        self.proc = None
        self.dumped = -1
        self.hostkeys = {}
        self.host = "127.0.0.1"
        self.tap = None
        for t, alg in (("ed25519", "ssh-ed25519"), ("ecdsa", "ecdsa-sha2-nistp256"),
                       ("rsa", "rsa")):
            p = os.path.join(self.dir, "ssh_host_%s_key" % t)
            extra_kg = ["-b", "3072"] if t == "rsa" else []
            run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", p] + extra_kg)
            self.hostkeys[alg] = p
        lines = [
            "Port %d" % self.port,
            "ListenAddress 127.0.0.1",
        ]
        lines += ["HostKey %s" % p for p in self.hostkeys.values()]
        lines += [
            "PidFile %s" % self.pid_path,
            "LogLevel DEBUG",
            "KexAlgorithms %s" % ",".join(KEXES),
            "HostKeyAlgorithms %s" % ",".join(HOSTKEY_ALGS),
            "Ciphers %s" % ",".join(a for a in AEAD_CIPHERS + CTR_CIPHERS
                                    if a not in Server.skip),
            "MACs %s" % ",".join(a for a in MACS if a not in Server.skip),
            "PubkeyAuthentication yes",
            "PasswordAuthentication %s" % ("yes" if password else "no"),
            # Both servers the same: no keyboard-interactive unless a test asks.
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "UsePAM yes",
            "LoginGraceTime 60",
            "AcceptEnv LANG LC_* DSSH_TEST_*",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
        ]
        if rekey:
            lines.append("RekeyLimit %s" % rekey)
        if self.kind == "sshd":
            # Not in dsshd's subset; keep sshd to password-only like dsshd.
            lines += ["PrintMotd no",
                      "UseDNS no"]
        elif Server.engine:
            lines.append("CryptoEngine %s" % Server.engine)
        if self.kind == "dsshd":
            # Every client is 127.0.0.1: OpenSSH 9.8's penalties (dsshd's
            # default) would refuse it after one test's deliberate failures
            # and fail the next. Debian 12's sshd (9.2) has none.
            lines.append("PerSourcePenalties no")
            # dsshctl's socket per server (the default /run/dsshd.ctl would be
            # shared by servers of tests running at once).
            lines.append("ControlSocket %s" % self.ctl_path)
        self.netns = None
        self.slot_fd = None
        if self.kind == "dsshd" and Server.dataplane == "tap":
            lines += self._tap_lines()
        elif self.kind == "dsshd" and Server.dataplane == "af_packet":
            lines += self._afp_lines()
        lines += Server.dataplane_extra if self.tap or self.netns else []
        for kw, val in (override or {}).items():
            lines = [ln for ln in lines if ln.split()[0] != kw]
            if val is not None:
                lines.append("%s %s" % (kw, val))
        lines += list(extra)
        self.config_path = os.path.join(self.dir, "server_config")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _tap_lines(self):
        n, self.slot_fd = claim_slot()                       # 198.18.100-249.0/24
        self.tap = "dti%d" % n
        self.eal_prefix = "dsshi%d" % n
        self.host = "198.18.%d.2" % n
        self.tap_peer = "198.18.%d.1/24" % n
        return ["DataPlane dpdk", "DataAddress %s/24" % self.host,
                'DpdkArgs "--no-pci --vdev=net_tap0,iface=%s --file-prefix=dsshi%d"'
                % (self.tap, n)]

    def _afp_lines(self):
        """af_packet on the host end of a veth pair whose other end sits in
        a network namespace, where the clients run (client_prefix)."""
        n, self.slot_fd = claim_slot()
        self.netns = "dsshi%d" % n
        self.eal_prefix = "dsshi%d" % n
        self.veth = ("dvi%dh" % n, "dvi%dn" % n)
        self.host = "198.18.%d.2" % n
        self.tap_peer = "198.18.%d.1/24" % n
        return ["DataPlane dpdk", "DataAddress %s/24" % self.host,
                'DpdkArgs "--no-pci --vdev=net_af_packet0,iface=%s%s --file-prefix=dsshi%d"'
                % (self.veth[0], self._afp_frames(), n)] + (
                    ["DataMTU %d" % Server.mtu] if Server.mtu else [])

    @staticmethod
    def _afp_frames():
        # The PMD's ring frames are 2 KiB unless told otherwise (as
        # perf/bench_bulk.py --mtu): a jumbo frame needs a 9 KiB one.
        return ",framesz=9216,blocksz=36864,framecnt=1024" if Server.mtu > 1500 else ""

    def _afp_setup(self):
        vh, vn, ns = self.veth[0], self.veth[1], self.netns
        self._afp_teardown()
        for cmd in (["ip", "netns", "add", ns],
                    ["ip", "link", "add", vh, "type", "veth", "peer", "name", vn],
                    ["ip", "link", "set", vn, "netns", ns],
                    ["ip", "-n", ns, "addr", "add", self.tap_peer, "dev", vn],
                    ["ip", "-n", ns, "link", "set", vn, "up"],
                    ["ip", "-n", ns, "link", "set", "lo", "up"],
                    ["ip", "link", "set", vh, "up"],
                    # The kernel leaves TCP checksums to the "hardware" on a
                    # veth; af_packet hands such frames over unfinished, and
                    # our stack (rightly) drops them: no offload in the ns.
                    ["ip", "netns", "exec", ns, "ethtool", "-K", vn, "tx", "off"]):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        if Server.mtu:
            subprocess.run(["ip", "-n", ns, "link", "set", vn, "mtu", str(Server.mtu)], check=True)
            subprocess.run(["ip", "link", "set", vh, "mtu", str(Server.mtu)], check=True)
        subprocess.run(["sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % vh])

    def _afp_teardown(self):
        subprocess.run(["ip", "netns", "del", self.netns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "link", "del", self.veth[0]], stderr=subprocess.DEVNULL)

    def client_prefix(self):
        """Prepended to client command lines: the namespace, for af_packet."""
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def _banner_ok(self, port):
        if self.netns:
            code = ("import socket,sys\ns=socket.create_connection((%r,%d),timeout=2)\n"
                    "s.settimeout(5)\nsys.exit(0 if s.recv(256).startswith(b'SSH-2.0-') else 1)"
                    % (self.host, port))
            return subprocess.run(self.client_prefix() + [sys.executable, "-c", code],
                                  stderr=subprocess.DEVNULL).returncode == 0
        try:
            with socket.create_connection((self.host, port), timeout=1) as s:
                s.settimeout(5)
                return s.recv(256).startswith(b"SSH-2.0-")
        except OSError:
            return False

    def _tap_up(self, deadline):
        """The kernel side of dsshd's tap: address it once it appears."""
        while time.time() < deadline:
            if os.path.exists("/sys/class/net/%s" % self.tap):
                subprocess.run(["ip", "addr", "replace", self.tap_peer, "dev", self.tap],
                               check=True)
                subprocess.run(["ip", "link", "set", self.tap, "up"], check=True)
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def fingerprint(self, alg="ssh-ed25519"):
        r = run(["ssh-keygen", "-l", "-E", "sha256", "-f",
                 self.hostkeys[alg] + ".pub"])
        return r.stdout.decode().split()[1]

    def test_config(self):
        """Runs `server -t -f config`; returns CompletedProcess."""
        return subprocess.run([self.path, "-t", "-f", self.config_path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def start(self, timeout=20, extra_args=(), port=None):
        """Starts `server -D -e -f config [extra_args]`; waits for a banner
        on port (default: the configured one)."""
        if self.kind == "sshd":
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.logf = open(self.log_path, "ab")
        if self.netns:
            self._afp_setup()
        argv = [self.path, "-D", "-e", "-f", self.config_path] + list(extra_args)
        log("starting %s: %s" % (self.kind, " ".join(argv)))
        senv = dict(os.environ)
        # Debugging aid: LD_PRELOAD for the server only (e.g. to work around
        # ASan's crypt_r interceptor when libcrypt is dlopen()ed by pam_unix).
        if os.environ.get("DSSH_INTEROP_SERVER_PRELOAD"):
            senv["LD_PRELOAD"] = os.environ["DSSH_INTEROP_SERVER_PRELOAD"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     start_new_session=True, env=senv)
        deadline = time.time() + timeout
        if self.tap and not self._tap_up(deadline):
            self.dump_log()
            raise TestFailure("dsshd's tap %s did not appear" % self.tap)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.dump_log()
                raise TestFailure("%s exited with %d at start-up"
                                  % (self.kind, self.proc.returncode))
            if self._banner_ok(port or self.port):
                return self
            time.sleep(0.1)
        self.dump_log()
        raise TestFailure("%s did not accept on port %d within %ds"
                          % (self.kind, port or self.port, timeout))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # Only the server we started: its pid, then its process group
            # (its own session, so nothing else is in it).
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc = None
        self.logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_log(self, regex, offset=0, timeout=10, flags=0):
        """Waits until the log after offset matches regex; returns the match."""
        deadline = time.time() + timeout
        while True:
            m = re.search(regex, self.log_since(offset), flags)
            if m or time.time() > deadline:
                return m
            time.sleep(0.1)

    def dump_log(self, lines=60):
        size = self.log_size()
        if size == self.dumped:
            return          # already shown, nothing new
        self.dumped = size
        raw = self.log_text()
        text = raw.splitlines()
        sys.stdout.write("----- %s log tail (%s) -----\n" % (self.kind, self.log_path))
        sys.stdout.write("\n".join(text[-lines:]) + "\n")
        sys.stdout.write("----- end of server log -----\n")
        if "AddressSanitizer" in raw and "pam_unix.so" in raw:
            sys.stdout.write(
                "HINT: a NULL call from pam_unix.so under ASan is usually ASan's crypt_r\n"
                "interceptor finding no real crypt_r (libcrypt is dlopen()ed with pam_unix):\n"
                "link the server with libcrypt (-Wl,--no-as-needed -lcrypt).\n")
        sys.stdout.flush()

    def cleanup(self):
        self.stop()
        if self.netns:
            self._afp_teardown()
        release_slot(self.slot_fd)
        self.slot_fd = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            # __exit__ does not run when __enter__ fails: end what started.
            self.cleanup()
            raise

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.dump_log()
        self.cleanup()
        return False


# ---------------------------------------------------------------- clients

SSH_BASE = ["ssh", "-F", "/dev/null",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentityAgent=none",
            "-o", "ConnectTimeout=15",
            "-o", "ServerAliveInterval=0"]


def ssh_argv(srv, env, *, user=TEST_USER, key="ed25519", password=False,
             opts=(), verbose=0, logfile=None, tty=False, command=None):
    # srv may be a stand-in with just a port (a proxy, a -p port): loopback.
    prefix = srv.client_prefix() if hasattr(srv, "client_prefix") else []
    argv = prefix + list(SSH_BASE)
    for o in opts:              # ssh keeps the first value: these win
        argv += ["-o", o]
    if password:
        argv += ["-o", "PubkeyAuthentication=no",
                 "-o", "PreferredAuthentications=password",
                 "-o", "NumberOfPasswordPrompts=1"]
    else:
        argv += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                 "-o", "PasswordAuthentication=no",
                 "-o", "KbdInteractiveAuthentication=no",
                 "-i", env.keys[key] if key in env.keys else key]
    if verbose:
        argv.append("-" + "v" * verbose)
    else:
        argv += ["-o", "LogLevel=ERROR"]
    if logfile:
        argv += ["-E", logfile]
    if tty:
        argv.append("-tt")
    argv += ["-p", str(srv.port), "%s@%s" % (user, getattr(srv, "host", "127.0.0.1"))]
    if command is not None:
        argv.append(command)
    return argv


def askpass_env(env, password, counter=None):
    e = dict(os.environ)
    e.update({"SSH_ASKPASS": env.askpass, "SSH_ASKPASS_REQUIRE": "force",
              "DISPLAY": ":0", "DSSH_TEST_PW": password})
    if counter:
        e["DSSH_ASKPASS_COUNT"] = counter
    return e


def ssh_run(srv, env, command, *, password=None, input=None, timeout=60,
            counter=None, **kw):
    """Runs ssh without a controlling tty; returns CompletedProcess.
    password: log in by password (askpass); counter: file that gets one line
    per password prompt."""
    argv = ssh_argv(srv, env, password=password is not None, command=command, **kw)
    e = askpass_env(env, password, counter) if password is not None else None
    return subprocess.run(argv, input=input if input is not None else b"",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=e, start_new_session=True)


def end_ssh(p, timeout=10):
    """Ends an ssh client (a Popen) with SIGTERM, as a user's ^C or kill
    would, and waits for it. OpenSSH 9.2's client loop checks its signal
    flag and then calls poll() with signals unblocked: a SIGTERM landing
    between the two is handled but leaves it in an endless poll (seen with
    -N and no ServerAliveInterval). Another SIGTERM, which then lands inside
    poll(), ends it; SIGKILL only if that fails too. Returns the exit code."""
    end = time.time() + timeout
    while p.poll() is None and time.time() < end:
        p.terminate()
        try:
            return p.wait(0.5)
        except subprocess.TimeoutExpired:
            pass
    if p.poll() is None:
        p.kill()
    return p.wait()


def describe(r):
    return "exit=%d stdout=%r stderr=%r" % (r.returncode, r.stdout[-400:], r.stderr[-800:])


# ---------------------------------------------------------------- main glue

def parser(desc):
    p = argparse.ArgumentParser(description=desc)
    p.add_argument("--server", required=True,
                   help="server binary: dsshd or /usr/sbin/sshd")
    p.add_argument("--kind", choices=("dsshd", "sshd"),
                   help="server kind (default: from the binary's name)")
    p.add_argument("--dataplane", choices=("tap", "af_packet"),
                   help="dsshd only: serve SSH on the DPDK data plane, over net_tap "
                        "or over af_packet on a veth into a namespace where clients run")
    p.add_argument("--engine", default=os.environ.get("DSSH_INTEROP_ENGINE"),
                   help="dsshd only: CryptoEngine for the server "
                        "(default: $DSSH_INTEROP_ENGINE, else dsshd's default)")
    p.add_argument("--skip", default="",
                   help="comma list of ciphers/MACs the server's crypto engine lacks: "
                        "left out of the server's config (and of the matrix)")
    return p


def root_main(desc, add_args, body, exe_opts):
    """main() of a root-only script that starts its own servers and clients
    (the DPDK client tests): options by add_args(parser), skipped (77)
    without root or when an executable named by one of exe_opts is
    missing; body(args, env) fails by TestFailure. Returns the exit code."""
    ap = argparse.ArgumentParser(description=desc)
    add_args(ap)
    a = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (EAL, network devices, test user)")
    for opt in exe_opts:
        path = getattr(a, opt)
        if not os.access(path, os.X_OK):
            skip("%s not executable" % path)
    Server.dataplane = None
    env = Env()
    try:
        body(a, env)
    except TestFailure as e:
        log("FAIL: %s" % e)
        return 1
    log("PASS")
    return 0


def main(desc, body, add_args=None):
    """Parses args, sets up users/keys, runs body(args, env); exit 0/1/77."""
    p = parser(desc)
    if add_args:
        add_args(p)
    args = p.parse_args()
    if not os.access(args.server, os.X_OK):
        skip("server %s not executable" % args.server)
    args.kind = server_kind(args.server, args.kind)
    if args.kind == "dsshd":
        Server.engine = args.engine
        Server.dataplane = args.dataplane
    Server.skip = tuple(a for a in args.skip.split(",") if a)
    env = Env()
    if args.kind == "dsshd" and not os.path.exists("/etc/pam.d/dsshd"):
        log("WARNING: no /etc/pam.d/dsshd (run scripts/setup.sh): PAM falls back "
            "to /etc/pam.d/other and password logins will be refused")
    try:
        body(args, env)
    except TestFailure as e:
        log("FAIL: %s" % e)
        sys.exit(1)
    log("PASS")
    sys.exit(0)


class Results:
    """Collects named sub-test results; fails at the end if any failed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failed = []
        self.passed = 0
        self.server = None      # the Server the next sub-tests talk to

    def run(self, name, fn, *a, **kw):
        """Runs one sub-test.  If a Server among the arguments has died, the
        sub-test is failed as such instead of being run against nothing."""
        for srv in [self.server] + list(a) + list(kw.values()):
            if isinstance(srv, Server) and srv.proc is not None and not srv.alive():
                with self.lock:
                    self.failed.append(name)
                log("FAIL %s: not run: %s is no longer running (exit status %d)"
                    % (name, srv.kind, srv.proc.returncode))
                return False
        try:
            fn(*a, **kw)
        except TestFailure as e:
            with self.lock:
                self.failed.append(name)
            log("FAIL %s: %s" % (name, e))
            return False
        except subprocess.TimeoutExpired as e:
            with self.lock:
                self.failed.append(name)
            log("FAIL %s: timeout: %s" % (name, e))
            return False
        except Exception:
            with self.lock:
                self.failed.append(name)
            log("FAIL %s: exception:\n%s" % (name, traceback.format_exc()))
            return False
        with self.lock:
            self.passed += 1
        log("ok   %s" % name)
        return True

    def finish(self, srv=None):
        log("%d passed, %d failed" % (self.passed, len(self.failed)))
        if self.failed:
            if srv is not None:
                if srv.proc is not None and srv.proc.poll() is not None:
                    log("NOTE: %s is no longer running (exit status %d)"
                        % (srv.kind, srv.proc.returncode))
                srv.dump_log(120)
            raise TestFailure("failed: " + ", ".join(self.failed))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = [n for n in dir() if not n.startswith("_")] + ["concurrent"]
