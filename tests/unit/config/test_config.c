/* SPDX-License-Identifier: BSD-3-Clause */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "dssh_build_config.h"
#include "dssh_config.h"
#include "dssh_err.h"
#include "dssh_log.h"
#include "dssh_test.h"
#include "dssh_util.h"

static char err[512];

static int
line(struct dssh_config *c, const char *l)
{
	return dssh_config_apply_line(c, l, "test", 7, err, sizeof(err));
}

static int
finalize(struct dssh_config *c)
{
	return dssh_config_finalize(c, NULL, err, sizeof(err));
}

static void
test_defaults(void)
{
	struct dssh_config c;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.nports, 1);
	CHECK_EQ_INT(c.ports[0], 2222);
	CHECK_EQ_INT(c.nlisten, 1);
	CHECK_STR(c.listen[0].addr, "127.0.0.1");
	CHECK_EQ_INT(c.listen[0].port, 2222);
	CHECK_EQ_INT(c.nhost_keys, 3);
	CHECK_STR(c.host_keys[0], DSSH_SYSCONFDIR "/ssh_host_ed25519_key");
	CHECK_STR(c.host_keys[1], DSSH_SYSCONFDIR "/ssh_host_ecdsa_key");
	CHECK_STR(c.host_keys[2], DSSH_SYSCONFDIR "/ssh_host_rsa_key");
	CHECK_EQ_INT(c.max_auth_tries, 6);
	CHECK_EQ_INT(c.login_grace_time, 120);
	CHECK_EQ_INT(c.client_alive_interval, 0);
	CHECK_EQ_INT(c.client_alive_count_max, 3);
	CHECK_EQ_INT(c.use_pam, 1);
	CHECK_EQ_INT(c.strict_modes, 1);
	CHECK_EQ_INT(c.permit_root_login, DSSH_PERMIT_ROOT_NO_PASSWORD);
	CHECK_EQ_INT(c.permit_empty_passwords, 0);
	CHECK_EQ_INT(c.pubkey_authentication, 1);
	CHECK_EQ_INT(c.password_authentication, 1);
	CHECK_STR(c.permit_user_environment, "no");
	CHECK_EQ_INT(c.channel_window_size, 16 << 20);
	CHECK_EQ_INT(c.loop_threads, 0);
	CHECK_EQ_INT(c.data_tcp_buffer, 16 << 20);
	CHECK_EQ_INT(c.data_channels_control, 0);
	CHECK_STR(c.chroot_directory, "none");
	CHECK_STR(c.force_command, "none");
	CHECK(c.rekey_limit_bytes == (1ULL << 30));
	CHECK_EQ_INT(c.rekey_limit_seconds, 3600);
	CHECK_STR(c.crypto_engine, "auto");
	CHECK_EQ_INT(c.data_plane, DSSH_DATA_PLANE_KERNEL);
	CHECK_EQ_INT(c.nauthorized_keys_files, 2);
	CHECK_STR(c.authorized_keys_files[0], ".ssh/authorized_keys");
	CHECK_STR(c.authorized_keys_files[1], ".ssh/authorized_keys2");
	CHECK_EQ_INT(c.log_level, DSSH_LOG_INFO);
	CHECK(c.ciphers == NULL);
	dssh_config_free(&c);
}

static void
test_every_keyword(void)
{
	struct dssh_config c;
	static const char *const lines[] = {
		"Port 2022",
		"Port=2023",
		"ListenAddress 10.1.2.3",
		"ListenAddress 10.1.2.4:99",
		"ListenAddress [::1]:2200",
		"ListenAddress ::1",
		"ListenAddress host.example",
		"HostKey /etc/k1",
		"hostkey /etc/k2",
		"Ciphers aes128-ctr,aes256-gcm@openssh.com",
		"MACs hmac-sha2-256",
		"KexAlgorithms curve25519-sha256",
		"HostKeyAlgorithms ssh-ed25519",
		"PubkeyAuthentication no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin forced-commands-only",
		"PermitEmptyPasswords yes",
		"AuthorizedKeysFile .ssh/ak /etc/keys/%u",
		"AllowUsers alice bob@10.0.0.*",
		"DenyUsers mallory",
		"MaxAuthTries 3",
		"LoginGraceTime 1m30s",
		"ClientAliveInterval 15",
		"ClientAliveCountMax 5",
		"AcceptEnv LANG LC_*",
		"AcceptEnv TZ",
		"Subsystem sftp /usr/lib/openssh/sftp-server -l INFO",
		"RekeyLimit 512M 30m",
		"LogLevel DEBUG2",
		"UsePAM no",
		"PidFile /run/x.pid",
		"StrictModes no",
		"MaxStartups 5:50:20",
		"PrintMotd no",
		"CryptoEngine ipsecmb",
		"DataPlane dpdk",
		"DpdkArgs \"-l 0-1 --vdev net_tap0\"",
		"DataAddress 192.0.2.10/24",
		"DataGateway 192.0.2.1",
		"DataCores 2",
		"DataMTU 9000",
		"DataPoll busy",
		"DataChannels control",
		"DataOffload no",
		"DataAddress6 2001:db8::10/64",
		"DataImpair \"loss=2%,reorder=5%,dup=1%,delay=10ms,jitter=5ms,seed=42\"",
		"PermitUserEnvironment yes",
		"ChrootDirectory /srv/chroot/%u",
		"ForceCommand internal-sftp -d /upload",
		"ChannelWindowSize 64M",
		"LoopThreads 3",
		"DataTCPBuffer 32M",
	};

	dssh_config_init(&c);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		int r = line(&c, lines[i]);

		if (r != 0)
			fprintf(stderr, "line \"%s\": %s\n", lines[i], err);
		CHECK_EQ_INT(r, 0);
	}
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.nports, 2);
	CHECK_EQ_INT(c.ports[0], 2022);
	CHECK_EQ_INT(c.ports[1], 2023);
	/* 10.1.2.3 x 2 ports, 10.1.2.4:99, [::1]:2200, ::1 x 2, host x 2 */
	CHECK_EQ_INT(c.nlisten, 8);
	CHECK_STR(c.listen[0].addr, "10.1.2.3");
	CHECK_EQ_INT(c.listen[0].port, 2022);
	CHECK_STR(c.listen[1].addr, "10.1.2.3");
	CHECK_EQ_INT(c.listen[1].port, 2023);
	CHECK_STR(c.listen[2].addr, "10.1.2.4");
	CHECK_EQ_INT(c.listen[2].port, 99);
	CHECK_STR(c.listen[3].addr, "::1");
	CHECK_EQ_INT(c.listen[3].port, 2200);
	CHECK_STR(c.listen[4].addr, "::1");
	CHECK_EQ_INT(c.listen[4].port, 2022);
	CHECK_STR(c.listen[6].addr, "host.example");
	CHECK_EQ_INT(c.nhost_keys, 2);
	CHECK_STR(c.host_keys[1], "/etc/k2");
	CHECK_STR(c.ciphers, "aes128-ctr,aes256-gcm@openssh.com");
	CHECK_STR(c.macs, "hmac-sha2-256");
	CHECK_STR(c.kex_algorithms, "curve25519-sha256");
	CHECK_STR(c.host_key_algorithms, "ssh-ed25519");
	CHECK_EQ_INT(c.pubkey_authentication, 0);
	CHECK_EQ_INT(c.password_authentication, 0);
	CHECK_EQ_INT(c.kbd_interactive_authentication, 0);
	CHECK_EQ_INT(c.permit_root_login, DSSH_PERMIT_ROOT_FORCED_ONLY);
	CHECK_EQ_INT(c.permit_empty_passwords, 1);
	CHECK_EQ_INT(c.nauthorized_keys_files, 2);
	CHECK_STR(c.authorized_keys_files[1], "/etc/keys/%u");
	CHECK_EQ_INT(c.nallow_users, 2);
	CHECK_STR(c.allow_users[1], "bob@10.0.0.*");
	CHECK_EQ_INT(c.ndeny_users, 1);
	CHECK_EQ_INT(c.max_auth_tries, 3);
	CHECK_EQ_INT(c.login_grace_time, 90);
	CHECK_EQ_INT(c.client_alive_interval, 15);
	CHECK_EQ_INT(c.client_alive_count_max, 5);
	CHECK_EQ_INT(c.naccept_env, 3);
	CHECK_STR(c.accept_env[2], "TZ");
	CHECK_EQ_INT(c.nsubsystems, 1);
	CHECK_STR(c.subsystems[0].name, "sftp");
	CHECK_STR(c.subsystems[0].command, "/usr/lib/openssh/sftp-server -l INFO");
	CHECK(c.rekey_limit_bytes == 512ULL << 20);
	CHECK_EQ_INT(c.rekey_limit_seconds, 1800);
	CHECK_EQ_INT(c.log_level, DSSH_LOG_DEBUG2);
	CHECK_EQ_INT(c.use_pam, 0);
	CHECK_STR(c.pid_file, "/run/x.pid");
	CHECK_EQ_INT(c.strict_modes, 0);
	CHECK_STR(c.max_startups, "5:50:20");
	CHECK_EQ_INT(c.print_motd, 0);
	CHECK_STR(c.crypto_engine, "ipsecmb");
	CHECK_EQ_INT(c.data_plane, DSSH_DATA_PLANE_DPDK);
	CHECK_STR(c.dpdk_args, "-l 0-1 --vdev net_tap0");
	CHECK_STR(c.data_address, "192.0.2.10/24");
	CHECK_EQ_INT(c.data_prefixlen, 24);
	CHECK_EQ_INT(ntohl(c.data_addr.s_addr), 0xc000020a);
	CHECK_STR(c.data_gateway, "192.0.2.1");
	CHECK_EQ_INT(ntohl(c.data_gw.s_addr), 0xc0000201);
	CHECK_EQ_INT(c.data_cores, 2);
	CHECK_EQ_INT(c.data_channels_control, 1);
	CHECK_STR(c.permit_user_environment, "yes");
	CHECK_STR(c.chroot_directory, "/srv/chroot/%u");
	CHECK_STR(c.force_command, "internal-sftp -d /upload");
	CHECK_EQ_INT(c.channel_window_size, 64 << 20);
	CHECK_EQ_INT(c.loop_threads, 3);
	CHECK_EQ_INT(c.data_tcp_buffer, 32 << 20);
	dssh_config_free(&c);
}

static void
test_first_wins_and_syntax(void)
{
	struct dssh_config c;

	dssh_config_init(&c);
	/* -o style lines first, then the "file": first value wins. */
	CHECK_EQ_INT(line(&c, "MaxAuthTries 2"), 0);
	CHECK_EQ_INT(line(&c, "maxauthtries 9"), 0);
	CHECK_EQ_INT(line(&c, "  MAXAUTHTRIES   =   10  # comment"), 0);
	CHECK_EQ_INT(line(&c, "PermitRootLogin without-password"), 0);
	CHECK_EQ_INT(line(&c, "PermitRootLogin yes"), 0);
	CHECK_EQ_INT(line(&c, "# only a comment"), 0);
	CHECK_EQ_INT(line(&c, "   "), 0);
	CHECK_EQ_INT(line(&c, ""), 0);
	CHECK_EQ_INT(line(&c, "PidFile \"/run/with space.pid\""), 0);
	CHECK_EQ_INT(line(&c, "Subsystem sftp /a/first"), 0);
	CHECK_EQ_INT(line(&c, "Subsystem sftp /a/second"), 0);
	CHECK_EQ_INT(line(&c, "Subsystem other '/b/x y' z"), 0);
	CHECK_EQ_INT(line(&c, "AuthorizedKeysFile none"), 0);
	CHECK_EQ_INT(line(&c, "AuthorizedKeysFile .ssh/ignored"), 0);
	CHECK_EQ_INT(line(&c, "LogLevel=verbose"), 0);
	CHECK_EQ_INT(line(&c, "ChallengeResponseAuthentication no"), 0);
	CHECK_EQ_INT(line(&c, "KbdInteractiveAuthentication yes"), 0);
	CHECK_EQ_INT(line(&c, "PubkeyAuthentication YES"), 0);
	CHECK_EQ_INT(line(&c, "AllowUsers a"), 0);
	CHECK_EQ_INT(line(&c, "AllowUsers b c"), 0);
	CHECK_EQ_INT(line(&c, "DenyUsers x #y"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.max_auth_tries, 2);
	CHECK_EQ_INT(c.permit_root_login, DSSH_PERMIT_ROOT_NO_PASSWORD);
	CHECK_STR(c.pid_file, "/run/with space.pid");
	CHECK_EQ_INT(c.nsubsystems, 2);
	CHECK_STR(c.subsystems[0].command, "/a/first");
	CHECK_STR(c.subsystems[1].command, "/b/x y z");
	CHECK_EQ_INT(c.nauthorized_keys_files, 0);
	CHECK_EQ_INT(c.log_level, DSSH_LOG_VERBOSE);
	CHECK_EQ_INT(c.pubkey_authentication, 1);
	CHECK_EQ_INT(c.kbd_interactive_authentication, 0);
	CHECK_EQ_INT(c.nallow_users, 3);
	CHECK_EQ_INT(c.ndeny_users, 1);
	dssh_config_free(&c);
}

static void
expect_err(const char *l, const char *needle)
{
	struct dssh_config c;
	int r;

	dssh_config_init(&c);
	r = dssh_config_apply_line(&c, l, "/etc/dssh/dsshd_config", 42, err,
	    sizeof(err));
	CHECK_EQ_INT(r, DSSH_ERR_CONFIG);
	if (strncmp(err, "/etc/dssh/dsshd_config line 42: ", 32) != 0 ||
	    strstr(err, needle) == NULL) {
		fprintf(stderr, "line \"%s\" gave error \"%s\", wanted \"%s\"\n",
		    l, err, needle);
		CHECK(0);
	}
	dssh_config_free(&c);
}

static void
test_errors(void)
{
	expect_err("NoSuchKeyword yes", "unsupported option \"NoSuchKeyword\"");
	expect_err("Match User x", "Match is only valid in a file");
	expect_err("Include /etc/ssh/x", "Include is only valid in a file");
	expect_err("Port", "missing argument");
	expect_err("Port 0", "bad port number");
	expect_err("Port 65536", "bad port number");
	expect_err("Port 22x", "bad port number");
	expect_err("Port 22 23", "exactly one argument");
	expect_err("MaxAuthTries abc", "bad number");
	expect_err("MaxAuthTries -1", "bad number");
	expect_err("MaxAuthTries 99999999999999999999", "bad number");
	expect_err("ClientAliveCountMax", "missing argument");
	expect_err("PermitRootLogin maybe", "unsupported PermitRootLogin value \"maybe\"");
	expect_err("PasswordAuthentication 1", "unsupported");
	expect_err("LoginGraceTime 2x", "invalid time");
	expect_err("LoginGraceTime 99999999999", "invalid time");
	expect_err("LoginGraceTime 1000000000w", "invalid time");
	expect_err("ListenAddress [::1", "bad ListenAddress");
	expect_err("ListenAddress 1.2.3.4:0", "bad port");
	expect_err("ListenAddress 1.2.3.4:x", "bad port");
	expect_err("ListenAddress bad/host", "bad ListenAddress");
	expect_err("ListenAddress [::1]x", "bad ListenAddress");
	expect_err("Ciphers aes128-ctr,,aes256-ctr", "bad Ciphers list");
	expect_err("Ciphers ,aes128-ctr", "bad Ciphers list");
	expect_err("MACs +", "bad MACs list");
	expect_err("RekeyLimit 1X", "invalid RekeyLimit size");
	expect_err("RekeyLimit 99999999999999999999G", "invalid RekeyLimit size");
	expect_err("RekeyLimit 20000000000G", "invalid RekeyLimit size");
	expect_err("RekeyLimit 8", "too small");
	expect_err("RekeyLimit 1G 1y", "invalid RekeyLimit time");
	expect_err("RekeyLimit 1G 1h 2", "RekeyLimit takes");
	expect_err("LogLevel LOUD", "unsupported LogLevel");
	expect_err("DataPlane rdma", "unsupported DataPlane");
	expect_err("DataAddress 1.2.3.4", "addr/prefixlen");
	expect_err("DataAddress 1.2.3.4/33", "bad DataAddress");
	expect_err("DataAddress 1.2.3/8", "bad DataAddress");
	expect_err("DataGateway 1.2.3.256", "bad DataGateway");
	expect_err("DataCores 0", "bad number");
	expect_err("DataMTU 9001", "bad number");
	expect_err("DataMTU 500", "bad number");
	expect_err("DataPoll sometimes", "unsupported DataPoll");
	expect_err("DataChannels both", "unsupported DataChannels");
	expect_err("DataAddress6 2001:db8::10/129", "bad DataAddress6");
	expect_err("DataAddress6 2001:db8::zz/64", "bad DataAddress6");
	expect_err("DataImpair \"loss=101%\"", "bad DataImpair");
	expect_err("DataImpair \"delay=1ms,jitter=2ms\"", "bad DataImpair");
	expect_err("DataImpair \"loss=2\"", "bad DataImpair");
	expect_err("DataImpair loss=2% delay=1ms", "exactly one");
	expect_err("MaxStartups 10:30", "bad MaxStartups");
	expect_err("MaxStartups 100:30:10", "bad MaxStartups");
	expect_err("Subsystem sftp", "needs a name and a command");
	expect_err("ChannelWindowSize 1K", "bad ChannelWindowSize");
	expect_err("ChannelWindowSize 2G", "bad ChannelWindowSize");
	expect_err("ChannelWindowSize lots", "bad ChannelWindowSize");
	expect_err("ChrootDirectory /a /b", "exactly one argument");
	expect_err("ForceCommand", "missing argument");
	expect_err("LoopThreads 0", "bad number");
	expect_err("DataTCPBuffer 1K", "bad DataTCPBuffer");
	expect_err("DataTCPBuffer 1G", "bad DataTCPBuffer");
	expect_err("LoopThreads many", "bad number");
	expect_err("PidFile \"/unterminated", "unterminated quoted");
	expect_err("AcceptEnv A=B", "invalid environment name");
	expect_err("UsePAM yes no", "exactly one argument");
	expect_err("PermitRootLogin \x01", "control character");
}

static void
test_times_sizes(void)
{
	int t;
	uint64_t s;

	CHECK_EQ_INT(dssh_config_parse_time("0", &t), 0);
	CHECK_EQ_INT(t, 0);
	CHECK_EQ_INT(dssh_config_parse_time("2m", &t), 0);
	CHECK_EQ_INT(t, 120);
	CHECK_EQ_INT(dssh_config_parse_time("1h30m", &t), 0);
	CHECK_EQ_INT(t, 5400);
	CHECK_EQ_INT(dssh_config_parse_time("1w2d3h4m5s", &t), 0);
	CHECK_EQ_INT(t, 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	CHECK_EQ_INT(dssh_config_parse_time("10S", &t), 0);
	CHECK_EQ_INT(t, 10);
	CHECK_EQ_INT(dssh_config_parse_time("2147483647", &t), 0);
	CHECK_EQ_INT(t, INT_MAX);
	CHECK(dssh_config_parse_time("2147483648", &t) != 0);
	CHECK(dssh_config_parse_time("3551w", &t) != 0);
	CHECK(dssh_config_parse_time("2147483647s1s", &t) != 0);
	CHECK(dssh_config_parse_time("", &t) != 0);
	CHECK(dssh_config_parse_time("m", &t) != 0);
	CHECK(dssh_config_parse_time("1mm", &t) != 0);
	CHECK(dssh_config_parse_time("-1", &t) != 0);
	CHECK(dssh_config_parse_time("1 m", &t) != 0);

	CHECK_EQ_INT(dssh_config_parse_size("100", &s), 0);
	CHECK(s == 100);
	CHECK_EQ_INT(dssh_config_parse_size("4K", &s), 0);
	CHECK(s == 4096);
	CHECK_EQ_INT(dssh_config_parse_size("3m", &s), 0);
	CHECK(s == 3ULL << 20);
	CHECK_EQ_INT(dssh_config_parse_size("2G", &s), 0);
	CHECK(s == 2ULL << 30);
	CHECK_EQ_INT(dssh_config_parse_size("18446744073709551615", &s), 0);
	CHECK(s == UINT64_MAX);
	CHECK(dssh_config_parse_size("18446744073709551616", &s) != 0);
	CHECK(dssh_config_parse_size("17179869184G", &s) != 0);
	CHECK(dssh_config_parse_size("1GB", &s) != 0);
	CHECK(dssh_config_parse_size("", &s) != 0);
	CHECK(dssh_config_parse_size("G", &s) != 0);
	CHECK(dssh_config_parse_size("-5", &s) != 0);
	CHECK(dssh_config_parse_size("1.5G", &s) != 0);
}

static void
test_rekey(void)
{
	struct dssh_config c;

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "RekeyLimit default none"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK(c.rekey_limit_bytes == 1ULL << 30);
	CHECK_EQ_INT(c.rekey_limit_seconds, 0);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "RekeyLimit none"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK(c.rekey_limit_bytes == 0);
	CHECK_EQ_INT(c.rekey_limit_seconds, 3600);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "RekeyLimit 64K 1h30m"), 0);
	CHECK_EQ_INT(line(&c, "RekeyLimit 1G 1s"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK(c.rekey_limit_bytes == 65536);
	CHECK_EQ_INT(c.rekey_limit_seconds, 5400);
	dssh_config_free(&c);
}

static const struct dssh_config_alg_defaults defs = {
	.ciphers = {
		"chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com",
		"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc",
	},
	.macs = { "hmac-sha2-256-etm@openssh.com,hmac-sha2-256", NULL },
	.kex = { "curve25519-sha256,ecdh-sha2-nistp256", NULL },
	.host_key = { "ssh-ed25519,rsa-sha2-512", "ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa" },
};

static void
alg(const char *value, const struct dssh_config_alg_list *l, const char *want)
{
	char *out = NULL;
	int r = dssh_config_resolve_algs(value, l, &out, err, sizeof(err));

	if (want == NULL) {
		CHECK(r != 0);
		CHECK(out == NULL);
	} else {
		CHECK_EQ_INT(r, 0);
		CHECK_STR(out, want);
		if (r != 0)
			fprintf(stderr, "resolve \"%s\": %s\n", value, err);
	}
	free(out);
}

static void
test_alg_lists(void)
{
	struct dssh_config c;

	alg("aes256-ctr,aes128-ctr", &defs.ciphers, "aes256-ctr,aes128-ctr");
	alg("+aes128-cbc", &defs.ciphers,
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes128-cbc");
	alg("+aes128-ctr", &defs.ciphers,
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com");
	alg("-aes*-ctr", &defs.ciphers,
	    "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com");
	alg("-chacha20-poly1305@openssh.com,aes128-gcm@openssh.com", &defs.ciphers,
	    "aes128-ctr,aes256-ctr");
	alg("^aes256-gcm@openssh.com", &defs.ciphers,
	    "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com");
	alg("^aes256-ctr", &defs.ciphers,
	    "aes256-ctr,chacha20-poly1305@openssh.com,aes128-ctr,aes128-gcm@openssh.com");
	alg("aes*-gcm@openssh.com", &defs.ciphers,
	    "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
	alg("+aes*-cbc", &defs.ciphers,
	    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes128-cbc");
	alg("aes128-ctr,aes128-ctr", &defs.ciphers, "aes128-ctr");
	alg("3des-cbc", &defs.ciphers, NULL);            /* unsupported */
	alg("+3des-cbc", &defs.ciphers, NULL);
	alg("-*", &defs.ciphers, NULL);                  /* leaves nothing */
	alg("nomatch*", &defs.ciphers, NULL);
	alg("", &defs.ciphers, NULL);
	alg("-", &defs.ciphers, NULL);
	/* No supported list: plain names are taken as given. */
	alg("hmac-foo", &defs.macs, "hmac-foo");
	alg("-hmac-sha2-256", &defs.macs, "hmac-sha2-256-etm@openssh.com");
	alg("+hmac-sha1", &defs.macs, "hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha1");
	alg("-*etm*", &defs.macs, "hmac-sha2-256");
	alg("^rsa-sha2-256", &defs.host_key, "rsa-sha2-256,ssh-ed25519,rsa-sha2-512");

	/* Through config lines and finalize. */
	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "Ciphers -chacha20*"), 0);
	CHECK_EQ_INT(line(&c, "Ciphers aes128-ctr"), 0);    /* ignored */
	CHECK_EQ_INT(line(&c, "KexAlgorithms +ecdh-sha2-nistp384"), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, &defs, err, sizeof(err)), 0);
	CHECK_STR(c.ciphers, "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com");
	CHECK_STR(c.kex_algorithms,
	    "curve25519-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384");
	CHECK_STR(c.macs, "hmac-sha2-256-etm@openssh.com,hmac-sha2-256");
	CHECK_STR(c.host_key_algorithms, "ssh-ed25519,rsa-sha2-512");
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "HostKeyAlgorithms ssh-dss"), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, &defs, err, sizeof(err)), DSSH_ERR_CONFIG);
	CHECK(strstr(err, "HostKeyAlgorithms") != NULL);
	CHECK(strstr(err, "ssh-dss") != NULL);
	dssh_config_free(&c);

	/* Prefix without defaults. */
	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "MACs +hmac-sha1"), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, err, sizeof(err)), DSSH_ERR_CONFIG);
	dssh_config_free(&c);
}

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/dssh-ut-cfg-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_file(void)
{
	struct dssh_config c;
	char *p;
	char want[128];

	p = write_tmp("# dsshd_config\n"
	    "Port 2200\n"
	    "\n"
	    "   PasswordAuthentication no\n"
	    "LoginGraceTime 30\r\n"
	    "Bogus 1\n"
	    "Port 1\n");
	dssh_config_init(&c);
	/* -o first */
	CHECK_EQ_INT(dssh_config_apply_line(&c, "LoginGraceTime 5", "command-line",
	    1, err, sizeof(err)), 0);
	CHECK_EQ_INT(dssh_config_load_file(&c, p, err, sizeof(err)), DSSH_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s line 6: unsupported option \"Bogus\"", p);
	CHECK_STR(err, want);
	CHECK_EQ_INT(c.nports, 1);
	CHECK_EQ_INT(c.password_authentication, 0);
	CHECK_EQ_INT(c.login_grace_time, 5);
	dssh_config_free(&c);
	unlink(p);

	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_config_load_file(&c, "/nonexistent/dsshd_config", err,
	    sizeof(err)), DSSH_ERR_CONFIG);
	CHECK(strstr(err, "/nonexistent/dsshd_config") != NULL);
	dssh_config_free(&c);

	/* NUL byte inside a line */
	{
		static const char bad[] = "Port 22\nPort 2\0003\n";
		FILE *f;

		p = write_tmp("");
		f = fopen(p, "w");
		fwrite(bad, 1, sizeof(bad) - 1, f);
		fclose(f);
		dssh_config_init(&c);
		CHECK_EQ_INT(dssh_config_load_file(&c, p, err, sizeof(err)), DSSH_ERR_CONFIG);
		CHECK(strstr(err, "line 2") != NULL);
		dssh_config_free(&c);
		unlink(p);
	}
}

static void
test_garbage_lines(void)
{
	uint64_t s = 0x1234567;
	char buf[200];

	/* Random bytes: must never crash, must either parse or error. */
	for (int i = 0; i < 20000; i++) {
		struct dssh_config c;
		size_t n = dssh_test_rand(&s) % (sizeof(buf) - 1);
		int r;

		for (size_t k = 0; k < n; k++) {
			static const char alpha[] = "PortListenAddress=\"' \t#\\:[]0123456789,+-^yesno";
			uint64_t x = dssh_test_rand(&s);

			buf[k] = (x & 1) ? (char)(x >> 8) :
			    alpha[(x >> 8) % (sizeof(alpha) - 1)];
			if (buf[k] == '\0')
				buf[k] = 'x';
		}
		buf[n] = '\0';
		dssh_config_init(&c);
		r = line(&c, buf);
		CHECK(r == 0 || r == DSSH_ERR_CONFIG);
		if (r == 0)
			CHECK_EQ_INT(finalize(&c), 0);
		dssh_config_free(&c);
	}
	/* Oversized line */
	{
		struct dssh_config c;
		char *big = malloc(20000);

		memset(big, 'a', 19999);
		big[19999] = '\0';
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, big), DSSH_ERR_CONFIG);
		CHECK(strstr(err, "too long") != NULL);
		dssh_config_free(&c);
		free(big);
	}
	/* Too many arguments */
	{
		struct dssh_config c;
		char *many = malloc(300 * 3 + 16);

		strcpy(many, "AcceptEnv");
		for (int i = 0; i < 300; i++)
			strcat(many, " A");
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, many), DSSH_ERR_CONFIG);
		dssh_config_free(&c);
		free(many);
	}
}

/* Forwarding keywords: values, defaults, first-wins, errors, dump. */
static void
test_forwarding(void)
{
	struct dssh_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.allow_tcp_forwarding, DSSH_FWD_ALL);
	CHECK_EQ_INT(c.allow_streamlocal_forwarding, DSSH_FWD_ALL);
	CHECK_EQ_INT(c.allow_agent_forwarding, 1);
	CHECK_EQ_INT(c.gateway_ports, DSSH_GATEWAY_NO);
	CHECK_EQ_INT(c.disable_forwarding, 0);
	CHECK_EQ_INT(c.streamlocal_bind_unlink, 0);
	CHECK_EQ_INT(c.streamlocal_bind_mask, 0177);
	CHECK_EQ_INT(c.permit_open_mode, DSSH_PERMIT_ANY);
	CHECK_EQ_INT(c.permit_listen_mode, DSSH_PERMIT_ANY);
	CHECK_EQ_INT(c.npermit_open, 0);
	dssh_config_free(&c);

	/* Every value of the Allow*Forwarding keywords. */
	{
		static const struct {
			const char *v;
			int mask;
		} vals[] = {
			{ "yes", DSSH_FWD_ALL }, { "all", DSSH_FWD_ALL }, { "ALL", DSSH_FWD_ALL },
			{ "no", 0 }, { "local", DSSH_FWD_LOCAL }, { "remote", DSSH_FWD_REMOTE },
		};
		char l[128];

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			dssh_config_init(&c);
			snprintf(l, sizeof(l), "AllowTcpForwarding %s", vals[i].v);
			CHECK_EQ_INT(line(&c, l), 0);
			snprintf(l, sizeof(l), "AllowStreamLocalForwarding=%s", vals[i].v);
			CHECK_EQ_INT(line(&c, l), 0);
			CHECK_EQ_INT(finalize(&c), 0);
			CHECK_EQ_INT(c.allow_tcp_forwarding, vals[i].mask);
			CHECK_EQ_INT(c.allow_streamlocal_forwarding, vals[i].mask);
			dssh_config_free(&c);
		}
	}

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "AllowAgentForwarding no"), 0);
	CHECK_EQ_INT(line(&c, "AllowAgentForwarding yes"), 0);        /* first wins */
	CHECK_EQ_INT(line(&c, "GatewayPorts clientspecified"), 0);
	CHECK_EQ_INT(line(&c, "GatewayPorts yes"), 0);
	CHECK_EQ_INT(line(&c, "DisableForwarding yes"), 0);
	CHECK_EQ_INT(line(&c, "StreamLocalBindUnlink yes"), 0);
	CHECK_EQ_INT(line(&c, "StreamLocalBindMask 022"), 0);
	CHECK_EQ_INT(line(&c, "StreamLocalBindMask 0"), 0);
	CHECK_EQ_INT(line(&c, "PermitOpen db:5432 [2001:db8::1]:* *:80 10.0.0.1:22"), 0);
	CHECK_EQ_INT(line(&c, "PermitOpen any"), 0);          /* first line wins */
	CHECK_EQ_INT(line(&c, "PermitListen 8080 LocalHost:* [::1]:9000"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.allow_agent_forwarding, 0);
	CHECK_EQ_INT(c.gateway_ports, DSSH_GATEWAY_CLIENTSPECIFIED);
	CHECK_EQ_INT(c.disable_forwarding, 1);
	CHECK_EQ_INT(c.streamlocal_bind_unlink, 1);
	CHECK_EQ_INT(c.streamlocal_bind_mask, 022);
	CHECK_EQ_INT(c.permit_open_mode, DSSH_PERMIT_LIST);
	CHECK_EQ_INT(c.npermit_open, 4);
	if (c.npermit_open == 4) {
		CHECK_STR(c.permit_open[0].host, "db");
		CHECK_EQ_INT(c.permit_open[0].port, 5432);
		CHECK_STR(c.permit_open[1].host, "2001:db8::1");
		CHECK_EQ_INT(c.permit_open[1].port, DSSH_PERMIT_ANY_PORT);
		CHECK_STR(c.permit_open[2].host, "*");
		CHECK_EQ_INT(c.permit_open[2].port, 80);
		CHECK_STR(c.permit_open[3].host, "10.0.0.1");
	}
	CHECK_EQ_INT(c.permit_listen_mode, DSSH_PERMIT_LIST);
	CHECK_EQ_INT(c.npermit_listen, 3);
	if (c.npermit_listen == 3) {
		CHECK_STR(c.permit_listen[0].host, "*");        /* bare port: any host */
		CHECK_EQ_INT(c.permit_listen[0].port, 8080);
		CHECK_STR(c.permit_listen[1].host, "localhost"); /* patterns lowercased */
		CHECK_EQ_INT(c.permit_listen[1].port, DSSH_PERMIT_ANY_PORT);
		CHECK_STR(c.permit_listen[2].host, "::1");
		CHECK_EQ_INT(c.permit_listen[2].port, 9000);
	}
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "allowtcpforwarding yes\n") != NULL);
	CHECK(strstr(buf, "allowagentforwarding no\n") != NULL);
	CHECK(strstr(buf, "gatewayports clientspecified\n") != NULL);
	CHECK(strstr(buf, "disableforwarding yes\n") != NULL);
	CHECK(strstr(buf, "streamlocalbindunlink yes\n") != NULL);
	CHECK(strstr(buf, "streamlocalbindmask 022\n") != NULL);
	CHECK(strstr(buf, "permitopen db:5432 [2001:db8::1]:* *:80 10.0.0.1:22\n") != NULL);
	CHECK(strstr(buf, "permitlisten *:8080 localhost:* [::1]:9000\n") != NULL);
	free(buf);
	buf = NULL;
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "PermitOpen none"), 0);
	CHECK_EQ_INT(line(&c, "PermitListen NONE"), 0);
	CHECK_EQ_INT(line(&c, "AllowTcpForwarding local"), 0);
	CHECK_EQ_INT(line(&c, "StreamLocalBindMask 0777"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.permit_open_mode, DSSH_PERMIT_NONE);
	CHECK_EQ_INT(c.permit_listen_mode, DSSH_PERMIT_NONE);
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "permitopen none\n") != NULL);
	CHECK(strstr(buf, "permitlisten none\n") != NULL);
	CHECK(strstr(buf, "allowtcpforwarding local\n") != NULL);
	CHECK(strstr(buf, "allowstreamlocalforwarding yes\n") != NULL);
	CHECK(strstr(buf, "streamlocalbindmask 0777\n") != NULL);
	CHECK(strstr(buf, "gatewayports no\n") != NULL);
	free(buf);
	dssh_config_free(&c);

	expect_err("AllowTcpForwarding maybe", "unsupported AllowTcpForwarding value");
	expect_err("AllowTcpForwarding yes no", "exactly one argument");
	expect_err("AllowStreamLocalForwarding 1", "unsupported");
	expect_err("AllowAgentForwarding local", "unsupported");
	expect_err("GatewayPorts sometimes", "unsupported GatewayPorts value");
	expect_err("DisableForwarding all", "unsupported");
	expect_err("StreamLocalBindUnlink 1", "unsupported");
	expect_err("StreamLocalBindMask 8", "bad StreamLocalBindMask");
	expect_err("StreamLocalBindMask 1000", "bad StreamLocalBindMask");
	expect_err("StreamLocalBindMask -1", "bad StreamLocalBindMask");
	expect_err("StreamLocalBindMask 0x1f", "bad StreamLocalBindMask");
	expect_err("StreamLocalBindMask", "missing argument");
	expect_err("PermitOpen", "missing argument");
	expect_err("PermitOpen host", "missing port");
	expect_err("PermitOpen host:0", "bad port");
	expect_err("PermitOpen host:65536", "bad port");
	expect_err("PermitOpen host:22x", "bad port");
	expect_err("PermitOpen host:", "bad port");
	expect_err("PermitOpen ::1:22", "bad port");
	expect_err("PermitOpen [::1]", "bad [address]:port");
	expect_err("PermitOpen [::1]22", "bad [address]:port");
	expect_err("PermitOpen [::1:22", "bad [address]:port");
	expect_err("PermitOpen a/b:1", "bad host");
	expect_err("PermitOpen any foo:1", "must appear alone");
	expect_err("PermitOpen foo:1 none", "must appear alone");
	expect_err("PermitListen 0", "bad port");
	expect_err("PermitListen ::1", "bad port");
	expect_err("PermitListen x", "bad port");
	expect_err("PermitListen host:**", "bad port");
	expect_err("PermitListen none 80", "must appear alone");
	/* An error leaves the keyword unset: a later good line still applies. */
	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "PermitOpen good:1 bad"), DSSH_ERR_CONFIG);
	CHECK_EQ_INT(line(&c, "PermitOpen other:2"), 0);
	CHECK_EQ_INT(c.npermit_open, 1);
	if (c.npermit_open == 1)
		CHECK_STR(c.permit_open[0].host, "other");
	dssh_config_free(&c);
	/* A line holds at most 256 arguments (the tokenizer's limit). */
	{
		char *many = malloc(16 + 300 * 8), *w;

		w = many + sprintf(many, "PermitOpen");
		for (size_t i = 0; i < 256; i++)
			w += sprintf(w, " h:%zu", i + 1);
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, many), 0);
		CHECK_EQ_INT(c.npermit_open, 256);
		dssh_config_free(&c);
		sprintf(w, " h:9");
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, many), DSSH_ERR_CONFIG);
		CHECK(strstr(err, "too many arguments") != NULL);
		CHECK_EQ_INT(c.npermit_open, 0);
		dssh_config_free(&c);
		free(many);
	}
}

static void
test_dump(void)
{
	struct dssh_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "Port 2022"), 0);
	CHECK_EQ_INT(line(&c, "ListenAddress [::1]"), 0);
	CHECK_EQ_INT(line(&c, "PermitRootLogin prohibit-password"), 0);
	CHECK_EQ_INT(line(&c, "AllowUsers a b@1.2.3.4"), 0);
	CHECK_EQ_INT(line(&c, "Subsystem sftp internal-sftp"), 0);
	CHECK_EQ_INT(line(&c, "DataPlane DPDK"), 0);
	CHECK_EQ_INT(line(&c, "LogLevel debug3"), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, &defs, err, sizeof(err)), 0);
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "port 2022\n") != NULL);
	CHECK(strstr(buf, "listenaddress [::1]:2022\n") != NULL);
	CHECK(strstr(buf, "permitrootlogin without-password\n") != NULL);
	CHECK(strstr(buf, "allowusers a\nallowusers b@1.2.3.4\n") != NULL);   /* one a line, as sshd -T */
	CHECK(strstr(buf, "subsystem sftp internal-sftp\n") != NULL);
	CHECK(strstr(buf, "dataplane dpdk\n") != NULL);
	CHECK(strstr(buf, "loglevel DEBUG3\n") != NULL);
	CHECK(strstr(buf, "maxauthtries 6\n") != NULL);
	CHECK(strstr(buf, "rekeylimit 1073741824 3600\n") != NULL);
	CHECK(strstr(buf, "usepam yes\n") != NULL);
	CHECK(strstr(buf, "ciphers chacha20-poly1305@openssh.com,") != NULL);
	CHECK(strstr(buf, "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n") != NULL);
	CHECK(strstr(buf, "cryptoengine auto\n") != NULL);
	CHECK(strstr(buf, "datachannels cores\n") != NULL);
	CHECK(strstr(buf, "hostkey " DSSH_SYSCONFDIR "/ssh_host_ed25519_key\n") != NULL);
	/* every line: lowercase keyword (x11... has digits), a space, a value */
	for (char *l = buf; *l; ) {
		char *nl = strchr(l, '\n');

		CHECK(nl != NULL);
		if (nl == NULL)
			break;
		for (char *k = l; *k != ' ' && k < nl; k++)
			CHECK((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9'));
		CHECK(memchr(l, ' ', (size_t)(nl - l)) != NULL);
		l = nl + 1;
	}
	free(buf);
	dssh_config_free(&c);
}

/* Pre-auth limits: MaxSessions, PerSourceMaxStartups, PerSourceNetBlockSize,
 * PerSourcePenalties, PerSourcePenaltyExemptList. */
static void
test_preauth_limits(void)
{
	struct dssh_config c;
	FILE *f;
	char dump[8192];
	size_t n;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.max_sessions, 10);
	CHECK_EQ_INT(c.per_source_max_startups, 0);
	CHECK_EQ_INT(c.per_source_netblock4, 32);
	CHECK_EQ_INT(c.per_source_netblock6, 128);
	CHECK(c.penalty_conf.enabled);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_CRASH], 90);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_AUTHFAIL], 5);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_NOAUTH], 1);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_GRACE], 20);
	CHECK_EQ_INT(c.penalty_conf.max_secs, 600);
	CHECK_EQ_INT(c.penalty_conf.min_secs, 15);
	CHECK_EQ_INT(c.penalty_conf.max_sources4, 65536);
	CHECK(!c.penalty_conf.overflow_deny4);
	CHECK_STR(c.penalty_exempt_list, "none");
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "MaxSessions 0"), 0);
	CHECK_EQ_INT(line(&c, "MaxSessions 5"), 0);          /* first wins */
	CHECK_EQ_INT(line(&c, "PerSourceMaxStartups 3"), 0);
	CHECK_EQ_INT(line(&c, "PerSourceNetBlockSize 24:56"), 0);
	CHECK_EQ_INT(line(&c, "PerSourcePenalties authfail:1m noauth:2 grace-exceeded:1h "
	    "crash:3s max:2h min:0 max-sources4:10 max-sources6:20 overflow:deny-all "
	    "overflow6:permissive"), 0);
	CHECK_EQ_INT(line(&c, "PerSourcePenalties no"), 0);  /* first wins */
	CHECK_EQ_INT(line(&c, "PerSourcePenaltyExemptList 10.0.0.0/8,2001:db8::/32"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.max_sessions, 0);
	CHECK_EQ_INT(c.per_source_max_startups, 3);
	CHECK_EQ_INT(c.per_source_netblock4, 24);
	CHECK_EQ_INT(c.per_source_netblock6, 56);
	CHECK(c.penalty_conf.enabled);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_AUTHFAIL], 60);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_NOAUTH], 2);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_GRACE], 3600);
	CHECK_EQ_INT(c.penalty_conf.secs[DSSH_PENALTY_CRASH], 3);
	CHECK_EQ_INT(c.penalty_conf.max_secs, 7200);
	CHECK_EQ_INT(c.penalty_conf.min_secs, 0);
	CHECK_EQ_INT(c.penalty_conf.max_sources4, 10);
	CHECK_EQ_INT(c.penalty_conf.max_sources6, 20);
	CHECK(c.penalty_conf.overflow_deny4);
	CHECK(!c.penalty_conf.overflow_deny6);
	CHECK_STR(c.penalty_exempt_list, "10.0.0.0/8,2001:db8::/32");
	f = tmpfile();
	dssh_config_dump(&c, f);
	rewind(f);
	n = fread(dump, 1, sizeof(dump) - 1, f);
	dump[n] = '\0';
	fclose(f);
	CHECK(strstr(dump, "maxsessions 0\n") != NULL);
	CHECK(strstr(dump, "persourcemaxstartups 3\n") != NULL);
	CHECK(strstr(dump, "persourcenetblocksize 24:56\n") != NULL);
	CHECK(strstr(dump, "persourcepenalties authfail:1m noauth:2") != NULL);
	CHECK(strstr(dump, "persourcepenaltyexemptlist 10.0.0.0/8,2001:db8::/32\n") != NULL);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "PerSourcePenalties no"), 0);
	CHECK_EQ_INT(line(&c, "PerSourceMaxStartups none"), 0);
	CHECK_EQ_INT(line(&c, "PerSourceNetBlockSize 16"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK(!c.penalty_conf.enabled);
	CHECK_EQ_INT(c.per_source_max_startups, 0);
	CHECK_EQ_INT(c.per_source_netblock4, 16);
	CHECK_EQ_INT(c.per_source_netblock6, 128);
	dssh_config_free(&c);

	/* Garbage, oversized and truncated values are refused with the line. */
	static const char *const bad[] = {
		"MaxSessions -1", "MaxSessions lots", "MaxSessions",
		"PerSourceMaxStartups 0", "PerSourceMaxStartups -3", "PerSourceMaxStartups 1 2",
		"PerSourceNetBlockSize 33", "PerSourceNetBlockSize 24:129", "PerSourceNetBlockSize :64",
		"PerSourceNetBlockSize 24:", "PerSourceNetBlockSize 999999999999999999999999999",
		"PerSourcePenalties", "PerSourcePenalties authfail", "PerSourcePenalties authfail:",
		"PerSourcePenalties authfail:5x", "PerSourcePenalties bogus:5",
		"PerSourcePenalties max-sources4:0", "PerSourcePenalties overflow:maybe",
		"PerSourcePenalties min:10m max:1m", "PerSourcePenalties no authfail:5",
		"PerSourcePenalties :5", "PerSourcePenalties max-sources:5",
		"PerSourcePenaltyExemptList 10.0.0.0/33", "PerSourcePenaltyExemptList a,b",
		"PerSourcePenaltyExemptList 10.0.0.1,", "PerSourcePenaltyExemptList",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dssh_config_init(&c);
		int r = line(&c, bad[i]);

		if (r == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ_INT(r, DSSH_ERR_CONFIG);
		CHECK(strstr(err, "test line 7") != NULL);
		dssh_config_free(&c);
	}
}

/* SyslogFacility, Banner, PrintLastLog, VersionAddendum: sshd's defaults,
 * first value wins, the rest of the line for VersionAddendum, -T names. */
static void
test_logs_keywords(void)
{
	struct dssh_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.syslog_facility, LOG_AUTH);
	CHECK_STR(c.banner, "none");
	CHECK_EQ_INT(c.print_lastlog, 1);
	CHECK_STR(c.version_addendum, "none");
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "SyslogFacility local3"), 0);
	CHECK_EQ_INT(line(&c, "SyslogFacility DAEMON"), 0);
	CHECK_EQ_INT(line(&c, "Banner /etc/issue.net"), 0);
	CHECK_EQ_INT(line(&c, "Banner /other"), 0);
	CHECK_EQ_INT(line(&c, "PrintLastLog no"), 0);
	CHECK_EQ_INT(line(&c, "VersionAddendum  Hello  there  friend"), 0);
	CHECK_EQ_INT(line(&c, "VersionAddendum second"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.syslog_facility, LOG_LOCAL3);
	CHECK_STR(c.banner, "/etc/issue.net");
	CHECK_EQ_INT(c.print_lastlog, 0);
	CHECK_STR(c.version_addendum, "Hello there friend");
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "syslogfacility LOCAL3\n") != NULL);
	CHECK(strstr(buf, "banner /etc/issue.net\n") != NULL);
	CHECK(strstr(buf, "printlastlog no\n") != NULL);
	CHECK(strstr(buf, "versionaddendum Hello there friend\n") != NULL);
	free(buf);
	dssh_config_free(&c);
	for (int i = 0; i < 8; i++) {
		char l[64];

		dssh_config_init(&c);
		snprintf(l, sizeof(l), "SyslogFacility LOCAL%d", i);
		CHECK_EQ_INT(line(&c, l), 0);
		CHECK_EQ_INT(c.syslog_facility, LOG_LOCAL0 + (i << 3));
		dssh_config_free(&c);
	}
	expect_err("SyslogFacility KERN", "unsupported log facility");
	expect_err("SyslogFacility LOCAL8", "unsupported log facility");
	expect_err("SyslogFacility", "missing argument");
	expect_err("SyslogFacility AUTH USER", "takes exactly one argument");
	expect_err("Banner", "missing argument");
	expect_err("Banner a b", "takes exactly one argument");
	expect_err("PrintLastLog maybe", "");
	expect_err("VersionAddendum", "missing argument");
	/* the log side: names both ways, sshd's priorities */
	CHECK_EQ_INT(dssh_log_facility_from_name("authpriv"), LOG_AUTHPRIV);
	CHECK_EQ_INT(dssh_log_facility_from_name("USER"), LOG_USER);
	CHECK_EQ_INT(dssh_log_facility_from_name(""), -1);
	CHECK_STR(dssh_log_facility_name(LOG_DAEMON), "DAEMON");
	CHECK_EQ_INT(dssh_log_syslog_priority(DSSH_LOG_FATAL), LOG_CRIT);
	CHECK_EQ_INT(dssh_log_syslog_priority(DSSH_LOG_ERROR), LOG_ERR);
	CHECK_EQ_INT(dssh_log_syslog_priority(DSSH_LOG_INFO), LOG_INFO);
	CHECK_EQ_INT(dssh_log_syslog_priority(DSSH_LOG_VERBOSE), LOG_INFO);
	CHECK_EQ_INT(dssh_log_syslog_priority(DSSH_LOG_DEBUG3), LOG_DEBUG);
}

/* Certificates: TrustedUserCAKeys, AuthorizedPrincipalsFile, RevokedKeys. */
static void
test_cert_keywords(void)
{
	struct dssh_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(dssh_config_finalize(&c, &defs, err, sizeof(err)), 0);
	/* unset prints "none", as sshd -T */
	CHECK_STR(c.trusted_user_ca_keys, "none");
	CHECK_STR(c.authorized_principals_file, "none");
	CHECK_STR(c.revoked_keys, "none");
	dssh_config_free(&c);
	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "TrustedUserCAKeys /etc/ssh/ca.pub"), 0);
	CHECK_EQ_INT(line(&c, "trustedusercakeys /ignored"), 0);
	CHECK_EQ_INT(line(&c, "AuthorizedPrincipalsFile %h/.ssh/principals_%u"), 0);
	CHECK_EQ_INT(line(&c, "RevokedKeys=/etc/ssh/revoked"), 0);
	CHECK_EQ_INT(line(&c, "HostCertificate /etc/ssh/a-cert.pub"), 0);
	CHECK_EQ_INT(line(&c, "HostCertificate /etc/ssh/b-cert.pub"), 0);
	CHECK(line(&c, "HostCertificate") != 0);
	CHECK(line(&c, "RevokedKeys") != 0);
	CHECK(line(&c, "TrustedUserCAKeys a b") != 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, &defs, err, sizeof(err)), 0);
	CHECK_STR(c.trusted_user_ca_keys, "/etc/ssh/ca.pub");
	CHECK_STR(c.authorized_principals_file, "%h/.ssh/principals_%u");
	CHECK_STR(c.revoked_keys, "/etc/ssh/revoked");
	CHECK_EQ_INT(c.nhost_certificates, 2);
	if (c.nhost_certificates == 2)
		CHECK_STR(c.host_certificates[1], "/etc/ssh/b-cert.pub");
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "trustedusercakeys /etc/ssh/ca.pub\n") != NULL);
	CHECK(strstr(buf, "authorizedprincipalsfile %h/.ssh/principals_%u\n") != NULL);
	CHECK(strstr(buf, "revokedkeys /etc/ssh/revoked\n") != NULL);
	CHECK(strstr(buf, "hostcertificate /etc/ssh/a-cert.pub\nhostcertificate "
	    "/etc/ssh/b-cert.pub\n") != NULL);
	free(buf);
	dssh_config_free(&c);
}

/* AuthenticationMethods and PAMServiceName: defaults, first wins, bad values, -T. */
static void
test_auth_methods(void)
{
	struct dssh_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_STR(c.authentication_methods, "any");
	CHECK_STR(c.pam_service_name, "dsshd");
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "AuthenticationMethods publickey,password  publickey,keyboard-interactive:pam"), 0);
	CHECK_EQ_INT(line(&c, "AuthenticationMethods password"), 0);
	CHECK_EQ_INT(line(&c, "PAMServiceName dsshd-test"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_STR(c.authentication_methods, "publickey,password publickey,keyboard-interactive:pam");
	CHECK_STR(c.pam_service_name, "dsshd-test");
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "\nauthenticationmethods publickey,password "
	    "publickey,keyboard-interactive:pam\n") != NULL);
	CHECK(strstr(buf, "\npamservicename dsshd-test\n") != NULL);
	CHECK(strstr(buf, "\nkbdinteractiveauthentication yes\n") != NULL);
	free(buf);
	dssh_config_free(&c);

	static const char *const bad[] = {
		"AuthenticationMethods", "AuthenticationMethods hostbased",
		"AuthenticationMethods publickey,", "AuthenticationMethods any password",
		"AuthenticationMethods keyboard-interactive:skey", "PAMServiceName ../x",
		"PAMServiceName a b", "PAMServiceName \"\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, bad[i]), DSSH_ERR_CONFIG);
		CHECK(strstr(err, "test line 7") != NULL);
		dssh_config_free(&c);
	}
}

/* ---- sessions: X11, compression, tty, rc, env, TCP (issue 14) ---- */

static void
test_session_keywords(void)
{
	struct dssh_config c;
	int v;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.compression, 1);
	CHECK_EQ_INT(c.x11_forwarding, 0);
	CHECK_EQ_INT(c.x11_display_offset, 10);
	CHECK_EQ_INT(c.x11_use_localhost, 1);
	CHECK(c.xauth_location == NULL);
	CHECK_EQ_INT(c.permit_tty, 1);
	CHECK_EQ_INT(c.permit_user_rc, 1);
	CHECK_EQ_INT(c.tcp_keepalive, 1);
	CHECK_EQ_INT(c.ipqos_interactive, 0x48);
	CHECK_EQ_INT(c.ipqos_bulk, 0x20);
	CHECK_EQ_INT((int)c.nset_env, 0);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "Compression delayed"), 0);
	CHECK_EQ_INT(line(&c, "Compression no"), 0);          /* first wins */
	CHECK_EQ_INT(line(&c, "X11Forwarding yes"), 0);
	CHECK_EQ_INT(line(&c, "X11DisplayOffset 50"), 0);
	CHECK_EQ_INT(line(&c, "X11UseLocalhost no"), 0);
	CHECK_EQ_INT(line(&c, "XAuthLocation /opt/x/xauth"), 0);
	CHECK_EQ_INT(line(&c, "PermitTTY no"), 0);
	CHECK_EQ_INT(line(&c, "PermitUserRC no"), 0);
	CHECK_EQ_INT(line(&c, "SetEnv A=1 \"B=two words\" C="), 0);
	CHECK_EQ_INT(line(&c, "SetEnv D=4"), 0);                /* first line wins */
	CHECK_EQ_INT(line(&c, "TCPKeepAlive no"), 0);
	CHECK_EQ_INT(line(&c, "IPQoS ef"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.compression, 1);
	CHECK_EQ_INT(c.x11_forwarding, 1);
	CHECK_EQ_INT(c.x11_display_offset, 50);
	CHECK_EQ_INT(c.x11_use_localhost, 0);
	CHECK(strcmp(c.xauth_location, "/opt/x/xauth") == 0);
	CHECK_EQ_INT(c.permit_tty, 0);
	CHECK_EQ_INT(c.permit_user_rc, 0);
	CHECK_EQ_INT((int)c.nset_env, 3);
	CHECK(strcmp(c.set_env[1], "B=two words") == 0 && strcmp(c.set_env[2], "C=") == 0);
	CHECK_EQ_INT(c.tcp_keepalive, 0);
	CHECK_EQ_INT(c.ipqos_interactive, 0xb8);
	CHECK_EQ_INT(c.ipqos_bulk, 0xb8);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "Compression no"), 0);
	CHECK_EQ_INT(line(&c, "IPQoS lowdelay none"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_EQ_INT(c.compression, 0);
	CHECK_EQ_INT(c.ipqos_interactive, 0x10);
	CHECK_EQ_INT(c.ipqos_bulk, -1);
	{
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);

		dssh_config_dump(&c, f);
		fclose(f);
		CHECK(strstr(buf, "\ncompression no\n") != NULL);
		CHECK(strstr(buf, "\nipqos lowdelay none\n") != NULL);
		CHECK(strstr(buf, "\nx11displayoffset 10\n") != NULL);
		CHECK(strstr(buf, "\nxauthlocation /usr/bin/xauth\n") != NULL);
		free(buf);
	}
	dssh_config_free(&c);

	CHECK_EQ_INT(dssh_config_parse_ipqos("af11", &v), 0);
	CHECK_EQ_INT(v, 0x28);
	CHECK_EQ_INT(dssh_config_parse_ipqos("CS7", &v), 0);
	CHECK_EQ_INT(v, 0xe0);
	CHECK_EQ_INT(dssh_config_parse_ipqos("0x2e", &v), 0);
	CHECK_EQ_INT(v, 0x2e);
	CHECK_EQ_INT(dssh_config_parse_ipqos("255", &v), 0);
	CHECK(dssh_config_parse_ipqos("256", &v) != 0);
	CHECK(dssh_config_parse_ipqos("-1", &v) != 0);
	CHECK(dssh_config_parse_ipqos("af44", &v) != 0);
	CHECK(dssh_config_parse_ipqos("", &v) != 0);
	CHECK(dssh_config_parse_ipqos("12x", &v) != 0);

	expect_err("Compression maybe", "unsupported Compression value");
	expect_err("X11Forwarding", "missing argument");
	expect_err("X11DisplayOffset -1", "bad number");
	expect_err("X11DisplayOffset 1001", "");
	expect_err("SetEnv NOEQUALS", "NAME=VALUE");
	expect_err("SetEnv =x", "NAME=VALUE");
	expect_err("IPQoS af21 cs1 ef", "one or two arguments");
	expect_err("IPQoS bogus", "unsupported IPQoS value");
	expect_err("TCPKeepAlive 2", "unsupported");
}

/* ---- end of the session block ---- */

/* dsshctl: ControlSocket and MetricsListen: defaults, first wins, loopback only unless allowed. */
static void
test_dsshctl_keywords(void)
{
	struct dssh_config c;
	char addr[64], *buf = NULL;
	size_t len = 0;
	int port = 0;
	FILE *f;

	dssh_config_init(&c);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_STR(c.control_socket, "/run/dsshd.ctl");
	CHECK_STR(c.metrics_listen, "none");
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "ControlSocket /tmp/x.ctl"), 0);
	CHECK_EQ_INT(line(&c, "ControlSocket none"), 0);
	CHECK_EQ_INT(line(&c, "MetricsListen [::1]:9722"), 0);
	CHECK_EQ_INT(line(&c, "MetricsListen 127.0.0.1:1"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_STR(c.control_socket, "/tmp/x.ctl");
	CHECK_STR(c.metrics_listen, "[::1]:9722");
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(strstr(buf, "\ncontrolsocket /tmp/x.ctl\n") != NULL);
	CHECK(strstr(buf, "\nmetricslisten [::1]:9722\n") != NULL);
	free(buf);
	dssh_config_free(&c);

	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "MetricsListen 198.18.0.1:9722 allow-remote"), 0);
	CHECK_EQ_INT(c.metrics_remote, 1);
	dssh_config_free(&c);

	CHECK_EQ_INT(dssh_config_parse_hostport("127.0.0.1:9722", addr, sizeof(addr), &port), 0);
	CHECK_STR(addr, "127.0.0.1");
	CHECK_EQ_INT(port, 9722);
	CHECK(dssh_config_is_loopback("127.1.2.3"));
	CHECK(dssh_config_is_loopback("::1"));
	CHECK(!dssh_config_is_loopback("0.0.0.0"));
	CHECK(!dssh_config_is_loopback("::"));

	static const char *const bad[] = {
		"ControlSocket relative.ctl", "ControlSocket", "ControlSocket /a /b",
		"MetricsListen", "MetricsListen 0.0.0.0:9722", "MetricsListen 198.18.0.1:9722",
		"MetricsListen [::]:9722", "MetricsListen 127.0.0.1", "MetricsListen 127.0.0.1:0",
		"MetricsListen 127.0.0.1:65536", "MetricsListen localhost:9722",
		"MetricsListen ::1:9722", "MetricsListen [::1]9722", "MetricsListen 127.0.0.1:9x",
		"MetricsListen 127.0.0.1:1 remote", "MetricsListen 1.2.3.4:1 allow-remote x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, bad[i]), DSSH_ERR_CONFIG);
		dssh_config_free(&c);
	}
}

/* ---- Match, Include (issue 14) ---- */

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static int
load(struct dssh_config *c, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	dssh_config_init(c);
	return dssh_config_load_file(c, path, err, sizeof(err));
}

static void
test_addr_lists(void)
{
	CHECK_EQ_INT(dssh_config_match_addr_list("10.1.2.3", "10.0.0.0/8"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("11.1.2.3", "10.0.0.0/8"), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.1.2.3", "10.0.0.0/8,!10.1.2.3"), -1);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.1.2.4", "10.0.0.0/8,!10.1.2.3"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.1.2.3", "!10.1.2.0/24,10.0.0.0/8"), -1);
	CHECK_EQ_INT(dssh_config_match_addr_list("192.0.2.77", "192.0.2.*"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("192.0.2.77", "192.0.2.?"), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list("192.0.2.7", "192.0.2.?"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("0.0.0.1", "0.0.0.0/0"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("198.19.255.255", "198.18.0.0/15"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("198.20.0.0", "198.18.0.0/15"), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list("2001:db8::1", "2001:db8::/32"), 1);
	CHECK_EQ_INT(dssh_config_match_addr_list("2001:db9::1", "2001:db8::/32"), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "2001:db8::/32"), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list("::1", "::1/128"), 1);
	/* bad CIDRs: bits past the prefix, prefix too long, garbage */
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "10.0.0.1/8"), -2);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "10.0.0.0/33"), -2);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "10.0.0.0/x"), -2);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "10.0.0/8"), -2);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", "/8"), -2);
	CHECK_EQ_INT(dssh_config_match_addr_list("10.0.0.1", ""), 0);
	CHECK_EQ_INT(dssh_config_match_addr_list(NULL, "10.0.0.0/8"), 0);
}

/* The -T line of keyword (first one) of cfg, into out. */
static void
dump_line(const struct dssh_config *cfg, const char *kw, char *out, size_t outlen)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t n = strlen(kw);

	dssh_config_dump(cfg, f);
	fclose(f);
	out[0] = '\0';
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, kw, n) == 0 && p[n] == ' ') {
			size_t l = strcspn(p, "\n");

			snprintf(out, outlen, "%.*s", (int)l, p);
			break;
		}
	free(buf);
}

static void
expect_conn(const struct dssh_config *base, const struct dssh_config_conn *ci, const char *kw,
    const char *want)
{
	struct dssh_config *cfg;
	char got[512];

	CHECK_EQ_INT(dssh_config_for_conn(base, ci, &cfg, err, sizeof(err)), 0);
	if (cfg == NULL)
		return;
	dump_line(cfg, kw, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "user %s addr %s lport %d: got \"%s\", want \"%s\"\n",
		    ci->user ? ci->user : "-", ci->addr ? ci->addr : "-", ci->lport, got, want);
		CHECK(0);
	}
	dssh_config_free_conn(cfg);
}

static void
test_match(void)
{
	static const char *const wheel[] = { "users", "wheel" };
	struct dssh_config c;
	struct dssh_config_conn ci = { .addr = "192.0.2.9", .host = "192.0.2.9",
		.laddr = "127.0.0.1", .lport = 22 };

	write_file("m.conf",
	    "PasswordAuthentication yes\n"
	    "MaxAuthTries 5\n"
	    "AllowUsers a b c\n"
	    "Match User alice,!admin*\n"
	    "  PasswordAuthentication no\n"
	    "  MaxAuthTries 2\n"
	    "Match User a?min*\n"
	    "  Banner /etc/admin-banner\n"
	    "Match Group wheel\n"
	    "  MaxSessions 1\n"
	    "Match Address 10.0.0.0/8,!10.9.0.0/16\n"
	    "  MaxAuthTries 3\n"
	    "  AllowUsers z\n"
	    "Match LocalPort 2200 Address 127.0.0.*\n"
	    "  ForceCommand /bin/echo port\n"
	    "Match Host *.EXAMPLE.org\n"
	    "  ChrootDirectory /srv\n"
	    "Match LocalAddress 198.18.0.0/15\n"
	    "  PermitRootLogin no\n"
	    "Match all\n"
	    "  ClientAliveInterval 9\n"
	    "  MaxAuthTries 4\n");
	CHECK_EQ_INT(load(&c, "m.conf"), 0);
	CHECK_EQ_INT(c.nmatch, 8);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, err, sizeof(err)), 0);
	/* the global values */
	CHECK_EQ_INT(c.password_authentication, 1);
	CHECK_EQ_INT(c.max_auth_tries, 5);
	CHECK_EQ_INT(c.client_alive_interval, 0);
	/* no user known: only Match all holds; its value beats the global one */
	expect_conn(&c, &ci, "passwordauthentication", "passwordauthentication yes");
	expect_conn(&c, &ci, "maxauthtries", "maxauthtries 4");
	expect_conn(&c, &ci, "clientaliveinterval", "clientaliveinterval 9");
	/* the first matching block wins */
	ci.user = "alice";
	expect_conn(&c, &ci, "passwordauthentication", "passwordauthentication no");
	expect_conn(&c, &ci, "maxauthtries", "maxauthtries 2");
	/* a negated entry wins over a positive one */
	ci.user = "admin-alice";
	expect_conn(&c, &ci, "passwordauthentication", "passwordauthentication yes");
	expect_conn(&c, &ci, "banner", "banner /etc/admin-banner");
	ci.user = "bob";
	expect_conn(&c, &ci, "banner", "banner none");
	expect_conn(&c, &ci, "maxsessions", "maxsessions 10");
	ci.groups = wheel;
	ci.ngroups = 2;
	expect_conn(&c, &ci, "maxsessions", "maxsessions 1");
	ci.groups = NULL;
	ci.ngroups = 0;
	/* CIDR and negation; a list keyword in a block replaces the global list */
	ci.addr = "10.1.2.3";
	expect_conn(&c, &ci, "maxauthtries", "maxauthtries 3");
	expect_conn(&c, &ci, "allowusers", "allowusers z");
	ci.addr = "10.9.2.3";
	expect_conn(&c, &ci, "maxauthtries", "maxauthtries 4");
	expect_conn(&c, &ci, "allowusers", "allowusers a");
	/* every criterion of a line must hold */
	ci.addr = "127.0.0.5";
	expect_conn(&c, &ci, "forcecommand", "forcecommand none");
	ci.lport = 2200;
	expect_conn(&c, &ci, "forcecommand", "forcecommand /bin/echo port");
	/* Host: case-insensitive */
	ci.host = "www.example.ORG";
	expect_conn(&c, &ci, "chrootdirectory", "chrootdirectory /srv");
	ci.laddr = "198.19.1.1";
	expect_conn(&c, &ci, "permitrootlogin", "permitrootlogin no");
	dssh_config_free(&c);
}

static void
expect_load_err(const char *text, const char *needle)
{
	struct dssh_config c;

	write_file("bad.conf", text);
	CHECK_EQ_INT(load(&c, "bad.conf"), DSSH_ERR_CONFIG);
	if (strstr(err, needle) == NULL || strstr(err, "bad.conf line ") == NULL) {
		fprintf(stderr, "\"%s\" gave \"%s\", wanted \"%s\"\n", text, err, needle);
		CHECK(0);
	}
	dssh_config_free(&c);
}

static void
test_match_errors(void)
{
	expect_load_err("Match User x\nPort 22\n", "Directive 'Port' is not allowed within a Match");
	expect_load_err("Match Address 10.0.0.0/8\nCiphers aes128-ctr\n", "not allowed within");
	expect_load_err("Match User x\nHostKey /k\n", "not allowed within");
	expect_load_err("Match User x\nUsePAM no\n", "not allowed within");
	expect_load_err("Match User x\nMaxAuthTries many\n", "bad number");
	expect_load_err("Match User x\nPasswordAuthentication perhaps\n", "unsupported");
	expect_load_err("Match\n", "Match needs criteria");
	expect_load_err("Match User\n", "needs a value");
	expect_load_err("Match Colour blue\n", "Unsupported Match attribute");
	expect_load_err("Match All User x\n", "'all' cannot be combined");
	expect_load_err("Match Address 10.0.0.1/8\n", "invalid Match");
	expect_load_err("Match LocalAddress 1.2.3.4/99\n", "invalid Match");
	expect_load_err("X11Forwarding sometimes\n", "unsupported");
	expect_load_err("AuthorizedKeysCommand relative/x\n", "absolute path");
	expect_load_err("Match User x\nModuliFile /x\n", "not allowed within");
}

/* sshd keywords dsshd does not implement: accepted with sshd's value checks. */
static void
test_warned_keywords(void)
{
	static const char *const good[] = {
		"X11Forwarding yes", "X11DisplayOffset 10", "AddressFamily inet6",
		"Compression delayed", "IPQoS af21 cs1", "IPQoS 8", "IgnoreRhosts shosts-only",
		"PermitTunnel point-to-point", "PubkeyAuthOptions touch-required verify-required",
		"CASignatureAlgorithms ssh-ed25519,rsa-sha2-*", "PubkeyAcceptedAlgorithms +ssh-rsa",
		"PubkeyAcceptedKeyTypes -nosuch", "SetEnv A=1 B=2", "ChannelTimeout session=5m *=1h",
		"UnusedConnectionTimeout none", "AuthorizedKeysCommand /usr/bin/x %u",
		"AuthorizedKeysCommandUser nobody", "UsePrivilegeSeparation sandbox", "Protocol 2",
		"GSSAPIKexAlgorithms gss-curve25519-sha256-", "FingerprintHash md5",
	};
	static const char *const bad[] = {
		"X11Forwarding maybe", "X11DisplayOffset ten", "AddressFamily inet7",
		"IPQoS fast", "IPQoS af11 af12 af13", "CASignatureAlgorithms ssh-foo",
		"SetEnv NOEQUALS", "ChannelTimeout session", "ChannelTimeout session=5x",
		"UnusedConnectionTimeout 5x", "AuthorizedKeysCommand relative %u",
		"AuthorizedKeysCommandUser a b", "RDomain %D", "FingerprintHash sha3",
	};
	struct dssh_config c;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		dssh_config_init(&c);
		if (line(&c, good[i]) != 0) {
			fprintf(stderr, "\"%s\" refused: %s\n", good[i], err);
			CHECK(0);
		}
		dssh_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dssh_config_init(&c);
		if (line(&c, bad[i]) != DSSH_ERR_CONFIG) {
			fprintf(stderr, "\"%s\" accepted\n", bad[i]);
			CHECK(0);
		}
		dssh_config_free(&c);
	}
}

static void
test_include(void)
{
	struct dssh_config c;
	struct dssh_config_conn ci = { .user = "inc", .addr = "192.0.2.1" };
	char text[512];
	const char *saved = dssh_config_include_dir;

	snprintf(text, sizeof(text), "%s/d", tmpdir);
	CHECK_EQ_INT(mkdir(text, 0755), 0);
	/* globbed in order; a Match in an included file ends with the file */
	write_file("d/20-b.conf", "MaxAuthTries 7\nMatch User inc\n  MaxSessions 4\n");
	write_file("d/10-a.conf", "LoginGraceTime 33\n");
	write_file("d/ignored.txt", "MaxAuthTries 1\n");
	snprintf(text, sizeof(text), "Include %s/d/*.conf\nMaxAuthTries 2\nMaxSessions 6\n"
	    "Match Address 192.0.2.0/24\n  Include %s/d/inmatch.inc\n", tmpdir, tmpdir);
	write_file("main.conf", text);
	write_file("d/inmatch.inc", "Banner /etc/inmatch\n");
	CHECK_EQ_INT(load(&c, "main.conf"), 0);
	CHECK_EQ_INT(dssh_config_finalize(&c, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.login_grace_time, 33);
	CHECK_EQ_INT(c.max_auth_tries, 7);      /* the included line came first */
	CHECK_EQ_INT(c.max_sessions, 6);        /* MaxSessions 4 is in the included Match */
	CHECK_STR(c.banner, "none");            /* inside Match Address */
	expect_conn(&c, &ci, "maxsessions", "maxsessions 4");
	expect_conn(&c, &ci, "banner", "banner /etc/inmatch");
	ci.addr = "203.0.113.1";
	expect_conn(&c, &ci, "banner", "banner none");
	dssh_config_free(&c);

	/* relative paths are under dssh_config_include_dir (sshd: /etc/ssh) */
	dssh_config_include_dir = tmpdir;
	write_file("rel.conf", "Include d/10-a.conf\n");
	CHECK_EQ_INT(load(&c, "rel.conf"), 0);
	CHECK_EQ_INT(c.login_grace_time, 33);
	dssh_config_free(&c);
	dssh_config_include_dir = saved;

	/* a pattern matching nothing is no error; an unreadable match is */
	snprintf(text, sizeof(text), "Include %s/none-*.conf\n", tmpdir);
	write_file("nomatch.conf", text);
	CHECK_EQ_INT(load(&c, "nomatch.conf"), 0);
	dssh_config_free(&c);

	/* a file including itself stops at the depth limit */
	snprintf(text, sizeof(text), "Include %s/loop.conf\n", tmpdir);
	write_file("loop.conf", text);
	CHECK_EQ_INT(load(&c, "loop.conf"), DSSH_ERR_CONFIG);
	CHECK(strstr(err, "nested too deeply") != NULL);
	dssh_config_free(&c);
	/* two files including each other */
	snprintf(text, sizeof(text), "Include %s/pong.conf\n", tmpdir);
	write_file("ping.conf", text);
	snprintf(text, sizeof(text), "Include %s/ping.conf\n", tmpdir);
	write_file("pong.conf", text);
	CHECK_EQ_INT(load(&c, "ping.conf"), DSSH_ERR_CONFIG);
	CHECK(strstr(err, "nested too deeply") != NULL);
	dssh_config_free(&c);
	/* errors in an included file name that file */
	write_file("d/30-bad.conf", "MaxAuthTries x\n");
	snprintf(text, sizeof(text), "Include %s/d/*.conf\n", tmpdir);
	write_file("main2.conf", text);
	CHECK_EQ_INT(load(&c, "main2.conf"), DSSH_ERR_CONFIG);
	CHECK(strstr(err, "30-bad.conf line 1") != NULL);
	dssh_config_free(&c);
}

/*
 * Every keyword of sshd 9.2 is in the table, allowed in Match exactly where
 * sshd allows it (the list: tests/unit/config/sshd92_keywords.txt).
 */
static const char *keyword_list;

static void
test_sshd_keywords(void)
{
	const char *list = keyword_list;
	char ln[256];
	unsigned n = 0;
	FILE *f = fopen(list, "r");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	while (fgets(ln, sizeof(ln), f) != NULL) {
		char kw[128], where[32];
		bool found = false;
		const char *name;
		bool in_match, impl;

		if (ln[0] == '#' || sscanf(ln, "%127s %31s", kw, where) != 2)
			continue;
		n++;
		if (strcmp(kw, "include") == 0)
			continue;       /* handled by the loader, not a row */
		for (size_t i = 0; dssh_config_keyword_info(i, &name, &in_match, &impl); i++) {
			if (strcasecmp(name, kw) != 0)
				continue;
			found = true;
			if (in_match != (strcmp(where, "match") == 0)) {
				fprintf(stderr, "%s: Match allowed %d, sshd says %s\n", kw, in_match,
				    where);
				CHECK(0);
			}
		}
		if (!found) {
			fprintf(stderr, "sshd keyword %s is not in the table\n", kw);
			CHECK(0);
		}
	}
	fclose(f);
	CHECK(n > 120);
}

/* ---- PermitUserEnvironment: yes, no or a pattern list, as sshd 9.2 ---- */

static void
pue_dump_has(const char *value, const char *want)
{
	struct dssh_config c;
	char l[256], *buf = NULL;
	size_t len = 0;
	FILE *f;

	dssh_config_init(&c);
	snprintf(l, sizeof(l), "PermitUserEnvironment %s", value);
	CHECK_EQ_INT(line(&c, l), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	f = open_memstream(&buf, &len);
	dssh_config_dump(&c, f);
	fclose(f);
	CHECK(buf != NULL && strstr(buf, want) != NULL);
	free(buf);
	dssh_config_free(&c);
}

static void
test_user_environment(void)
{
	struct dssh_config c;

	/* -T prints the value as written (sshd: "yes"/"no" are exact, "Yes" is a pattern) */
	pue_dump_has("yes", "\npermituserenvironment yes\n");
	pue_dump_has("no", "\npermituserenvironment no\n");
	pue_dump_has("LANG,LC_*", "\npermituserenvironment LANG,LC_*\n");
	pue_dump_has("\"FOO?,!FOOD\"", "\npermituserenvironment FOO?,!FOOD\n");
	pue_dump_has("Yes", "\npermituserenvironment Yes\n");

	/* first one wins; one argument only; not in a Match block */
	dssh_config_init(&c);
	CHECK_EQ_INT(line(&c, "PermitUserEnvironment LANG"), 0);
	CHECK_EQ_INT(line(&c, "PermitUserEnvironment yes"), 0);
	CHECK_EQ_INT(finalize(&c), 0);
	CHECK_STR(c.permit_user_environment, "LANG");
	dssh_config_free(&c);
	static const char *const bad[] = {
		"PermitUserEnvironment", "PermitUserEnvironment A B", "PermitUserEnvironment \"\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dssh_config_init(&c);
		CHECK_EQ_INT(line(&c, bad[i]), DSSH_ERR_CONFIG);
		dssh_config_free(&c);
	}
	expect_load_err("Match User x\nPermitUserEnvironment yes\n", "not allowed within");

	/* the allow check: exact words, patterns, negation, case */
	CHECK(!dssh_user_env_allowed(NULL, "LANG"));
	CHECK(!dssh_user_env_allowed("no", "LANG"));
	CHECK(dssh_user_env_allowed("yes", "LANG"));
	CHECK(dssh_user_env_allowed("yes", "anything_at_all"));
	CHECK(!dssh_user_env_allowed("yes", ""));
	CHECK(dssh_user_env_allowed("LANG,LC_*", "LANG"));
	CHECK(dssh_user_env_allowed("LANG,LC_*", "LC_ALL"));
	CHECK(dssh_user_env_allowed("LANG,LC_*", "LC_"));
	CHECK(!dssh_user_env_allowed("LANG,LC_*", "LANGUAGE"));
	CHECK(!dssh_user_env_allowed("LANG,LC_*", "lang"));
	CHECK(!dssh_user_env_allowed("LANG,LC_*", "PATH"));
	CHECK(dssh_user_env_allowed("FOO?", "FOOD"));
	CHECK(!dssh_user_env_allowed("FOO?", "FOO"));
	CHECK(!dssh_user_env_allowed("FOO?", "FOODS"));
	CHECK(!dssh_user_env_allowed("*,!PATH", "PATH"));
	CHECK(dssh_user_env_allowed("*,!PATH", "PAGER"));
	CHECK(!dssh_user_env_allowed("!PATH", "PAGER"));     /* a negation alone allows nothing */
	CHECK(!dssh_user_env_allowed("!LC_ALL,LC_*", "LC_ALL"));
	CHECK(!dssh_user_env_allowed("Yes", "LANG"));         /* "Yes" is a pattern */
	CHECK(dssh_user_env_allowed("Yes", "Yes"));
	CHECK(!dssh_user_env_allowed(",,", "LANG"));
}

int
main(int argc, char **argv)
{
	char cmd[128];

	dssh_log_init("test_config", DSSH_LOG_ERROR, true);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dssh-test-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	DSSH_RUN(test_defaults);
	DSSH_RUN(test_every_keyword);
	DSSH_RUN(test_first_wins_and_syntax);
	DSSH_RUN(test_errors);
	DSSH_RUN(test_times_sizes);
	DSSH_RUN(test_rekey);
	DSSH_RUN(test_alg_lists);
	DSSH_RUN(test_file);
	DSSH_RUN(test_garbage_lines);
	DSSH_RUN(test_dump);
	DSSH_RUN(test_forwarding);
	DSSH_RUN(test_preauth_limits);
	DSSH_RUN(test_logs_keywords);
	DSSH_RUN(test_cert_keywords);
	DSSH_RUN(test_auth_methods);
	DSSH_RUN(test_session_keywords);
	DSSH_RUN(test_dsshctl_keywords);
	DSSH_RUN(test_addr_lists);
	DSSH_RUN(test_match);
	DSSH_RUN(test_match_errors);
	DSSH_RUN(test_include);
	DSSH_RUN(test_warned_keywords);
	DSSH_RUN(test_user_environment);
	if (argc > 1) {
		keyword_list = argv[1];
		DSSH_RUN(test_sshd_keywords);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	DSSH_TEST_END();
}
