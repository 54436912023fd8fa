#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what is missing, builds a release dsshd in build/, makes sure root
# can log in with an ed25519 key, and runs dsshd in the foreground on
# 127.0.0.1 port 2222.  Host keys are created in /etc/dssh on first start.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh scripts/setup.sh

if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=release
fi
ninja -C build

keydir=/etc/dssh
mkdir -p "$keydir"
chmod 755 "$keydir"

# A key for root, authorised for root.
home=$(getent passwd root | cut -d: -f6)
mkdir -p "$home/.ssh"
chmod 700 "$home/.ssh"
key="$home/.ssh/id_ed25519"
if [ ! -f "$key" ]; then
	ssh-keygen -q -t ed25519 -N '' -C "root@dssh-demo" -f "$key"
	echo "run-demo.sh: created $key (no passphrase) for logging in as root"
fi
ak="$home/.ssh/authorized_keys"
pub=$(cat "$key.pub")
if ! { [ -f "$ak" ] && grep -qxF "$pub" "$ak"; }; then
	printf '%s\n' "$pub" >> "$ak"
	echo "run-demo.sh: added $key.pub to $ak"
fi
chmod 600 "$ak"

echo
echo "dsshd is starting on 127.0.0.1 port 2222 (Ctrl-C stops it). Log in with:"
echo "    ssh -p 2222 -i $key root@127.0.0.1"
echo "or, as another user with a password:  ssh -p 2222 USER@127.0.0.1"
echo
exec build/app/dsshd/dsshd -D -e -p 2222 \
	-o "ListenAddress 127.0.0.1" \
	-o "PermitRootLogin prohibit-password" \
	-o "HostKey $keydir/ssh_host_ed25519_key" \
	-o "HostKey $keydir/ssh_host_ecdsa_key" \
	-o "HostKey $keydir/ssh_host_rsa_key"
