#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Privilege separation (dsshd only, docs/security.md).

- After start every thread of dsshd runs as the unprivileged user "dsshd"
  (real, effective, saved and file-system uid and gid), with no
  supplementary group but its own, no capability (effective, permitted,
  inheritable, ambient), NoNewPrivs set and the seccomp filter on
  (Seccomp: 2, Seccomp_filters >= 1; on the data plane the EAL's threads
  made before the drop too: the filter is installed with TSYNC); its
  monitor (the spawner) is root and unfiltered (Seccomp: 0).
- Logins still work through the monitor: password (PAM with the real test
  user; a wrong one is refused no sooner than 300 ms), keyboard-interactive
  (PAM's conversation in the monitor's child), publickey with an
  authorized_keys option (command=), read by the monitor as the user.
- Inside a session: the user's uid and gid, no capability in the
  effective, permitted, inheritable or ambient sets, NoNewPrivs 0 (as
  sshd leaves it), no seccomp filter (Seccomp: 0: sessions are forked by
  the monitor), and only fds 0, 1 and 2 open in the shell. SFTP (the
  external sftp-server, exec'd in the session) and a direct-tcpip
  forward (ssh -W, dsshd's own connect) work under the filter.
- DSSH_NO_SECCOMP=1 (kernel backend): dsshd runs unfiltered and says so
  at error level.
- -R below 1024 is still refused for a non-root user; a -R Unix socket is
  still made by (and owned by) the user.
- SIGHUP reload: the new generation's host keys come through the monitor,
  logins go on, dsshd stays unprivileged.
- Without the "dsshd" user (a private mount namespace with a passwd file
  lacking it, NSS from files only) dsshd refuses to start, with sshd's words.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import dssh_harness as h

KBD = ["KbdInteractiveAuthentication=yes", "PreferredAuthentications=keyboard-interactive",
       "NumberOfPasswordPrompts=1"]


def status(pid, task=None):
    path = "/proc/%d/task/%s/status" % (pid, task) if task else "/proc/%d/status" % pid
    with open(path) as f:
        return dict((k, v.strip()) for k, v in
                    (ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln))


def spawner_of(srv):
    for tid in os.listdir("/proc/%d/task" % srv.proc.pid):
        with open("/proc/%d/task/%s/children" % (srv.proc.pid, tid)) as f:
            for p in f.read().split():
                with open("/proc/%s/cmdline" % p, "rb") as c:
                    if b"--spawner" in c.read():
                        return int(p)
    raise h.TestFailure("no spawner child of dsshd")


def seccomp_built(srv):
    """Whether this dsshd has its filter: it says which at the drop."""
    m = srv.wait_log(r"seccomp filter installed on every thread|built without libseccomp",
                     timeout=10)
    h.check(m is not None, "dsshd's log says nothing about its seccomp filter")
    if m.group(0).startswith("built without"):
        h.log("NOTE: dsshd built without libseccomp: the filter is not checked")
        return False
    return True


def dsshd_unprivileged(srv):
    filtered = seccomp_built(srv)
    pw = pwd.getpwnam("dsshd")
    uid, gid = str(pw.pw_uid), str(pw.pw_gid)
    tasks = os.listdir("/proc/%d/task" % srv.proc.pid)
    h.check(len(tasks) >= 2, "dsshd's threads: %r" % tasks)
    for t in tasks:
        st = status(srv.proc.pid, t)
        h.check_eq(st["Uid"].split(), [uid] * 4, "thread %s Uid (real, eff, saved, fs)" % t)
        h.check_eq(st["Gid"].split(), [gid] * 4, "thread %s Gid" % t)
        h.check_eq(st["Groups"].split(), [gid], "thread %s Groups" % t)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            h.check_eq(int(st[cap], 16), 0, "thread %s %s" % (t, cap))
        with open("/proc/%d/task/%s/comm" % (srv.proc.pid, t)) as f:
            comm = f.read().strip()
        if not filtered:
            # NoNewPrivs is per thread: without the filter's TSYNC the data
            # plane's and the EAL's threads made before the drop keep it clear.
            if h.Server.dataplane and comm != "dsshd":
                continue
        else:
            h.check_eq(st.get("Seccomp"), "2", "thread %s (%s) Seccomp" % (t, comm))
            h.check(int(st.get("Seccomp_filters", "0")) >= 1,
                    "thread %s (%s) Seccomp_filters: %r" % (t, comm, st.get("Seccomp_filters")))
        h.check_eq(st["NoNewPrivs"], "1", "thread %s (%s) NoNewPrivs" % (t, comm))
    mon = status(spawner_of(srv))
    h.check_eq(mon["Uid"].split(), ["0"] * 4, "the monitor's Uid")
    h.check_eq(mon.get("Seccomp"), "0", "the monitor's Seccomp")


def password_login(srv, env):
    r = h.ssh_run(srv, env, "echo pw-ok; id -un", password=h.TEST_PASSWORD)
    h.check_eq((r.returncode, r.stdout), (0, b"pw-ok\n" + h.TEST_USER.encode() + b"\n"),
               "password login: " + h.describe(r))
    t0 = time.time()
    r = h.ssh_run(srv, env, "echo SHOULD-NOT-RUN", password="wrong-" + h.TEST_PASSWORD)
    took = time.time() - t0
    h.check(r.returncode == 255 and r.stdout == b"", "wrong password: " + h.describe(r))
    h.check(took >= 0.3, "a failed password answered after %.3f s" % took)


def kbdint_login(srv, env):
    r = h.ssh_run(srv, env, "echo kbd-ok", password=h.TEST_PASSWORD, opts=KBD, verbose=1)
    h.check(r.returncode == 0 and r.stdout == b"kbd-ok\n", "kbdint login: " + h.describe(r))
    h.check(b"Authenticated to" in r.stderr and b"keyboard-interactive" in r.stderr,
            "ssh -v says keyboard-interactive: " + h.describe(r))


def pubkey_login(srv, env):
    r = h.ssh_run(srv, env, "echo key-ok")
    h.check_eq((r.returncode, r.stdout), (0, b"key-ok\n"), "publickey login")
    r = h.ssh_run(srv, env, "echo mine", key="opt_command")
    h.check_eq((r.returncode, r.stdout), (0, b"forced:echo mine\n"), "command= key")


def session_creds(srv, env):
    pw = pwd.getpwnam(h.TEST_USER)
    cmd = ("grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs|Seccomp):' /proc/$$/status; "
           "ls /proc/$$/fd; echo end")
    r = h.ssh_run(srv, env, cmd)
    h.check(r.returncode == 0, "session: " + h.describe(r))
    lines = r.stdout.decode().splitlines()
    st = dict((k, v.strip()) for k, v in (ln.split(":", 1) for ln in lines if ":" in ln))
    h.check_eq(st.get("Uid", "").split(), [str(pw.pw_uid)] * 4, "the session's Uid")
    h.check_eq(st.get("Gid", "").split(), [str(pw.pw_gid)] * 4, "the session's Gid")
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        h.check_eq(int(st.get(cap, "1"), 16), 0, "the session's %s" % cap)
    h.check_eq(st.get("NoNewPrivs"), "0", "the session's NoNewPrivs (as sshd's)")
    h.check_eq(st.get("Seccomp"), "0", "the session's Seccomp (forked by the monitor)")
    fds = sorted(int(x) for x in lines if x.isdigit())
    h.check_eq(fds, [0, 1, 2], "the session shell's fds")


def sftp_roundtrip(srv, env):
    """The external sftp-server runs (exec'd in the session): put, get, compare."""
    pw = pwd.getpwnam(h.TEST_USER)
    d = tempfile.mkdtemp(prefix="dssh-privsep-sftp-", dir="/var/tmp")
    local = tempfile.mkdtemp(prefix="dssh-privsep-sftp-local-")
    try:
        os.chown(d, pw.pw_uid, pw.pw_gid)
        src, back = os.path.join(local, "src"), os.path.join(local, "back")
        data = os.urandom(300000)
        with open(src, "wb") as f:
            f.write(data)
        os.chmod(src, 0o644)
        argv = h.ssh_argv(srv, env)
        prefix = srv.client_prefix()
        opts = argv[len(prefix) + 1:argv.index("-p")] + ["-P", str(srv.port)]
        batch = "put %s %s/f\nget %s/f %s\n" % (src, d, d, back)
        r = subprocess.run(prefix + ["sftp", "-b", "-"] + opts +
                           ["%s@%s" % (h.TEST_USER, getattr(srv, "host", "127.0.0.1"))],
                           input=batch.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, start_new_session=True)
        h.check(r.returncode == 0, "sftp: " + h.describe(r))
        with open(back, "rb") as f:
            h.check(f.read() == data, "sftp put/get round trip differs")
        h.check_eq(os.stat(os.path.join(d, "f")).st_uid, pw.pw_uid, "the uploaded file's owner")
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(local, ignore_errors=True)


def direct_tcpip(srv, env):
    """ssh -W: dsshd itself connects to the target (socket, connect under the filter)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(60)

    def serve():
        try:
            c, _ = ls.accept()
            with c:
                c.sendall(b"fwd-ok\n")
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        argv = h.ssh_argv(srv, env)
        argv[-1:-1] = ["-W", "127.0.0.1:%d" % ls.getsockname()[1]]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, start_new_session=True)
        h.check_eq(r.stdout, b"fwd-ok\n", "ssh -W through dsshd: " + h.describe(r))
    finally:
        ls.close()
        t.join(5)


def no_seccomp_env(args, env):
    """DSSH_NO_SECCOMP=1: no filter, said loudly; logins still work."""
    old = os.environ.get("DSSH_NO_SECCOMP")
    os.environ["DSSH_NO_SECCOMP"] = "1"
    try:
        srv = h.Server(args.server, "dsshd", name="privsep-noseccomp")
        srv.start()
    finally:
        if old is None:
            del os.environ["DSSH_NO_SECCOMP"]
        else:
            os.environ["DSSH_NO_SECCOMP"] = old
    try:
        h.check(srv.wait_log(r"error: DSSH_NO_SECCOMP=1: the unprivileged dsshd runs WITHOUT",
                             timeout=10) is not None, "the loud line about no filter")
        for t in os.listdir("/proc/%d/task" % srv.proc.pid):
            h.check_eq(status(srv.proc.pid, t).get("Seccomp"), "0", "thread %s Seccomp" % t)
        h.check_eq(status(srv.proc.pid)["Uid"].split()[0], str(pwd.getpwnam("dsshd").pw_uid),
                   "still unprivileged")
        r = h.ssh_run(srv, env, "echo unfiltered-ok")
        h.check_eq((r.returncode, r.stdout), (0, b"unfiltered-ok\n"), "login without the filter")
    finally:
        srv.cleanup()


def low_port_refused(srv, env):
    argv = h.ssh_argv(srv, env, opts=["ExitOnForwardFailure=yes"], command="echo up")
    argv[-2:-2] = ["-R", "1022:127.0.0.1:%d" % srv.port]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, start_new_session=True)
    h.check(r.returncode == 255 and b"remote port forwarding failed" in r.stderr,
            "-R 1022 for a non-root user: " + h.describe(r))


def unix_socket_as_user(srv, env):
    pw = pwd.getpwnam(h.TEST_USER)
    d = tempfile.mkdtemp(prefix="dssh-privsep-")
    try:
        os.chown(d, pw.pw_uid, pw.pw_gid)
        sock = os.path.join(d, "r.sock")
        cmd = ("for i in $(seq 100); do test -S %s && break; sleep 0.1; done; "
               "stat -c '%%U %%a' %s" % (sock, sock))
        argv = h.ssh_argv(srv, env, opts=["ExitOnForwardFailure=yes"], command=cmd)
        argv[-2:-2] = ["-R", "%s:127.0.0.1:%d" % (sock, srv.port)]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, start_new_session=True)
        h.check_eq((r.returncode, r.stdout), (0, ("%s 600\n" % h.TEST_USER).encode()),
                   "-R Unix socket owner and mode; stderr %r" % r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def reload_keeps_working(srv, env):
    off = srv.log_size()
    # a new host key in the new generation: only the monitor can read it
    newkey = os.path.join(srv.dir, "ssh_host_ed25519_key_2")
    h.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", newkey])
    with open(srv.config_path) as f:
        text = f.read()
    with open(srv.config_path, "w") as f:
        f.write(text.replace("HostKey %s\n" % srv.hostkeys["ssh-ed25519"],
                             "HostKey %s\n" % newkey))
    os.kill(srv.proc.pid, signal.SIGHUP)
    h.check(srv.wait_log(r"monitor: host key %s loaded" % re.escape(newkey), off, timeout=20)
            is not None, "the monitor loaded the new host key")
    h.check(srv.wait_log(r"Reloaded the configuration \(generation \d+", off, timeout=20)
            is not None, "dsshd reloaded")
    deadline = time.time() + 20
    while True:
        r = h.ssh_run(srv, env, "echo after-reload",
                      opts=["HostKeyAlgorithms=ssh-ed25519", "StrictHostKeyChecking=no",
                            "UserKnownHostsFile=/dev/null"], verbose=1)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    h.check_eq((r.returncode, r.stdout), (0, b"after-reload\n"), "login after SIGHUP")
    fp = h.run(["ssh-keygen", "-l", "-f", newkey + ".pub"]).stdout.split()[1]
    h.check(fp in r.stderr, "the new host key %s was offered: %r" % (fp.decode(), r.stderr[-600:]))
    dsshd_unprivileged(srv)


def no_privsep_user(args):
    """A passwd without "dsshd", in a private mount namespace."""
    tmp = tempfile.mkdtemp(prefix="dssh-privsep-nouser-")
    try:
        fake = os.path.join(tmp, "passwd")
        with open("/etc/passwd") as f, open(fake, "w") as o:
            o.writelines(ln for ln in f if not ln.startswith("dsshd:"))
        # files only: no NSS module that might wait on a daemon for a missing user
        nss = os.path.join(tmp, "nsswitch.conf")
        with open(nss, "w") as o:
            o.write("passwd: files\ngroup: files\nshadow: files\nhosts: files\n")
        srv = h.Server(args.server, "dsshd", name="privsep-nouser")
        try:
            p = subprocess.Popen(["unshare", "-m", "sh", "-c",
                                  'mount --bind "$0" /etc/passwd && '
                                  'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"',
                                  fake, nss, srv.path, "-D", "-e", "-f", srv.config_path],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                diag = subprocess.run(["sh", "-c", "ps -o pid,stat,wchan:32,args -g %d; "
                                       "cat /proc/%d/stack" % (p.pid, p.pid)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
                os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
                raise h.TestFailure("dsshd without its user did not exit: %r\n%s"
                                    % (err[-1500:], diag.decode(errors="replace")))
            r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        finally:
            srv.cleanup()
        h.check(r.returncode != 0, "dsshd started without its user: " + h.describe(r))
        h.check(b"Privilege separation user dsshd does not exist" in r.stderr,
                "the error: " + h.describe(r))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(args, env):
    if args.kind != "dsshd":
        h.skip("privilege separation is checked on dsshd")
    try:
        pwd.getpwnam("dsshd")
    except KeyError:
        raise h.TestFailure("no \"dsshd\" user: run scripts/setup.sh")
    res = h.Results()
    with h.Server(args.server, "dsshd", name="privsep",
                  extra=["KbdInteractiveAuthentication yes"],
                  override={"KbdInteractiveAuthentication": None}) as srv:
        res.server = srv
        res.run("dsshd-unprivileged", dsshd_unprivileged, srv)
        res.run("password", password_login, srv, env)
        res.run("keyboard-interactive", kbdint_login, srv, env)
        res.run("publickey", pubkey_login, srv, env)
        res.run("session-credentials", session_creds, srv, env)
        res.run("sftp", sftp_roundtrip, srv, env)
        res.run("direct-tcpip", direct_tcpip, srv, env)
        res.run("low-port-refused", low_port_refused, srv, env)
        res.run("unix-socket-as-user", unix_socket_as_user, srv, env)
        res.run("reload", reload_keeps_working, srv, env)
        res.run("dsshd-unprivileged-at-end", dsshd_unprivileged, srv)
        res.finish(srv)
    res2 = h.Results()
    res2.run("no-privsep-user", no_privsep_user, args)
    if not h.Server.dataplane:
        res2.run("no-seccomp-env", no_seccomp_env, args, env)
    res2.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
