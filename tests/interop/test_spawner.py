#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dsshd's spawner process (dsshd only).

- dsshd has exactly one spawner child ("dsshd --spawner ..."), a separate
  process image.
- SIGKILL to the spawner while `ssh host 'echo started; sleep 2; echo done'`
  runs (UsePAM yes: the session's PAM middle process is the spawner's
  child): the session still prints done and exits 0, dsshd logs the death
  and starts a new spawner, and new logins (shell and exec) work through it.
- A second death with a session whose exit code is not 0: reported exactly.
- A background process that outlives its session (before and after a
  spawner's death) is reaped: dsshd, a child subreaper, never keeps a
  zombie.
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


def kill_during_session(srv, env, command, want_out, want_rc):
    old = the_spawner(srv)
    off = srv.log_size()
    p = subprocess.Popen(h.ssh_argv(srv, env, command=command),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        h.check_eq(p.stdout.readline(), b"started\n", "session start")
        os.kill(old, signal.SIGKILL)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    h.check_eq((p.returncode, b"started\n" + out), (want_rc, want_out),
               "session across the spawner's death (exit, stdout); stderr %r" % err)
    h.check(srv.wait_log(r"spawner \(pid %d\) died of signal 9" % old, off) is not None,
            "dsshd logged the spawner's death")
    h.check(srv.wait_log(r"spawner restarted \(pid \d+\)", off) is not None,
            "dsshd logged the restart")
    new = the_spawner(srv, not_pid=old)
    h.check(new != old, "a new spawner")
    # New logins go through the new spawner.
    r = h.ssh_run(srv, env, "echo again; exit 6")
    h.check_eq((r.returncode, r.stdout), (6, b"again\n"), "login after the restart")
    h.check_eq(the_spawner(srv), new, "still the new spawner")


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
            # (Its PAM middle process, also "dsshd --spawner" by its
            # cmdline, is dsshd's child now too: go by the log.)
            h.check(srv.wait_log(r"spawner restarted \(pid \d+\)", off) is not None,
                    "dsshd restarted the spawner")
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
        res.run("kill-spawner-during-session", kill_during_session, srv, env,
                "echo started; sleep 2; echo done", b"started\ndone\n", 0)
        res.run("kill-spawner-again-exit-code", kill_during_session, srv, env,
                "echo started; sleep 1; echo bye; exit 3", b"started\nbye\n", 3)
        res.run("orphan-reaped", orphans_reaped, srv, env, False)
        res.run("orphan-reaped-after-spawner-death", orphans_reaped, srv, env, True)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
