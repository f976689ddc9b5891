#!/bin/bash
# quickstart.sh - on a fresh Debian or Ubuntu machine: install qvm and boot the VM "demo" as qvm@demo.service.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: ./quickstart.sh [--offline] [--image PATH] [--no-build]

Installs qvm's dependencies with apt-get, builds and installs qvm (meson,
prefix /usr), writes /etc/qvm/demo.ini and starts qvm@demo.service; it returns
once ssh into the guest works and prints how to log in.

The demo VM uses the official Debian 12 generic cloud image, verified against
its SHA512SUMS. When cloud.debian.org cannot be reached (or with --offline), a
Debian 12 cloud image is built locally with debootstrap instead.

Where systemd is not PID 1 (containers, CI sandboxes), the same runs inside a
throwaway systemd container over an overlay of this machine's root, and the
script says so.

  --offline     never contact cloud.debian.org; build the image locally
  --image PATH  use this local qcow2/raw image as the base instead
  --no-build    do not build or install; use the qvm already installed
EOF
}

DEBIAN_URL=https://cloud.debian.org/images/cloud/bookworm/latest
DEBIAN_IMAGE=debian-12-genericcloud-amd64.qcow2
SRC=$(cd "$(dirname "$0")" && pwd)
NAME=demo
SSH_PORT=2222
CONTAINER=/var/lib/qvm-quickstart

args=("$@")
offline=${QVM_QUICKSTART_OFFLINE:-0}
image=""
build=1
while [ $# -gt 0 ]; do
	case $1 in
	--offline) offline=1 ;;
	--image) image=$(realpath "$2"); shift ;;
	--no-build) build=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

say() { printf '\033[1mquickstart:\033[0m %s\n' "$*"; }
die() { printf 'quickstart: error: %s\n' "$*" >&2; exit 1; }

# Re-run as root through sudo, keeping the caller's name for the ssh key.
become_root() {
	[ "$(id -u)" = 0 ] && return
	command -v sudo >/dev/null || die "run this as root"
	exec sudo QVM_QUICKSTART_OFFLINE="$offline" "$0" "${args[@]}"
}

# Install the build and runtime dependencies with apt-get.
install_packages() {
	local pkgs=(meson ninja-build pkg-config gcc libsystemd-dev libinih-dev libcurl4-openssl-dev
		libyaml-dev libcmocka-dev libssl-dev libjson-c-dev libmnl-dev libisofs-dev
		systemd systemd-container qemu-system-x86 qemu-utils ovmf openssh-client curl ca-certificates
		qemu-system-arm qemu-efi-aarch64 qemu-efi-arm)
	# The local image build needs debootstrap and GRUB.
	pkgs+=(debootstrap grub-pc-bin fdisk e2fsprogs)
	say "installing packages: ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
}

# Build qvm and install it under /usr, then create the qvm user and its directories.
build_and_install() {
	say "building and installing qvm"
	[ -d "$SRC/build-quickstart" ] ||
		meson setup "$SRC/build-quickstart" "$SRC" --prefix=/usr --buildtype=release -Dtests=false >/dev/null
	meson compile -C "$SRC/build-quickstart" >/dev/null
	meson install -C "$SRC/build-quickstart" --quiet
	systemd-sysusers
	systemd-tmpfiles --create qvm.conf 2>/dev/null || true
}

# Print the public key of the user who ran the script, creating a key pair when there is none.
ssh_public_key() {
	local user=${SUDO_USER:-root} home key
	home=$(getent passwd "$user" | cut -d: -f6)
	for key in "$home"/.ssh/id_ed25519.pub "$home"/.ssh/id_ecdsa.pub "$home"/.ssh/id_rsa.pub; do
		[ -f "$key" ] && { cat "$key"; return; }
	done
	say "creating an ssh key for $user: $home/.ssh/id_ed25519" >&2
	install -d -m 0700 -o "$user" "$home/.ssh"
	ssh-keygen -q -t ed25519 -N "" -C "$user@qvm-quickstart" -f "$home/.ssh/id_ed25519" </dev/null
	chown "$user:" "$home/.ssh/id_ed25519" "$home/.ssh/id_ed25519.pub"
	cat "$home/.ssh/id_ed25519.pub"
}

# Decide the [image] section: the official image, or a local one when that cannot be reached.
image_section() {
	if [ -n "$image" ]; then
		printf 'source = %s\n' "$image"
		return
	fi
	if [ "$offline" != 1 ] && curl -fsSI --max-time 15 "$DEBIAN_URL/SHA512SUMS" >/dev/null 2>&1; then
		printf 'source = %s/%s\nchecksums = %s/SHA512SUMS\n' "$DEBIAN_URL" "$DEBIAN_IMAGE" "$DEBIAN_URL"
		return
	fi
	local local_image=/var/lib/qvm/images/debian-12-local.qcow2
	if [ "$offline" = 1 ]; then
		say "offline: building a Debian 12 cloud image locally" >&2
	else
		say "cannot reach $DEBIAN_URL; building a Debian 12 cloud image locally instead" >&2
	fi
	if [ ! -f "$local_image" ]; then
		say "running debootstrap (a few minutes)" >&2
		install -d -m 0755 "$(dirname "$local_image")"
		/usr/libexec/qvm/qvm-image-build debian-bookworm "$local_image" >&2
	fi
	printf 'source = %s\n' "$local_image"
}

# Choose the accelerator: KVM when it can run a stock guest kernel, else TCG.
accel_line() {
	if [ -e /sys/module/kvm_pvm ]; then
		echo "accel = tcg              ; this host's KVM is the PVM flavour, which stock guest kernels cannot use"
	else
		echo "accel = auto             ; KVM when /dev/kvm is usable, else TCG"
	fi
}

# Write /etc/qvm/demo.ini.
write_config() {
	local user=${SUDO_USER:-dev} key image_lines
	[ "$user" = root ] && user=dev
	key=$(ssh_public_key)
	image_lines=$(image_section)
	install -d -m 0755 /etc/qvm
	cat >/etc/qvm/$NAME.ini <<EOF
# /etc/qvm/$NAME.ini - written by qvm's quickstart.sh; every key is in qvm.ini(5).
[vm]
description = qvm demo: Debian 12
$(accel_line)
cpus = 2
memory = 1G
ready = ssh                ; systemctl start returns once ssh answers
start-timeout = 15min

[image]
$image_lines
size = 8G

[cloud-init]
user = $user
ssh-authorized-key = $key

[network]
ssh = $SSH_PORT                 ; 127.0.0.1:$SSH_PORT -> guest port 22
EOF
	say "wrote /etc/qvm/$NAME.ini"
	if command -v qvm >/dev/null; then
		qvm check "$NAME" || die "/etc/qvm/$NAME.ini does not pass qvm check"
	fi
}

# Run a command in the throwaway systemd container.
in_container() {
	nsenter -t "$(cat $CONTAINER/pid)" -m -p -u -i -- "$@"
}

# Boot systemd in a container over an overlay of /, sharing this host's network.
start_container() {
	local pid
	say "systemd is not PID 1 here: running qvm inside a throwaway systemd container"
	if [ -f $CONTAINER/pid ] && kill -0 "$(cat $CONTAINER/pid)" 2>/dev/null; then
		say "container already running (leader $(cat $CONTAINER/pid))"
		return
	fi
	mkdir -p $CONTAINER/{up,work,root}
	mountpoint -q $CONTAINER/root ||
		mount -t overlay overlay -o lowerdir=/,upperdir=$CONTAINER/up,workdir=$CONTAINER/work \
			$CONTAINER/root
	rm -f $CONTAINER/root/etc/machine-id
	setsid systemd-nspawn -q -D $CONTAINER/root --register=no --keep-unit --boot \
		--bind=/dev/net/tun --bind=/dev/kvm --capability=all </dev/null >$CONTAINER/console.log 2>&1 &
	for _ in $(seq 60); do
		pid=$(pgrep -P $! -x systemd || true)
		[ -n "$pid" ] && break
		sleep 1
	done
	[ -n "$pid" ] || die "the systemd container did not start; see $CONTAINER/console.log"
	echo "$pid" >$CONTAINER/pid
	for _ in $(seq 120); do
		case $(in_container systemctl is-system-running 2>/dev/null || true) in
		running | degraded) return ;;
		esac
		sleep 1
	done
	die "systemd in the container did not finish booting; see $CONTAINER/console.log"
}

# Start qvm@demo (returns when ssh works) and print how to use it.
start_vm() {
	local run=() logs="journalctl -u qvm@$NAME"
	if [ ! -d /run/systemd/system ]; then
		start_container
		run=(in_container)
		logs="nsenter -t $(cat $CONTAINER/pid) -m -p journalctl -u qvm@$NAME"
	fi
	"${run[@]}" systemctl daemon-reload
	say "starting qvm@$NAME (first boot downloads or builds the image, then waits for ssh)"
	if ! "${run[@]}" systemctl start "qvm@$NAME"; then
		"${run[@]}" systemctl status --no-pager "qvm@$NAME" || true
		die "qvm@$NAME did not start; see: $logs"
	fi
	"${run[@]}" systemctl status --no-pager --lines=0 "qvm@$NAME" || true
	local user
	user=$(sed -n 's/^user = //p' /etc/qvm/$NAME.ini)
	cat <<EOF

qvm@$NAME is running and ssh is ready:
    ssh -p $SSH_PORT $user@127.0.0.1
The guest's console, from boot on:
    $logs
Stop it (ACPI shutdown):
    ${run:+nsenter -t $(cat $CONTAINER/pid) -m -p }systemctl stop qvm@$NAME
EOF
	[ ${#run[@]} -eq 0 ] || cat <<EOF
The systemd container stays up for the VM; shut it down with:
    nsenter -t $(cat $CONTAINER/pid) -m -p systemctl poweroff
EOF
}

become_root
if [ "$build" = 1 ]; then
	command -v apt-get >/dev/null || die "this script needs apt-get (Debian or Ubuntu)"
	install_packages
	build_and_install
fi
write_config
start_vm
