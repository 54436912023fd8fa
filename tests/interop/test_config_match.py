#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""sshd_config as sshd 9.2 reads it (issue 14).

- Acceptance: `sshd -t -f F` and `dsshd -t -f F` agree on the same files:
  Debian's stock /etc/ssh/sshd_config (a copy, with its Include of
  sshd_config.d), a hardened file with Match blocks (User, Group, Address
  with CIDR and negation, LocalPort) and an Include, and files with errors
  (unknown keyword, keyword not allowed in Match, bad values, bad Match
  criteria) that both must reject.
- `-T -C` for a few connection specifications: the lines of the keywords
  both implement are the same as sshd's.
- Behaviour with real OpenSSH clients: Match blocks change what happens per
  user (PasswordAuthentication no for one user), per group (ForceCommand),
  per source address
  (ForceCommand and Banner for 127.0.0.2, not 127.0.0.1) and per local
  port (ForceCommand on a second Port).
"""

import concurrent.futures
import grp
import os
import pwd
import signal
import subprocess
import tempfile

import dssh_harness as h

SSHD = "/usr/sbin/sshd"

# Keywords whose -T line dsshd prints with sshd's meaning and default.
COMPARED = (
    "passwordauthentication", "pubkeyauthentication", "kbdinteractiveauthentication",
    "permitrootlogin", "permitemptypasswords", "maxauthtries", "maxsessions", "banner",
    "forcecommand", "chrootdirectory", "allowusers", "denyusers", "allowgroups",
    "denygroups", "allowtcpforwarding", "allowstreamlocalforwarding",
    "allowagentforwarding", "gatewayports", "permitopen", "permitlisten",
    "clientaliveinterval", "clientalivecountmax", "authorizedkeysfile",
    "disableforwarding", "streamlocalbindunlink", "streamlocalbindmask",
    "trustedusercakeys", "revokedkeys", "authorizedprincipalsfile", "acceptenv",
    "authenticationmethods", "logingracetime", "usepam", "strictmodes",
    "permituserenvironment", "syslogfacility", "loglevel", "maxstartups",
    "persourcemaxstartups", "persourcenetblocksize", "versionaddendum",
)

HARDENED = """\
HostKey {hostkey}
Port 22
Port 2200
PermitRootLogin no
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
AllowTcpForwarding no
AllowAgentForwarding no
MaxAuthTries 3
ClientAliveInterval 300
AcceptEnv LANG LC_*
PermitUserEnvironment LANG,LC_*,!LC_ALL
AllowUsers alice bob carol root
Include {dir}/conf.d/*.conf
Match User alice,bob
\tPasswordAuthentication no
\tAllowTcpForwarding local
\tPermitOpen 127.0.0.1:8080 [::1]:8080
Match Group root,!nogroup
\tMaxSessions 2
\tBanner /etc/issue.net
Match Address 10.0.0.0/8,!10.1.2.3,192.0.2.*
\tForceCommand /usr/bin/false
\tMaxAuthTries 1
\tAllowUsers carol
Match LocalPort 2200
\tClientAliveInterval 30
\tDisableForwarding yes
Match Host *.example.org User carol
\tChrootDirectory /srv/%u
Match LocalAddress 198.18.0.0/15
\tPermitRootLogin prohibit-password
Match All
\tAuthorizedKeysFile .ssh/authorized_keys .ssh/extra_keys
"""

INCLUDED = """\
# included
LoginGraceTime 30
Match User root
\tPermitEmptyPasswords no
\tClientAliveCountMax 1
"""

# Files both servers must refuse (each on top of "HostKey ...").
BAD = {
    "unknown keyword": "NoSuchKeywordAtAll yes\n",
    "not allowed in Match (Port)": "Match User x\n\tPort 2201\n",
    "not allowed in Match (Ciphers)": "Match Address 10.0.0.0/8\n\tCiphers aes128-ctr\n",
    "not allowed in Match (UsePAM)": "Match LocalPort 22\n\tUsePAM no\n",
    "bad yes/no": "PasswordAuthentication perhaps\n",
    "PermitUserEnvironment empty": "PermitUserEnvironment \"\"\n",
    "PermitUserEnvironment two words": "PermitUserEnvironment LANG LC_*\n",
    "PermitUserEnvironment in Match": "Match User x\n\tPermitUserEnvironment yes\n",
    "bad yes/no in Match": "Match User x\n\tPasswordAuthentication perhaps\n",
    "bad number in Match": "Match Group g\n\tMaxAuthTries many\n",
    "bad time": "LoginGraceTime 2x\n",
    "bad PermitRootLogin": "PermitRootLogin sometimes\n",
    "bad Match criterion": "Match Colour blue\n\tBanner none\n",
    "Match without criteria": "Match\n",
    "Match criterion without value": "Match User\n",
    "Match All with more": "Match All User x\n\tBanner none\n",
    "bad CIDR": "Match Address 10.0.0.1/8\n\tBanner none\n",
    "bad X11Forwarding value": "X11Forwarding sometimes\n",
    "relative AuthorizedKeysCommand": "AuthorizedKeysCommand bin/x\n",
}

# Files both servers must accept.
GOOD = {
    "Match Address negation": "Match Address !192.0.2.1,192.0.2.0/24\n\tBanner none\n",
    "Match User pattern list": "Match User a*,!admin\n\tMaxSessions 1\n",
    "PermitUserEnvironment pattern list": "PermitUserEnvironment \"FOO?,!FOOD,LC_*\"\n",
    "keywords sshd ignores": "UsePrivilegeSeparation sandbox\nProtocol 2\n",
    "Include of nothing": "Include /nonexistent-dir/*.conf\n",
    # sshd checks a LocalPort only when it evaluates the block for a connection
    "LocalPort checked late": "Match LocalPort http\n\tBanner none\n",
    "X11 and friends": "X11Forwarding yes\nX11DisplayOffset 10\nPrintLastLog no\n",
}

# A value sshd 9.2 accepts for each of its keywords (None: needs a live resource
# -- a certificate, an agent, an rdomain -- and is left out).
SAMPLES = {
 "acceptenv": "LANG", "addressfamily": "any", "afstokenpassing": "no", "allowagentforwarding": "yes",
 "allowgroups": "root", "allowstreamlocalforwarding": "yes", "allowtcpforwarding": "yes",
 "allowusers": "root", "authenticationmethods": "any", "authorizedkeyscommand": "none",
 "authorizedkeyscommanduser": "nobody", "authorizedkeysfile": ".ssh/authorized_keys",
 "authorizedkeysfile2": ".ssh/authorized_keys2", "authorizedprincipalscommand": "none",
 "authorizedprincipalscommanduser": "nobody", "authorizedprincipalsfile": "none", "banner": "none",
 "casignaturealgorithms": "ssh-ed25519", "challengeresponseauthentication": "no",
 "channeltimeout": "session=5m", "checkmail": "no", "chrootdirectory": "none",
 "ciphers": "aes128-ctr", "clientalivecountmax": "3", "clientaliveinterval": "0",
 "compression": "no", "debianbanner": "no", "denygroups": "nogroup", "denyusers": "nobody",
 "disableforwarding": "no", "dsaauthentication": "no", "exposeauthinfo": "no",
 "fingerprinthash": "sha256", "forcecommand": "none", "gatewayports": "no",
 "gssapiauthentication": "no", "gssapicleanupcredentials": "yes", "gssapicleanupcreds": "yes",
 "gssapikexalgorithms": "gss-curve25519-sha256-", "gssapikeyexchange": "no",
 "gssapistorecredentialsonrekey": "no", "gssapistrictacceptorcheck": "yes",
 "gssapiusesessioncredcache": "no", "gssusesessionccache": "no",
 "hostbasedacceptedalgorithms": "ssh-ed25519", "hostbasedacceptedkeytypes": "ssh-ed25519",
 "hostbasedauthentication": "no", "hostbasedusesnamefrompacketonly": "no",
 "hostcertificate": None, "hostdsakey": "HOSTKEY", "hostkey": "HOSTKEY", "hostkeyagent": None,
 "hostkeyalgorithms": "ssh-ed25519", "ignorerhosts": "yes", "ignoreuserknownhosts": "no",
 "include": "/nonexistent/*.conf", "ipqos": "lowdelay throughput",
 "kbdinteractiveauthentication": "no", "keepalive": "yes", "kerberosauthentication": "no",
 "kerberosgetafstoken": "no", "kerberosorlocalpasswd": "yes", "kerberostgtpassing": "no",
 "kerberosticketcleanup": "yes", "kexalgorithms": "curve25519-sha256",
 "keyregenerationinterval": "3600", "listenaddress": "127.0.0.1", "logingracetime": "2m",
 "loglevel": "INFO", "logverbose": "kex.c:*", "macs": "hmac-sha2-256-etm@openssh.com",
 "maxauthtries": "6", "maxsessions": "10", "maxstartups": "10:30:100", "modulifile": "/etc/ssh/moduli",
 "pamauthenticationviakbdint": "no", "passwordauthentication": "yes",
 "permitblacklistedkeys": "no", "permitemptypasswords": "no", "permitlisten": "any",
 "permitopen": "any", "permitrootlogin": "prohibit-password", "permittty": "yes",
 "permittunnel": "no", "permituserenvironment": "no", "permituserrc": "yes",
 "persourcemaxstartups": "none", "persourcenetblocksize": "32:128", "pidfile": "/run/x.pid",
 "port": "22", "printlastlog": "yes", "printmotd": "no", "protocol": "2",
 "pubkeyacceptedalgorithms": "ssh-ed25519", "pubkeyacceptedkeytypes": "ssh-ed25519",
 "pubkeyauthentication": "yes", "pubkeyauthoptions": "none", "rdomain": None,
 "rekeylimit": "1G 1h", "requiredrsasize": "2048", "reversemappingcheck": "no",
 "revokedkeys": "none", "rhostsauthentication": "no", "rhostsrsaauthentication": "no",
 "securitykeyprovider": "internal", "serverkeybits": "1024", "setenv": "FOO=bar",
 "skeyauthentication": "no", "streamlocalbindmask": "0177", "streamlocalbindunlink": "no",
 "strictmodes": "yes", "subsystem": "sftp internal-sftp", "syslogfacility": "AUTH",
 "tcpkeepalive": "yes", "trustedusercakeys": "none", "unusedconnectiontimeout": "none",
 "usedns": "no", "uselogin": "no", "usepam": "yes", "useprivilegeseparation": "sandbox",
 "verifyreversemapping": "no", "versionaddendum": "none", "x11displayoffset": "10",
 "x11forwarding": "no", "x11uselocalhost": "yes", "xauthlocation": "/usr/bin/xauth",
}

# Where dsshd is knowingly stricter or looser than sshd with a bad value:
# ListenAddress takes a host name resolved when dsshd binds (sshd resolves it
# at -t).
LOOSER = {"listenaddress"}

SPECS = (
    "user=alice,host=a.example.org,addr=10.1.2.3,laddr=127.0.0.1,lport=22",
    "user=carol,host=c.example.org,addr=10.9.9.9,laddr=198.18.0.5,lport=2200",
    "user=root,host=localhost,addr=192.0.2.7,laddr=127.0.0.1,lport=22",
    "user=bob,host=b,addr=203.0.113.9,laddr=127.0.0.1,lport=2222",
    "host=h,addr=10.1.2.3,laddr=127.0.0.1,lport=22",
)


def check_tool(path, args, cfg):
    return subprocess.run([path] + args + ["-f", cfg], capture_output=True, timeout=60)


def both_accept_or_refuse(dsshd, cfg, what, want=None):
    s = check_tool(SSHD, ["-t"], cfg)
    d = check_tool(dsshd, ["-t"], cfg)
    h.check_eq(d.returncode == 0, s.returncode == 0,
               "%s: dsshd -t accepted=%s, sshd -t accepted=%s (sshd: %r, dsshd: %r)"
               % (what, d.returncode == 0, s.returncode == 0, s.stderr[-300:],
                  d.stderr[-300:]))
    if want is not None:
        h.check_eq(s.returncode == 0, want, "%s: sshd -t accepted (%r)" % (what, s.stderr))
    return d


def keyword_list():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "unit", "config", "sshd92_keywords.txt")
    return [ln.split() for ln in open(path) if ln.strip() and not ln.startswith("#")]


def every_keyword(args, tmp, hostkey):
    """Every sshd 9.2 keyword with a good value: accepted by both (in one file,
    and in a Match block where sshd allows it); with bad values ("x", two words
    where one is wanted): accepted or refused by both."""
    kws = keyword_list()
    h.check(len(kws) > 120, "sshd92_keywords.txt has %d keywords" % len(kws))
    good = ["HostKey %s" % hostkey]
    match = ["Match User nobody"]
    for k, where in kws:
        h.check(k in SAMPLES, "no sample value for %s" % k)
        v = SAMPLES.get(k)
        if v is None:
            continue
        v = v.replace("HOSTKEY", hostkey)
        good.append("%s %s" % (k, v))
        # (sshd 9.2 refuses a second "AuthenticationMethods any", in a block too)
        if where == "match" and k != "authenticationmethods":
            match.append("\t%s %s" % (k, v))
    p = os.path.join(tmp, "every_config")
    with open(p, "w") as f:
        f.write("\n".join(good + match) + "\n")
    d = both_accept_or_refuse(args.server, p, "every keyword with a good value", True)
    h.check(b"accepted, not implemented by dsshd" in d.stderr, "no warning at all: %r"
            % d.stderr[-300:])

    def one(item):
        k, v, n = item
        path = os.path.join(tmp, "kw%d_config" % n)
        with open(path, "w") as f:
            f.write("HostKey %s\n%s %s\n" % (hostkey, k, v))
        s = check_tool(SSHD, ["-t"], path)
        d = check_tool(args.server, ["-t"], path)
        return k, v, s.returncode == 0, d.returncode == 0, d.stderr

    items = [(k, v, i * 2 + j) for i, (k, _) in enumerate(kws) if k not in LOOSER
             for j, v in enumerate(("x", "yes no"))]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(one, items))
    bad = ["%s %r: sshd %s, dsshd %s (%r)" % (k, v, "accepts" if s else "refuses",
           "accepts" if d else "refuses", err[-120:])
           for k, v, s, d, err in results if s != d]
    h.check(not bad, "acceptance differs from sshd's: " + "; ".join(bad))
    h.log("%d keywords x 2 bad values: the same verdict as sshd" % (len(items) // 2))


def lines_for(out, keys):
    got = {}
    for ln in out.decode().splitlines():
        parts = ln.split(None, 1)
        if parts and parts[0] in keys:
            got.setdefault(parts[0], []).append(ln.strip())
    return {k: sorted(v) for k, v in got.items()}


def acceptance(args, tmp):
    hostkey = os.path.join(tmp, "hk")
    h.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey])
    # Debian's stock file, as it is, with a host key of ours first.
    stock = os.path.join(tmp, "stock_config")
    with open(stock, "w") as f:
        f.write("HostKey %s\n" % hostkey + open("/etc/ssh/sshd_config").read())
    d = both_accept_or_refuse(args.server, stock, "Debian's stock sshd_config", True)
    # Every keyword of Debian's stock file (Include, KbdInteractiveAuthentication,
    # UsePAM, X11Forwarding, PrintMotd, AcceptEnv, Subsystem) is implemented.
    h.check(b"not implemented by dsshd" not in d.stderr,
            "a stock keyword warned as not implemented: %r" % d.stderr)
    os.makedirs(os.path.join(tmp, "conf.d"))
    with open(os.path.join(tmp, "conf.d", "10-root.conf"), "w") as f:
        f.write(INCLUDED)
    hard = os.path.join(tmp, "hardened_config")
    with open(hard, "w") as f:
        f.write(HARDENED.format(hostkey=hostkey, dir=tmp))
    both_accept_or_refuse(args.server, hard, "hardened file with Match blocks", True)
    every_keyword(args, tmp, hostkey)
    for what, body in sorted(BAD.items()):
        p = os.path.join(tmp, "bad_config")
        with open(p, "w") as f:
            f.write("HostKey %s\n%s" % (hostkey, body))
        d = both_accept_or_refuse(args.server, p, what, False)
        h.check(b"bad_config" in d.stderr, "%s: dsshd's error names no file: %r"
                % (what, d.stderr))
    for what, body in sorted(GOOD.items()):
        p = os.path.join(tmp, "good_config")
        with open(p, "w") as f:
            f.write("HostKey %s\n%s" % (hostkey, body))
        both_accept_or_refuse(args.server, p, what, True)
    # -T -C: the same lines for what both implement.
    for spec in SPECS:
        s = check_tool(SSHD, ["-T", "-C", spec], hard)
        d = check_tool(args.server, ["-T", "-C", spec], hard)
        h.check_eq((s.returncode, d.returncode), (0, 0), "-T -C %s exit status (%r)"
                   % (spec, d.stderr[-300:]))
        want = lines_for(s.stdout, COMPARED)
        got = lines_for(d.stdout, COMPARED)
        for k in COMPARED:
            h.check_eq(got.get(k), want.get(k), "-T -C %s: %s" % (spec, k))
        h.log("-T -C %s: %d keywords the same as sshd" % (spec, len(want)))


def login(srv, env, user, *, password=None, src=None, port=None, command="echo plain"):
    opts = ["LogLevel=INFO"]
    if src:
        opts.append("BindAddress=%s" % src)

    class Via:
        pass
    target = srv
    if port:
        target = Via()
        target.port = port
        target.host = srv.host
    return h.ssh_run(target, env, command, user=user, password=password, opts=opts,
                     timeout=60)


def behaviour(args, env, tmp):
    banner = os.path.join(tmp, "banner")
    with open(banner, "w") as f:
        f.write("only-for-127.0.0.2\n")
    port2 = h.free_port()
    deny_group = grp.getgrgid(pwd.getpwnam(h.DENY_USER).pw_gid).gr_name
    extra = [
        "Port %d" % port2,
        "Match User %s" % h.DENY_USER,
        "\tPasswordAuthentication no",
        "Match Address 127.0.0.2",
        "\tForceCommand echo forced-for-127.0.0.2",
        "\tBanner %s" % banner,
        "Match Group %s,!nogroup" % deny_group,
        "\tForceCommand echo via-group",
        "Match Address 127.0.0.3",
        "\tDenyGroups %s" % deny_group,
        "Match LocalPort %d" % port2,
        "\tForceCommand echo via-second-port",
    ]
    srv = h.Server(args.server, args.kind, name="match", extra=extra)
    # "Port N" of the harness comes first; our second Port is added by the extra line.
    srv.start()
    res = h.Results()
    res.server = srv

    def plain_from_1():
        r = login(srv, env, h.TEST_USER, src="127.0.0.1")
        h.check_eq((r.returncode, r.stdout), (0, b"plain\n"), "127.0.0.1 (%r)" % r.stderr)
        h.check(b"only-for-127.0.0.2" not in r.stderr, "banner shown to 127.0.0.1")

    def forced_from_2():
        r = login(srv, env, h.TEST_USER, src="127.0.0.2")
        h.check_eq((r.returncode, r.stdout), (0, b"forced-for-127.0.0.2\n"),
                   "127.0.0.2 (%r)" % r.stderr)
        h.check(b"only-for-127.0.0.2" in r.stderr, "no banner for 127.0.0.2: %r" % r.stderr)

    def second_port():
        r = login(srv, env, h.TEST_USER, port=port2)
        h.check_eq((r.returncode, r.stdout), (0, b"via-second-port\n"),
                   "port %d (%r)" % (port2, r.stderr))

    def password_ok_for_test_user():
        r = login(srv, env, h.TEST_USER, password=h.TEST_PASSWORD)
        h.check_eq((r.returncode, r.stdout), (0, b"plain\n"), "password (%r)" % r.stderr)

    def password_refused_for_deny_user():
        r = login(srv, env, h.DENY_USER, password=h.DENY_PASSWORD)
        h.check(r.returncode != 0 and r.stdout == b"",
                "%s logged in by password (%r)" % (h.DENY_USER, r.stderr))

    def key_ok_for_deny_user():
        # PasswordAuthentication no did not stop the key; Match Group forced a command
        r = login(srv, env, h.DENY_USER)
        h.check_eq((r.returncode, r.stdout), (0, b"via-group\n"),
                   "%s by key (%r)" % (h.DENY_USER, r.stderr))

    def deny_groups_from_3():
        r = login(srv, env, h.DENY_USER, src="127.0.0.3")
        h.check(r.returncode != 0 and r.stdout == b"",
                "%s from 127.0.0.3 not refused by DenyGroups (%r)" % (h.DENY_USER, r.stderr))
        r = login(srv, env, h.TEST_USER, src="127.0.0.3")
        h.check_eq((r.returncode, r.stdout), (0, b"plain\n"), "%s from 127.0.0.3 (%r)"
                   % (h.TEST_USER, r.stderr))

    def reload_changes_match():
        """dsshd: SIGHUP re-reads the Match blocks; new connections get them."""
        text = open(srv.config_path).read().replace("forced-for-127.0.0.2",
                                                    "forced-after-reload")
        with open(srv.config_path, "w") as f:
            f.write(text)
        off = srv.log_size()
        os.kill(srv.proc.pid, signal.SIGHUP)
        srv.wait_log(r"Reloaded the configuration|Reload failed", off, timeout=30)
        h.check("Reload failed" not in srv.log_since(off), "reload failed: %s"
                % srv.log_since(off)[-500:])
        r = login(srv, env, h.TEST_USER, src="127.0.0.2")
        h.check_eq((r.returncode, r.stdout), (0, b"forced-after-reload\n"),
                   "127.0.0.2 after SIGHUP (%r)" % r.stderr)
        r = login(srv, env, h.TEST_USER, src="127.0.0.1")
        h.check_eq(r.stdout, b"plain\n", "127.0.0.1 after SIGHUP (%r)" % r.stderr)

    try:
        res.run("address-127.0.0.1-plain", plain_from_1)
        res.run("address-127.0.0.2-forcecommand-banner", forced_from_2)
        res.run("localport-forcecommand", second_port)
        res.run("user-password-allowed", password_ok_for_test_user)
        res.run("match-user-password-refused", password_refused_for_deny_user)
        res.run("match-user-key-allowed-match-group-forcecommand", key_ok_for_deny_user)
        res.run("match-address-denygroups", deny_groups_from_3)
        if srv.kind == "dsshd":
            res.run("sighup-rereads-match", reload_changes_match)
        res.finish(srv)
    finally:
        srv.cleanup()


def body(args, env):
    tmp = tempfile.mkdtemp(prefix="dssh-config-match-")
    if args.kind == "dsshd" and os.access(SSHD, os.X_OK):
        acceptance(args, tmp)
    else:
        h.log("no %s (or not dsshd): acceptance comparison skipped" % SSHD)
    behaviour(args, env, tmp)


if __name__ == "__main__":
    h.main(__doc__, body)
