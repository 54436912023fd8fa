#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dsshd's spawner process (dsshd only).

- dsshd has exactly one spawner child ("dsshd --spawner ..."), a separate
  process image.
- The spawner is the privilege-separation monitor: it runs as root, dsshd
  does not (test_privsep.py checks dsshd's credentials in detail).
- A background process that outlives its session is reaped: the spawner
  (and dsshd), child subreapers, never keep a zombie.
- SIGKILL to the monitor while `ssh host 'echo started; sleep 2; echo done'`
  runs: dsshd, no longer root, cannot start another one, so (as sshd when
  its monitor dies) it logs the death and terminates, cleanly (exit status
  0, no sanitizer report), and its client sees the connection close.
(internal-sftp, ChrootDirectory and ForceCommand: test_sftp.py.)
"""

import os
import signal
import subprocess
import time

import dssh_harness as h


def children(pid):
    """Pids of pid's children (every thread's list)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except FileNotFoundError:
        return []


def spawners(srv):
    return [p for p in children(srv.proc.pid) if b"--spawner" in cmdline(p)]


def the_spawner(srv, not_pid=None, timeout=10):
    """The one spawner of srv (a new one when not_pid is given)."""
    deadline = time.time() + timeout
    while True:
        sp = [p for p in spawners(srv) if p != not_pid]
        if len(sp) == 1:
            return sp[0]
        if time.time() > deadline:
            raise h.TestFailure("spawners of dsshd %d: %r" % (srv.proc.pid, sp))
        time.sleep(0.1)


def one_spawner(srv):
    pid = the_spawner(srv)
    argv = cmdline(pid)
    h.check(argv[1] == b"--spawner", "spawner argv %r" % argv)
    # Its own image: exec'd, not a fork of dsshd sharing its memory.
    h.check(os.readlink("/proc/%d/exe" % pid) == os.readlink("/proc/%d/exe" % srv.proc.pid),
            "the spawner runs dsshd's executable")


def uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("Uid:"):
                return [int(x) for x in ln.split()[1:]]
    return []


def monitor_is_root(srv):
    h.check_eq(uids(the_spawner(srv)), [0, 0, 0, 0], "the monitor's uids")
    h.check(0 not in uids(srv.proc.pid), "dsshd's uids %r" % uids(srv.proc.pid))


def kill_monitor(srv, env):
    old = the_spawner(srv)
    off = srv.log_size()
    p = subprocess.Popen(h.ssh_argv(srv, env, command="echo started; sleep 2; echo done"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        h.check_eq(p.stdout.readline(), b"started\n", "session start")
        os.kill(old, signal.SIGKILL)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    h.check(p.returncode == 255, "the client's connection ends: exit %d stdout %r stderr %r"
            % (p.returncode, out, err))
    h.check(srv.wait_log(r"spawner \(pid %d\) died of signal 9" % old, off) is not None,
            "dsshd logged the monitor's death")
    h.check(srv.wait_log(r"the monitor \(spawner\) died; terminating", off) is not None,
            "dsshd logged that it terminates")
    try:
        srv.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        raise h.TestFailure("dsshd still runs without its monitor")
    h.check_eq(srv.proc.returncode, 0, "dsshd's exit status")
    h.check("Sanitizer" not in srv.log_since(off), "sanitizer report at exit")


def zombies(pid):
    out = []
    for c in children(pid):
        try:
            with open("/proc/%d/stat" % c) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    out.append(c)
        except FileNotFoundError:
            pass
    return out


def orphans_reaped(srv, env, kill_spawner):
    """`sleep 1 &` outlives the session; with kill_spawner, the spawner dies
    while the session runs, so the sleep ends up dsshd's."""
    old = the_spawner(srv)
    off = srv.log_size()
    p = subprocess.Popen(h.ssh_argv(srv, env, command="sleep 1 >/dev/null 2>&1 </dev/null & "
                                    "echo bg=$!; read x; echo bye"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        line = p.stdout.readline()
        h.check(line.startswith(b"bg="), "background pid: %r" % line)
        bg = int(line[3:])
        if kill_spawner:
            os.kill(old, signal.SIGKILL)
        out, err = p.communicate(b"x\n", timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    h.check_eq((p.returncode, out), (0, b"bye\n"), "session exit; stderr %r" % err)
    deadline = time.time() + 10
    while os.path.exists("/proc/%d" % bg) and time.time() < deadline:
        time.sleep(0.1)
    h.check(not os.path.exists("/proc/%d" % bg), "the background process %d was reaped" % bg)
    h.check_eq(zombies(srv.proc.pid), [], "dsshd's zombie children")


def body(args, env):
    if args.kind != "dsshd":
        h.skip("the spawner is dsshd's")
    res = h.Results()
    with h.Server(args.server, "dsshd", name="spawner") as srv:
        res.server = srv
        res.run("one-spawner", one_spawner, srv)
        res.run("monitor-is-root", monitor_is_root, srv)
        res.run("orphan-reaped", orphans_reaped, srv, env, False)
        res.run("kill-monitor-dsshd-terminates", kill_monitor, srv, env)
        res.finish()


if __name__ == "__main__":
    h.main(__doc__, body)
