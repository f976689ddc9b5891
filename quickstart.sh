#!/bin/bash
# quickstart.sh - on a fresh Debian or Ubuntu machine: install qvm and boot the VM "demo" as qvm@demo.service.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: ./quickstart.sh [--offline] [--image PATH] [--no-build]
       ./quickstart.sh --clean

Installs qvm's dependencies with apt-get (packages/run.txt and the build lines of
packages/build.txt), builds and installs qvm (meson, prefix /usr), writes the VM
"demo" with `qvm new demo` plus the drop-in /etc/qvm/demo.ini.d/50-quickstart.conf,
and starts qvm@demo.service; it returns once ssh into the guest works, and prints
how to log in and where everything is.

The demo VM uses the official Debian 12 generic cloud image, verified against
its SHA512SUMS. When cloud.debian.org cannot be reached (or with --offline), a
Debian 12 cloud image is built locally with debootstrap instead.

Where systemd is not PID 1 (containers, CI sandboxes), the same runs inside a
throwaway systemd container over an overlay of this machine's root, and the
script says so. The container takes the machine-wide lock
/run/lock/qvm-container.lock while it is up.

The first step that fails stops the script, with that step's error last on the
screen. Run it again after fixing the cause: a container left by an earlier run
is torn down and booted fresh; a demo config quickstart wrote is written anew.

  --offline     never contact cloud.debian.org; build the image locally
  --image PATH  use this local qcow2/raw image as the base instead
  --no-build    do not install packages, build or install; use the installed qvm
  --clean       remove everything quickstart made: the container and its overlay,
                the demo VM (config, drop-in, state), the image it built, the
                qvm it installed (ninja uninstall) and its build directory
EOF
}

DEBIAN_URL=https://cloud.debian.org/images/cloud/bookworm/latest
SRC=$(cd "$(dirname "$0")" && pwd)
NAME=demo
CONTAINER=/var/lib/qvm-quickstart        # the container's overlay, logs and the list of what was made
MADE=$CONTAINER/made
LOGS=$CONTAINER/logs
LOCK=/run/lock/qvm-container.lock
LOCAL_IMAGE=/var/lib/qvm/images/debian-12-local.qcow2
INI=/etc/qvm/$NAME.ini
DROPIN=/etc/qvm/$NAME.ini.d/50-quickstart.conf
BUILD=$SRC/build-quickstart

args=("$@")
offline=${QVM_QUICKSTART_OFFLINE:-0}
image=""
build=1
clean=0
while [ $# -gt 0 ]; do
	case $1 in
	--offline) offline=1 ;;
	--image) image=$(realpath -e "${2:?--image needs a PATH}"); shift ;;
	--no-build) build=0 ;;
	--clean) clean=1 ;;
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

# Run "$@" as the step $1 describes, its output in a log; on failure show the log's end, last.
step() {
	local what=$1 log
	shift
	mkdir -p "$LOGS"
	log=$LOGS/$(printf '%s' "$what" | tr -c 'a-z0-9' '-').log
	say "$what (log: $log)"
	if ! "$@" >"$log" 2>&1 </dev/null; then
		printf 'quickstart: error: %s failed; the end of %s:\n' "$what" "$log" >&2
		tail -n 25 "$log" >&2
		exit 1
	fi
}

# Remember that quickstart made @1, so that a re-run may replace it and --clean remove it.
made() {
	mkdir -p "$CONTAINER"
	grep -qxF "$1" "$MADE" 2>/dev/null || echo "$1" >>"$MADE"
}

# Did quickstart make @1?
was_made() {
	grep -qxF "$1" "$MADE" 2>/dev/null
}

# Install the run-time and build dependencies with apt-get.
install_packages() {
	local pkgs
	mapfile -t pkgs < <("$SRC/packages/list" build)
	export DEBIAN_FRONTEND=noninteractive
	step "apt-get update" apt-get update -q
	step "installing ${#pkgs[@]} packages (packages/run.txt, packages/build.txt)" \
		apt-get install -y -q --no-install-recommends "${pkgs[@]}"
}

# Configure, build and install qvm under /usr.
meson_build() {
	# A setup that failed half-way leaves a directory meson refuses to set up again.
	[ -e "$BUILD/build.ninja" ] || rm -rf "$BUILD"
	[ -d "$BUILD" ] || meson setup "$BUILD" "$SRC" --prefix=/usr --buildtype=release -Dtests=false
	meson compile -C "$BUILD"
	meson install -C "$BUILD" --quiet
}

# Build qvm and install it under /usr, then create the qvm user and its directories.
build_and_install() {
	step "building and installing qvm ($BUILD)" meson_build
	made "$BUILD"
	step "creating the qvm user and directories" sh -c 'systemd-sysusers && systemd-tmpfiles --create qvm.conf'
}

# Print the public key file of the user who ran the script, creating a key pair when there is none.
ssh_key_file() {
	local user=${SUDO_USER:-root} home key
	home=$(getent passwd "$user" | cut -d: -f6)
	for key in "$home"/.ssh/id_ed25519.pub "$home"/.ssh/id_ecdsa.pub "$home"/.ssh/id_rsa.pub; do
		[ -f "$key" ] && { echo "$key"; return; }
	done
	say "creating an ssh key for $user: $home/.ssh/id_ed25519" >&2
	install -d -m 0700 -o "$user" "$home/.ssh"
	ssh-keygen -q -t ed25519 -N "" -C "$user@qvm-quickstart" -f "$home/.ssh/id_ed25519" </dev/null
	chown "$user:" "$home/.ssh/id_ed25519" "$home/.ssh/id_ed25519.pub"
	echo "$home/.ssh/id_ed25519.pub"
}

# Set $base_image: the image given, the official one, or one built here when that cannot be reached.
choose_image() {
	if [ -n "$image" ]; then
		base_image=$image
		return
	fi
	if [ "$offline" != 1 ] && curl -fsSI --max-time 15 "$DEBIAN_URL/SHA512SUMS" >/dev/null 2>&1; then
		base_image=debian-12
		return
	fi
	base_image=$LOCAL_IMAGE
	if [ "$offline" = 1 ]; then
		say "offline: using a Debian 12 cloud image built locally"
	else
		say "cannot reach $DEBIAN_URL; using a Debian 12 cloud image built locally instead"
	fi
	if [ -f "$LOCAL_IMAGE" ]; then
		say "the local image exists already: $LOCAL_IMAGE"
		return
	fi
	say "building $LOCAL_IMAGE with debootstrap (a few minutes)"
	install -d -m 0755 "$(dirname "$LOCAL_IMAGE")"
	# Its progress shows; when it fails, its own error is the last line.
	"$(qvm_libexec)/qvm-image-build" debian-bookworm "$LOCAL_IMAGE"
	made "$LOCAL_IMAGE"
}

# Where the installed qvm keeps its helpers.
qvm_libexec() {
	local d
	for d in /usr/libexec/qvm /usr/local/libexec/qvm; do
		[ -x "$d/qvm-image-build" ] && { echo "$d"; return; }
	done
	die "qvm-image-build is not installed (run without --no-build)"
}

# The accelerator line of the drop-in: KVM when it can run a stock guest kernel, else TCG.
accel_line() {
	if [ -e /sys/module/kvm_pvm ]; then
		echo "accel = tcg              ; this host's KVM is the PVM flavour, which stock guest kernels cannot use"
	else
		echo "accel = auto             ; KVM when /dev/kvm is usable, else TCG"
	fi
}

# Write the demo: `qvm new` for the INI, a drop-in for what it does not cover; check both.
write_config() {
	local key
	if [ -e "$INI" ]; then
		was_made "$INI" ||
			die "$INI exists and quickstart did not write it; move it away (or run with --clean if it did)"
		rm -rf "$INI" "$(dirname "$DROPIN")"
	fi
	key=$(ssh_key_file)
	made "$INI"
	qvm new "$NAME" --image "$base_image" --ssh-key "$key" --no-reload
	install -d -m 0755 "$(dirname "$DROPIN")"
	cat >"$DROPIN" <<EOF
# $DROPIN - written by qvm's quickstart.sh over what 'qvm new' wrote; keys in qvm.ini(5).
[vm]
description = qvm demo: Debian 12
$(accel_line)
start-timeout = 15min      ; a first boot under TCG takes minutes

[image]
size = 8G
EOF
	qvm check "$NAME"
}

# Run a command in the systemd container whose init is @1 (its root too: when quickstart itself
# runs in a chroot, the container's mount namespace has the chroot's root, not the container's).
enter() {
	local pid=$1
	shift
	nsenter -t "$pid" -m -p -u -i --root --wd -- "$@"
}

# Run a command in the throwaway systemd container.
in_container() {
	enter "$(cat $CONTAINER/pid)" "$@"
}

# Power off the container of an earlier run, wait for it, unmount and remove its overlay.
stop_container() {
	local leader nspawn
	leader=$(cat $CONTAINER/pid 2>/dev/null || true)
	nspawn=$(cat $CONTAINER/nspawn.pid 2>/dev/null || true)
	# An older quickstart recorded only the container's systemd.
	[ -n "$nspawn" ] || nspawn=$leader
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		say "powering off the systemd container of an earlier run (nspawn $nspawn)"
		[ -z "$leader" ] || enter "$leader" systemctl poweroff 2>/dev/null || true
		for _ in $(seq 90); do
			kill -0 "$nspawn" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "$nspawn" 2>/dev/null || true
		while kill -0 "$nspawn" 2>/dev/null; do sleep 0.2; done
	fi
	if mountpoint -q $CONTAINER/root; then
		say "unmounting the overlay of an earlier run: $CONTAINER/root"
		umount -R $CONTAINER/root 2>/dev/null || umount -l $CONTAINER/root
	fi
	rm -rf $CONTAINER/up $CONTAINER/work $CONTAINER/root $CONTAINER/pid $CONTAINER/nspawn.pid
}

# Boot systemd in a fresh container over a fresh overlay of /, sharing this host's network.
start_container() {
	local nspawn pid=
	say "systemd is not PID 1 here: running qvm inside a throwaway systemd container ($CONTAINER)"
	stop_container
	mkdir -p $CONTAINER/{up,work,root}
	mount -t overlay overlay -o lowerdir=/,upperdir=$CONTAINER/up,workdir=$CONTAINER/work $CONTAINER/root
	rm -f $CONTAINER/root/etc/machine-id
	# One systemd container at a time on the machine: nspawn holds the lock while it runs.
	exec 9>"$LOCK"
	if ! flock -n 9; then
		say "waiting for $LOCK: another systemd container is up on this machine"
		flock 9
	fi
	# Only the devices this machine has: nspawn refuses to bind a missing one.
	local devices=() dev
	for dev in /dev/net/tun /dev/kvm; do
		[ ! -e "$dev" ] || devices+=("--bind=$dev")
	done
	# Up to basic.target only: the overlay has this host's enabled services, and a second copy of
	# them (a database, sshd) on the host's network would only fight the real ones over ports.
	setsid systemd-nspawn -q -D $CONTAINER/root --register=no --keep-unit --boot \
		"${devices[@]}" --capability=all -- --unit=basic.target </dev/null >$CONTAINER/console.log 2>&1 &
	nspawn=$!
	exec 9>&-
	echo "$nspawn" >$CONTAINER/nspawn.pid
	for _ in $(seq 120); do
		pid=$(pgrep -P "$nspawn" -x systemd || true)
		[ -n "$pid" ] && break
		sleep 1
	done
	if [ -z "$pid" ]; then
		tail -n 20 $CONTAINER/console.log >&2
		die "the systemd container did not start; the end of $CONTAINER/console.log is above"
	fi
	echo "$pid" >$CONTAINER/pid
	for _ in $(seq 300); do
		case $(in_container systemctl is-system-running 2>/dev/null || true) in
		running | degraded) return ;;
		esac
		sleep 1
	done
	in_container systemctl list-jobs --no-pager >&2 || true
	die "systemd in the container did not finish booting (its pending jobs are above); see $CONTAINER/console.log"
}

# Start qvm@demo (returns when ssh works); on failure, its log is the last thing shown.
start_vm() {
	run=()
	if [ ! -d /run/systemd/system ]; then
		start_container
		run=(in_container)
	fi
	"${run[@]}" systemctl daemon-reload
	say "starting qvm@$NAME (first boot sets up the image and waits for ssh)"
	if ! "${run[@]}" systemctl start "qvm@$NAME"; then
		printf 'quickstart: error: qvm@%s did not start; the end of its log:\n' "$NAME" >&2
		"${run[@]}" journalctl -u "qvm@$NAME" -n 25 --no-pager -o cat >&2 || true
		exit 1
	fi
}

# Print field @1 of the demo in `qvm list --json` (values come from qvm, not from the INI text).
vm_field() {
	"${run[@]}" qvm list --json | python3 -c '
import json, sys
for vm in json.load(sys.stdin):
    if vm["name"] == sys.argv[1]:
        print(vm.get(sys.argv[2]) or "")' "$NAME" "$1"
}

# Say how to use the VM and where everything quickstart made is.
summary() {
	local ssh user pre=""
	ssh=$(vm_field ssh)
	user=$(vm_field user)
	[ ${#run[@]} -eq 0 ] || pre="nsenter -t $(cat $CONTAINER/pid) -m -p "
	cat <<EOF

qvm@$NAME is running and ssh is ready:
    ssh -p ${ssh##*:} $user@${ssh%:*}        (or: ${pre}qvm ssh $NAME)
The guest's console, from boot on:
    ${pre}journalctl -u qvm@$NAME
Stop it (ACPI shutdown):
    ${pre}systemctl stop qvm@$NAME

Where everything is:
    config           $INI (written by qvm new) + $DROPIN
    base image       $base_image
    VM state         /var/lib/qvm/$NAME
    step logs        $LOGS
    build dir        $BUILD (qvm installed under /usr)
EOF
	[ ${#run[@]} -eq 0 ] || cat <<EOF
    container        $CONTAINER/root (overlay of /; console $CONTAINER/console.log)
The systemd container stays up for the VM; shut it down with:
    ${pre}systemctl poweroff
EOF
	echo "Remove all of it again: $0 --clean"
}

# Remove everything quickstart made.
clean() {
	if [ -d /run/systemd/system ]; then
		systemctl stop "qvm@$NAME" 2>/dev/null || true
	else
		stop_container
	fi
	if was_made "$INI"; then
		say "removing $INI, $(dirname "$DROPIN") and /var/lib/qvm/$NAME"
		rm -rf "$INI" "$(dirname "$DROPIN")" "/var/lib/qvm/$NAME"
		[ ! -d /run/systemd/system ] || systemctl daemon-reload
	fi
	if was_made "$LOCAL_IMAGE"; then
		say "removing the image quickstart built: $LOCAL_IMAGE"
		rm -f "$LOCAL_IMAGE"
	fi
	if was_made "$BUILD"; then
		say "uninstalling qvm and removing $BUILD"
		[ ! -e "$BUILD/build.ninja" ] || ninja -C "$BUILD" uninstall >/dev/null || true
		rm -rf "$BUILD"
	fi
	# The directory itself may be a mount point.
	find "$CONTAINER" -mindepth 1 -delete 2>/dev/null || true
	rmdir "$CONTAINER" 2>/dev/null || true
	say "clean: nothing quickstart made is left (ssh keys in ~/.ssh stay)"
}

become_root
if [ "$clean" = 1 ]; then
	clean
	exit 0
fi
if [ "$build" = 1 ]; then
	command -v apt-get >/dev/null || die "this script needs apt-get (Debian or Ubuntu)"
	install_packages
	build_and_install
fi
command -v qvm >/dev/null || die "qvm is not installed (run without --no-build)"
choose_image
write_config
start_vm
summary
