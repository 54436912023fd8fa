#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what is missing, builds a release dsshd in build/, makes sure root
# can log in with an ed25519 key, and runs dsshd in the foreground:
#  - on its DPDK data plane (our TCP/IP over net_tap): the kernel side of the
#    tap interface dtap0 gets 198.18.0.1/24, dsshd answers on 198.18.0.2 port
#    2222 (198.18.0.0/15 is the benchmarking range: nothing real lives there);
#  - and on kernel sockets at 127.0.0.1 port 2222, which is also the fallback
#    when DPDK cannot start here (the message says so).
# Host keys are created in /etc/dssh on first start.
# DSSH_BUILD_DIR=dir uses (and builds) another build directory.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh scripts/setup.sh

build=${DSSH_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release
fi
ninja -C "$build"

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

tap=dtap0
peer=198.18.0.1/24
addr=198.18.0.2
if ip link show "$tap" >/dev/null 2>&1; then
	echo "run-demo.sh: an interface $tap exists already (another dsshd?)" >&2
	exit 1
fi

"$build/app/dsshd/dsshd" -D -e -p 2222 \
	-o "ListenAddress 127.0.0.1" \
	-o "PermitRootLogin prohibit-password" \
	-o "HostKey $keydir/ssh_host_ed25519_key" \
	-o "HostKey $keydir/ssh_host_ecdsa_key" \
	-o "HostKey $keydir/ssh_host_rsa_key" \
	-o "DataPlane dpdk" \
	-o "DataAddress $addr/24" \
	-o "DpdkArgs \"--no-pci --vdev=net_tap0,iface=$tap --file-prefix=dssh-demo\"" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM

# The tap interface appears once the data plane is up: give its kernel side
# an address so that a local ssh reaches our TCP/IP stack through it.
dpdk=""
i=0
while [ $i -lt 150 ] && kill -0 $pid 2>/dev/null; do
	if ip link show "$tap" >/dev/null 2>&1; then
		ip addr replace "$peer" dev "$tap"
		ip link set "$tap" up
		dpdk=1
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
kill -0 $pid 2>/dev/null || { wait $pid; exit $?; }

echo
if [ -n "$dpdk" ]; then
	echo "dsshd runs on its DPDK data plane ($addr, through $tap) and on 127.0.0.1,"
	echo "port 2222 (Ctrl-C stops it). Log in over the kernel-bypass path with:"
	echo "    ssh -p 2222 -i $key root@$addr"
	echo "or over kernel sockets:  ssh -p 2222 -i $key root@127.0.0.1"
else
	echo "DPDK data plane did not come up here (see the log above): dsshd serves on"
	echo "kernel sockets only, 127.0.0.1 port 2222 (Ctrl-C stops it). Log in with:"
	echo "    ssh -p 2222 -i $key root@127.0.0.1"
fi
echo "As another user with a password:  ssh -p 2222 USER@127.0.0.1"
echo
wait $pid
