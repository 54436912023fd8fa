#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A PTY login shell through `ssh -tt` on a local pseudo-terminal.

Sets the window size before connecting (pty-req) and changes it while
connected (window-change), runs commands at the prompt, and exits.
"""

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

import dssh_harness as h


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


CSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")


class Pty:
    def __init__(self, argv, rows, cols):
        self.master, slave = os.openpty()
        set_winsize(slave, rows, cols)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True,
                                     env=dict(os.environ, TERM="xterm"),
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.buf = b""

    def expect(self, regex, timeout=20):
        """Reads until regex matches the accumulated output; consumes it."""
        deadline = time.time() + timeout
        rx = re.compile(regex)
        while True:
            # bash's bracketed-paste and similar CSI sequences are noise here
            self.buf = CSI.sub(b"", self.buf)
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.time()
            if left <= 0:
                raise h.TestFailure("timeout waiting for %r; got %r" % (regex, self.buf[-500:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:       # EIO: the other side has gone
                    data = b""
                if not data:
                    raise h.TestFailure("EOF waiting for %r; got %r" % (regex, self.buf[-500:]))
                self.buf += data

    def send(self, s):
        os.write(self.master, s.encode())

    def drain(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                if not data:
                    return
                self.buf += data
            elif self.proc.poll() is not None:
                return

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


PROMPT = r"\$ $"


def session(srv, env, exit_cmd, want_status):
    argv = h.ssh_argv(srv, env, tty=True)
    p = Pty(argv, 37, 101)
    try:
        # Wait for the shell's first prompt, then set one we can recognise.
        p.expect(rb"\$ ", timeout=30)
        p.send("PS1='dssh''-prompt> '\n")
        p.expect(rb"dssh-prompt> ")
        p.send("echo $((6*7)); tty; stty size; echo \"T=$TERM\"\n")
        m = p.expect(rb"\n\r*42\r\n(/dev/pts/\d+)\r\n(\d+ \d+)\r\nT=(\S*)\r\n\r*dssh-prompt> ")
        h.check_eq(m.group(2), b"37 101", "stty size (pty-req)")
        h.check_eq(m.group(3), b"xterm", "TERM (pty-req)")
        # window-change: the kernel sends SIGWINCH to ssh, ssh forwards it.
        set_winsize(p.master, 50, 132)
        time.sleep(0.5)
        p.send("stty size\n")
        m = p.expect(rb"\n\r*(\d+ \d+)\r\n\r*dssh-prompt> ")
        h.check_eq(m.group(1), b"50 132", "stty size after window-change")
        p.send("test -t 0 && test -t 1 && echo both-ttys\n")
        p.expect(rb"\n\r*both-ttys\r\n\r*dssh-prompt> ")
        p.send(exit_cmd + "\n")
        p.drain()
        try:
            status = p.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise h.TestFailure("ssh did not exit after %r; output %r" % (exit_cmd, p.buf[-300:]))
        h.check_eq(status, want_status, "ssh exit status after %r" % exit_cmd)
    finally:
        p.close()


def body(args, env):
    res = h.Results()
    with h.Server(args.server, args.kind, name="pty") as srv:
        res.run("pty-shell-exit-0", session, srv, env, "exit", 0)
        res.run("pty-shell-exit-3", session, srv, env, "exit 3", 3)
        res.finish(srv)


if __name__ == "__main__":
    h.main(__doc__, body)
