#!/bin/bash
# test-net.sh - qvm-net and tap-mode forwards in a network namespace of our own, with a real tiny guest.
# Usage: test-net.sh BUILD_ROOT SOURCE_ROOT
# Checks: tap created, owned by the qvm user, on qvm's bridge (created with its address) or on a
# user's bridge (left as it was); a missing user bridge is an error that leaves nothing behind;
# down is idempotent; a guest on the tap answers through a socket-proxyd forward bound to
# 127.0.0.1 (and qvm-launch's ready = ssh sees it); after SIGKILL of the launcher, down leaves no tap.
set -eu   # no pipefail: "cmd | grep -q" would fail on SIGPIPE
build=$1 src=$2
if [ "${QVM_NET_TEST_IN_NETNS:-}" != 1 ]; then
	export QVM_NET_TEST_IN_NETNS=1
	exec unshare --net --fork "$0" "$@"
fi

tmp=$(mktemp -d)
launcher=""
cleanup() {
	[ -n "$launcher" ] && kill -9 "$launcher" 2>/dev/null || true
	[ -n "${proxy:-}" ] && kill "$proxy" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }

ip link set lo up
export QVM_CONFIG_DIR=$tmp/etc QVM_STATE_ROOT=$tmp/state QVM_RUNTIME_ROOT=$tmp/run QVM_USER=nobody
mkdir -p "$tmp/etc"
net="$build/helpers/qvm-net"
mapfile -t guest < <("$src/tests/lib/tiny-guest.sh")
kernel=${guest[0]} initrd=${guest[1]}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/etc/vm1.ini" <<INI
[vm]
accel = tcg
memory = 256M
cpus = 1
ready = ssh
shutdown-timeout = 10s
[boot]
kernel = $kernel
initrd = $initrd
append = console=ttyS0 panic=-1 qvm.ip=10.88.0.10/24
[network]
mode = tap
bridge = qvmbr0
address = 10.88.0.10/24
ssh = $port
INI
printf '[boot]\nkernel = /dev/null\n[network]\nmode = tap\nbridge = br-user\naddress = 10.99.0.5/24\n' >"$tmp/etc/vm2.ini"

"$net" up vm1
check "tap qvm-vm1 exists" 'ip link show qvm-vm1 >/dev/null'
check "tap owned by the qvm user (here: nobody)" 'ip -d link show qvm-vm1 | grep -q "user nobody"'
check "tap persistent, on qvmbr0, up" 'ip -d link show qvm-vm1 | grep -q "persist on" && ip link show qvm-vm1 | grep -q "master qvmbr0" && ip link show qvm-vm1 | grep -q ",UP"'
check "qvmbr0 created with 10.88.0.1/24" 'ip addr show qvmbr0 | grep -q "inet 10.88.0.1/24"'

check "a missing user bridge is an error" '! "$net" up vm2 2>"$tmp/err" && grep -q "bridge br-user does not exist" "$tmp/err"'
check "and leaves no tap behind" '! ip link show qvm-vm2 >/dev/null 2>&1'
ip link add br-user type bridge
check "a user's bridge is attached to" '"$net" up vm2 && ip link show qvm-vm2 | grep -q "master br-user"'
check "and left as it was (no address, still down)" '! ip addr show br-user | grep -q inet && ! ip link show br-user | grep -q ",UP"'
check "down removes the tap" '"$net" down vm2 && ! ip link show qvm-vm2 >/dev/null 2>&1'
check "down again is fine" '"$net" down vm2'

# The forward the generator writes for tap mode: socket-activated systemd-socket-proxyd on 127.0.0.1.
proxyd=$(ls /lib/systemd/systemd-socket-proxyd /usr/lib/systemd/systemd-socket-proxyd 2>/dev/null | head -n1)
systemd-socket-activate -l "127.0.0.1:$port" "$proxyd" 10.88.0.10:22 >/dev/null 2>&1 &
proxy=$!
NOTIFY_SOCKET='' "$build/helpers/qvm-launch" vm1 >"$tmp/console" 2>"$tmp/launch.err" &
launcher=$!
for _ in $(seq 120); do
	grep -q "guest is ready" "$tmp/launch.err" && break
	kill -0 "$launcher" 2>/dev/null || break
	sleep 1
done
check "qvm-launch: ready = ssh through the 127.0.0.1 forward in tap mode" 'grep -q "guest is ready (ssh answers)" "$tmp/launch.err"'
# the tiny guest answers one connection at a time: retry for a few seconds
banner_of() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		b=$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2; head -c 22 <&3" 2>/dev/null || true)
		[ -n "$b" ] && { echo "$b"; return; }
		sleep 1
	done
}
banner=$(banner_of 127.0.0.1 "$port")
check "host 127.0.0.1:$port reaches guest :22 (got '$banner')" '[ "$banner" = "SSH-2.0-qvm-tiny-guest" ]'
check "the guest is on the bridge at 10.88.0.10" '[ "$(banner_of 10.88.0.10 22)" = "SSH-2.0-qvm-tiny-guest" ]'

[ "$fails" -eq 0 ] || { echo "--- launcher log"; cat "$tmp/launch.err"; tail -20 "$tmp/console"; }
kill -9 "$launcher" 2>/dev/null || true
wait "$launcher" 2>/dev/null || true
launcher=""
sleep 1
check "QEMU died with its launcher" '! pgrep -f "guest=vm1," >/dev/null'
check "after a SIGKILLed launcher, down leaves no tap" '"$net" down vm1 && ! ip link show qvm-vm1 >/dev/null 2>&1'
exit $((fails > 0))
