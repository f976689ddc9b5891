#!/bin/bash
# tests/lib/guest-image.sh - the real Debian cloud-init guest for tests: built once, booted raw.
#
# Run it as a program to build (or find) the cached image and print its path; QVM_BUILD_ROOT
# (default: the source tree's build/) and QVM_TEST_CACHE choose the cache as below.
# Or source it from bash (it expects QVM_SOURCE_ROOT and QVM_BUILD_ROOT, which meson's
# test_env sets). Then:
#   img=$(ensure_guest_image)        # build once per script version, cached, flock-shared
#   guest_init DIR                   # an ssh key pair in DIR (DIR must exist and be private)
#   guest_make_seed DIR [HOST]       # DIR/seed.iso: user "dev" with that key (cloud-localds)
#   guest_start IMAGE [SIZE]         # raw QEMU (TCG) on a throwaway overlay DIR/disk.qcow2;
#                                    # sets GUEST_PID and GUEST_PORT (ssh on 127.0.0.1);
#                                    # GUEST_FIRMWARE=uefi boots with OVMF instead of SeaBIOS
#   guest_wait_console TEXT TIMEOUT  # until TEXT shows up on the guest's serial console
#   guest_wait_banner TIMEOUT        # until the guest's sshd sends "SSH-"
#   guest_wait_ssh TIMEOUT           # until `ssh dev@127.0.0.1 true` works
#   guest_ssh CMD...                 # run a command in the guest as dev
#   guest_powerdown TIMEOUT          # ACPI power button over QMP; waits for QEMU to exit
#   guest_kill                       # kill QEMU if it is still running (use it in a trap)
# Everything is written under DIR; the cached image is only ever a read-only backing file.

# Print the path of the cached guest image, building it first when needed.
# The cache key is a hash of the build script, so changing the recipe rebuilds the image.
# Parallel callers wait on a lock instead of building twice. QVM_GUEST_IMAGE overrides.
ensure_guest_image() {
	if [ -n "${QVM_GUEST_IMAGE:-}" ]; then
		echo "$QVM_GUEST_IMAGE"
		return 0
	fi
	local src=${QVM_SOURCE_ROOT:?QVM_SOURCE_ROOT is not set}
	local cache=${QVM_TEST_CACHE:-${QVM_BUILD_ROOT:?QVM_BUILD_ROOT is not set}/test-cache}
	local key='' img lock='' tmp status=0
	mkdir -p "$cache" || return 1
	# Run a private copy of the script: the hash then names exactly what ran, and editing the
	# script in the source tree meanwhile cannot upset a running build.
	tmp=$(mktemp -d "$cache/.build.XXXXXX") || return 1
	cp "$src/helpers/qvm-image-build" "$tmp/qvm-image-build" &&
		key=$(sha256sum "$tmp/qvm-image-build" | cut -c1-16) || status=1
	img=$cache/guest-debian-bookworm-$key.qcow2
	if [ $status = 0 ] && [ ! -e "$img" ]; then
		exec {lock}>"$cache/guest-image.lock" && flock "$lock" || status=1
		if [ $status = 0 ] && [ ! -e "$img" ]; then
			echo "guest-image: building $img (once; a few minutes)" >&2
			if bash "$tmp/qvm-image-build" --no-compress --cache-dir "$cache/debs" \
				debian-bookworm "$img" >&2; then
				chmod 0444 "$img"
				# Drop images of other recipes unused for a day (a cache shared by several
				# checkouts may hold a few versions).
				find "$cache" -maxdepth 1 -name 'guest-debian-bookworm-*.qcow2' \
					! -name "${img##*/}" -amin +1440 -delete
			else
				status=1
			fi
		fi
		[ -z "${lock:-}" ] || exec {lock}>&-
	fi
	rm -rf "$tmp"
	[ $status = 0 ] || return 1
	touch -a "$img" 2>/dev/null
	echo "$img"
}

GUEST_DIR=
GUEST_PID=
GUEST_PORT=
GUEST_USER=dev
GUEST_BOOT_TIMES=
GUEST_FIRMWARE=${GUEST_FIRMWARE:-bios}
GUEST_OVMF_CODE=${GUEST_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
GUEST_OVMF_VARS=${GUEST_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}

# Print a TCP port on 127.0.0.1 that is free right now.
guest_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Make DIR the guest's work dir and create an ed25519 key pair there.
guest_init() {
	GUEST_DIR=$1
	rm -f "$GUEST_DIR/id_ed25519" "$GUEST_DIR/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C qvm-test -f "$GUEST_DIR/id_ed25519"
}

# Write DIR/seed.iso, a NoCloud seed with user dev, the key from guest_init and HOSTNAME.
guest_make_seed() {
	local host=${1:-qvm-guest} key
	key=$(cat "$GUEST_DIR/id_ed25519.pub") || return 1
	cat >"$GUEST_DIR/user-data" <<EOF
#cloud-config
users:
  - name: $GUEST_USER
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    ssh_authorized_keys:
      - $key
EOF
	cat >"$GUEST_DIR/meta-data" <<EOF
instance-id: iid-qvm-test-$$
local-hostname: $host
EOF
	cloud-localds "$GUEST_DIR/seed.iso" "$GUEST_DIR/user-data" "$GUEST_DIR/meta-data"
}

# Boot IMAGE with raw QEMU under TCG on an overlay (size SIZE, default the image's own) plus
# the seed (when DIR/seed.iso exists), ssh forwarded from 127.0.0.1:GUEST_PORT. Console in DIR/console.log, QMP on
# DIR/qmp.sock. GUEST_FIRMWARE=uefi adds OVMF (code read-only, a copy of the vars template).
guest_start() {
	local image=$1 size=${2:-} firmware=() seed=()
	rm -f "$GUEST_DIR/disk.qcow2" "$GUEST_DIR/console.log" "$GUEST_DIR/qmp.sock"
	qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$GUEST_DIR/disk.qcow2" $size || return 1
	if [ "$GUEST_FIRMWARE" = uefi ]; then
		cp "$GUEST_OVMF_VARS" "$GUEST_DIR/efivars.fd" || return 1
		# shellcheck disable=SC2054  # the commas are QEMU's option syntax, not array separators
		firmware=(-drive if=pflash,format=raw,unit=0,readonly=on,file="$GUEST_OVMF_CODE"
			-drive if=pflash,format=raw,unit=1,file="$GUEST_DIR/efivars.fd")
	fi
	if [ -e "$GUEST_DIR/seed.iso" ]; then
		# shellcheck disable=SC2054  # QEMU's option syntax
		seed=(-drive file="$GUEST_DIR/seed.iso",if=virtio,format=raw,readonly=on)
	fi
	GUEST_PORT=$(guest_free_port) || return 1
	qemu-system-x86_64 -nodefaults -display none -accel tcg -machine q35 -cpu max -smp 2 -m 1G \
		"${firmware[@]}" \
		-drive file="$GUEST_DIR/disk.qcow2",if=virtio,format=qcow2 \
		"${seed[@]}" \
		-netdev user,id=net0,hostfwd=tcp:127.0.0.1:$GUEST_PORT-:22 \
		-device virtio-net-pci,netdev=net0 \
		-chardev file,id=console,path="$GUEST_DIR/console.log" -serial chardev:console \
		-qmp unix:"$GUEST_DIR/qmp.sock",server=on,wait=off &
	GUEST_PID=$!
}

# Return 0 while QEMU is still running.
guest_alive() {
	[ -n "$GUEST_PID" ] && kill -0 "$GUEST_PID" 2>/dev/null
}

# Wait up to TIMEOUT seconds until the text TEXT appears on the guest's serial console.
guest_wait_console() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		grep -qF -- "$1" "$GUEST_DIR/console.log" 2>/dev/null && return 0
		guest_alive || { echo "guest-image: QEMU exited early" >&2; return 1; }
		sleep 0.5
	done
	echo "guest-image: '$1' not on the console within $2 s" >&2
	return 1
}

# Wait up to TIMEOUT seconds until the guest's sshd answers with an "SSH-" banner.
guest_wait_banner() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		guest_alive || { echo "guest-image: QEMU exited early" >&2; return 1; }
		if python3 - "$GUEST_PORT" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
sys.exit(0 if s.recv(4).startswith(b"SSH-") else 1)
EOF
			return 0
		fi
		sleep 0.5
	done
	echo "guest-image: no ssh banner within $1 s" >&2
	return 1
}

# Run a command in the guest as the seed's user.
guest_ssh() {
	timeout 600 ssh -q -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		-i "$GUEST_DIR/id_ed25519" -p "$GUEST_PORT" "$GUEST_USER@127.0.0.1" "$@"
}

# Wait up to TIMEOUT seconds until ssh with the seed's user and key works.
guest_wait_ssh() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		guest_alive || { echo "guest-image: QEMU exited early" >&2; return 1; }
		if timeout 20 ssh -q -o BatchMode=yes -o StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
			-i "$GUEST_DIR/id_ed25519" -p "$GUEST_PORT" "$GUEST_USER@127.0.0.1" true \
			</dev/null 2>/dev/null; then
			return 0
		fi
		sleep 0.5
	done
	echo "guest-image: ssh did not work within $1 s" >&2
	return 1
}

# Send one QMP command (JSON text) and print QEMU's answer to it.
guest_qmp() {
	python3 - "$GUEST_DIR/qmp.sock" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())                       # greeting
for cmd in ('{"execute": "qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n"); f.flush()
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            break
if "error" in msg:
    sys.exit("QMP error: " + json.dumps(msg["error"]))
print(json.dumps(msg["return"]))
EOF
}

# Press the ACPI power button and wait up to TIMEOUT seconds for QEMU to exit.
# Return: QEMU's exit status, or 1 when it did not exit in time.
guest_powerdown() {
	local deadline=$((SECONDS + $1)) status=0
	guest_qmp '{"execute": "system_powerdown"}' >/dev/null || return 1
	while guest_alive && [ $SECONDS -lt $deadline ]; do
		sleep 0.5
	done
	if guest_alive; then
		echo "guest-image: QEMU still running $1 s after system_powerdown" >&2
		return 1
	fi
	wait "$GUEST_PID" || status=$?
	GUEST_PID=
	return $status
}

# Boot IMAGE once with a fresh seed and overlay in DIR (which must exist), set GUEST_BOOT_TIMES
# to "BANNER LOGIN": seconds from starting QEMU until sshd's banner, and until `ssh true` works;
# then power the guest off. Not in a subshell, so a trap's guest_kill still finds QEMU.
# The raw-QEMU baseline for boot benchmarks.
guest_boot_seconds() {
	local image=$1 t0 t1 t2
	guest_init "$2" || return 1
	guest_make_seed bench-guest >/dev/null || return 1
	t0=$(date +%s.%N)
	guest_start "$image" || return 1
	guest_wait_banner 900 || { guest_kill; return 1; }
	t1=$(date +%s.%N)
	guest_wait_ssh 900 || { guest_kill; return 1; }
	t2=$(date +%s.%N)
	guest_powerdown 180 || { guest_kill; return 1; }
	# shellcheck disable=SC2034  # the result, read by the scripts that source this file
	GUEST_BOOT_TIMES=$(python3 -c 'import sys; t0, t1, t2 = map(float, sys.argv[1:])
print(f"{t1 - t0:.1f} {t2 - t0:.1f}")' "$t0" "$t1" "$t2")
}

# Kill QEMU if it is still running, and reap it.
guest_kill() {
	if guest_alive; then
		kill "$GUEST_PID" 2>/dev/null
		wait "$GUEST_PID" 2>/dev/null
	fi
	GUEST_PID=
	return 0
}

# For a raw-QEMU test script: on exit, kill QEMU, show the end of the guest's console in work
# dir $1 when the script failed, and remove $1; INT and TERM exit with their usual codes.
guest_cleanup_on_exit() {
	# shellcheck disable=SC2064  # $1 is expanded now, on purpose
	trap "guest_exit_cleanup $(printf %q "$1")" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# The EXIT trap of guest_cleanup_on_exit (its status is the script's).
guest_exit_cleanup() {
	local status=$?
	guest_kill
	if [ "$status" != 0 ] && [ -e "$1/console.log" ]; then
		echo "--- last lines of the guest console ---"
		tail -n 40 "$1/console.log"
	fi
	rm -rf "$1"
	exit "$status"
}

# Run as a program rather than sourced: build or find the image and print its path.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	QVM_SOURCE_ROOT=${QVM_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
	QVM_BUILD_ROOT=${QVM_BUILD_ROOT:-$QVM_SOURCE_ROOT/build}
	ensure_guest_image
fi
