#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what dssh needs to build and test on Debian 12 (idempotent, as root):
# the Debian packages that are missing, and the PAM service file
# /etc/pam.d/dsshd if there is none.  Never starts or stops any service.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root" >&2
	exit 1
fi

PKGS="libdpdk-dev dpdk libipsec-mb-dev libssl-dev libpam0g-dev meson ninja-build
pkg-config gcc clang openssh-client openssh-server dropbear-bin putty-tools
python3 python3-paramiko python3-bcrypt python3-matplotlib iproute2 iputils-ping ethtool gnuplot-nox passwd rsync curl
valgrind fail2ban libsystemd-dev mandoc man-db ssh-audit zlib1g-dev xvfb x11-utils xauth libseccomp-dev"
# tests/kat fetches @noble/post-quantum and @oqs/liboqs-js with npm: Debian's node only where
# there is no node at all (a newer one installed otherwise stays).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	echo "setup.sh: installing:$missing"
	# openssh-server's and dropbear's maintainer scripts would start their
	# daemons: a policy-rc.d that says "no" (only if there is none already,
	# removed again afterwards) keeps invoke-rc.d from starting anything.
	made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	rc=0
	{ apt-get update -q &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing; } || rc=$?
	if [ -n "$made_policy" ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ "$rc" -ne 0 ]; then
		echo "setup.sh: apt-get failed ($rc)" >&2
		exit "$rc"
	fi
else
	echo "setup.sh: all packages present"
fi

# PAM service "dsshd": app/dsshd/dsshd.pam (meson install puts the same file
# in place), if there is none.
if [ ! -e /etc/pam.d/dsshd ]; then
	install -m 644 "$(dirname "$0")/../app/dsshd/dsshd.pam" /etc/pam.d/dsshd
	echo "setup.sh: installed /etc/pam.d/dsshd"
fi

# Privilege separation: dsshd runs as this user once set up (no shell, no
# home); dsshd refuses to start as root without it. The same command is in
# README.md ("As a service") for a meson install.
if ! getent passwd dsshd >/dev/null; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --comment "dsshd privilege separation" dsshd
	echo "setup.sh: created the privilege separation user dsshd"
fi
