#!/bin/bash
# e2e-seed.sh - a real Debian cloud-init guest booted (TCG) with qvm-seed's seed: user, key, sudo,
# hostname, static network-config by MAC, vendor-data, and the readiness mark on the serial console.
#
# Usage (meson sets QVM_SOURCE_ROOT and QVM_BUILD_ROOT): e2e-seed.sh PATH-TO-qvm-seed
set -euo pipefail

qvm_seed=$1
source "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"

mark="qvm-ready: cloud-init finished"   # QVM_CLOUD_INIT_DONE_MARK in lib/paths.h
fails=0

# Print ok/FAIL for one check; count failures.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		fails=$((fails + 1))
	fi
}

# Wait up to $2 seconds until the console log holds at least $1 mark lines.
wait_marks() {
	local want=$1 deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(grep -c -F "$mark" "$GUEST_DIR/console.log" 2>/dev/null || true)" -ge "$want" ] && return 0
		guest_alive || return 1
		sleep 1
	done
	return 1
}

img=$(ensure_guest_image)
work=$(mktemp -d)
chmod 0700 "$work"
trap 'guest_kill; rm -rf "$work"' EXIT
guest_init "$work"

# The INI: user dev with the key pair guest_init made (through the keys file), a time zone,
# and a static address on QEMU's user network (10.0.2.15/24 via 10.0.2.2) for the NIC with
# QEMU's default MAC, which is the one guest_start's NIC gets.
# An admin's vendor-data file too: qvm-seed wraps it with its readiness part in a MIME
# multipart document, so both must take effect.
mkdir "$work/etc"
printf '#cloud-config\nbootcmd:\n  - [ touch, /run/qvm-e2e-vendor-data ]\n' >"$work/vendor-data"
cat >"$work/etc/e2e.ini" <<EOF
[vm]
accel = tcg
[image]
disk = $work/disk.qcow2
[cloud-init]
hostname = seeded-guest
user = dev
ssh-authorized-keys-file = $work/id_ed25519.pub
timezone = Europe/Berlin
vendor-data = $work/vendor-data
[network]
mode = tap
bridge = qvmbr0
mac = 52:54:00:12:34:56
address = 10.0.2.15/24
gateway = 10.0.2.2
dns = 10.0.2.3
EOF
QVM_CONFIG_DIR="$work/etc" QVM_STATE_ROOT="$work/state" "$qvm_seed" e2e
ln -s "$work/state/e2e/seed.iso" "$work/seed.iso"

started=$SECONDS
guest_start "$img"
check "ssh as dev with the seeded key" guest_wait_ssh 900
echo "# ssh after $((SECONDS - started)) s"
check "readiness mark on the serial console" wait_marks 1 300
echo "# console: $(grep -F "$mark" "$GUEST_DIR/console.log" | head -n1 | tr -d '\r')"
# cloud-init status --wait also fails for module errors that are the image's business (locale)
# (in 22.4 it even returns "error" before the final stage has run), so the checks are that
# cloud-init got to its end, and that it took our user-data as valid.
guest_ssh "cloud-init status --long" || true
check "cloud-init finished" guest_ssh "test -e /var/lib/cloud/instance/boot-finished"
check "cloud-init's schema accepts our user-data" guest_ssh "sudo -n cloud-init schema --system"
check "the admin's vendor-data ran too" guest_ssh "test -e /run/qvm-e2e-vendor-data"
check "user dev exists with bash" test "$(guest_ssh 'getent passwd dev | cut -d: -f7')" = /bin/bash
check "passwordless sudo" guest_ssh "sudo -n true"
check "password locked" test "$(guest_ssh 'sudo -n passwd -S dev | cut -d" " -f2')" = L
check "hostname from the seed" test "$(guest_ssh hostname)" = seeded-guest
check "time zone from the seed" test "$(guest_ssh 'readlink /etc/localtime')" = /usr/share/zoneinfo/Europe/Berlin
check "instance-id from the seed" test "$(guest_ssh 'cat /var/lib/cloud/data/instance-id')" = qvm-e2e-1
check "static address from network-config (not DHCP)" \
	guest_ssh "grep -rqs 'inet static' /etc/network/interfaces.d/ && ip -4 addr show eth0 | grep -q 10.0.2.15/24"

# The mark again after a reboot: final_message runs on every boot, so ready = cloud-init
# works on every start, not only the first.
guest_ssh "sudo -n systemctl reboot" || true
check "readiness mark again after a reboot" wait_marks 2 600
check "ssh after the reboot" guest_wait_ssh 300
check "guest powers off" guest_powerdown 120

if [ $fails -ne 0 ]; then
	echo "--- console (last 60 lines)"
	tail -n 60 "$GUEST_DIR/console.log" | tr -d '\r'
	exit 1
fi
