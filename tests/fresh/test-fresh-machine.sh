#!/bin/bash
# test-fresh-machine.sh - the README's first command on a bare Debian 12 root, the first time and again.
#
# 1. debootstrap --variant=minbase bookworm with only systemd, dbus and ca-certificates (what a bare
#    server has: no compiler, no meson, no QEMU), once per build dir ($QVM_BUILD_ROOT/fresh-root);
# 2. boot it with systemd-nspawn --boot over a throwaway overlay (systemd is PID 1 inside), with
#    loop devices bound in for qvm-image-build (nspawn gives the container its own /dev, where
#    losetup finds no loop devices), holding the machine-wide
#    container lock; copy a fresh clone of the repository to /root/qvm;
# 3. ./quickstart.sh --offline as root inside: exit 0, ssh -p 2222 dev@127.0.0.1 works, the
#    journal of qvm@demo shows the guest's kernel;
# 4. again: exit 0, the image is not rebuilt, the VM keeps running (same QEMU process).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need debootstrap systemd-nspawn git flock nsenter

LOCK=/run/lock/qvm-container.lock
cache=${QVM_BUILD_ROOT:?}/fresh-root
base=$cache/bookworm-minbase
start=$SECONDS

# 1. The bare root, cached for this build dir only.
if [ ! -e "$base/.complete" ]; then
	rm -rf --one-file-system "$base"
	mkdir -p "$base"
	mirror=$(host_mirror)
	log "debootstrap --variant=minbase bookworm from $mirror into $base"
	# No fsync per file while it is built (most of its time on a busy disk); gone afterwards.
	mkdir -p "$base/etc/dpkg/dpkg.cfg.d"
	echo force-unsafe-io >"$base/etc/dpkg/dpkg.cfg.d/qvm-fresh-unsafe-io"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates \
		bookworm "$base" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		tail -n 30 "$cache/debootstrap.log"
		fail "debootstrap failed"
	}
	rm "$base/etc/dpkg/dpkg.cfg.d/qvm-fresh-unsafe-io"
	sync -f "$base"
	touch "$base/.complete"
	log "bare root ready after $((SECONDS - start)) s"
fi
for p in gcc cc meson ninja qemu-system-x86_64 qemu-img python3; do
	[ ! -e "$base/usr/bin/$p" ] || fail "the bare root has $p: it is not bare"
done

# 2. Boot it.
T=$(mktemp -d /var/tmp/qvm-fresh.XXXXXX)
at_exit "rm -rf --one-file-system '$T'"
mkdir "$T/up" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$T/up,workdir=$T/work" "$T/root"
at_exit "umount -l '$T/root'"
fresh_clone "$T/root/root/qvm"
: >"$T/root/etc/machine-id"
loops=(--bind=/dev/loop-control --property=DeviceAllow='block-loop rwm')
for n in $(seq 0 15); do
	[ -e "/dev/loop$n" ] || mknod -m 0660 "/dev/loop$n" b 7 "$n"
	loops+=("--bind=/dev/loop$n")
done
exec 9>"$LOCK"
if ! flock -n 9; then
	log "waiting for $LOCK: another container is up"
	flock 9
fi
setsid systemd-nspawn -q -D "$T/root" --register=no --keep-unit --boot --capability=all \
	"${loops[@]}" </dev/null >"$T/console.log" 2>&1 &
nspawn=$!
exec 9>&-
at_exit "stop_container"
stop_container() {
	[ -z "${S:-}" ] || nsenter -t "$S" -m -p -- systemctl poweroff 2>/dev/null || true
	for _ in $(seq 60); do kill -0 "$nspawn" 2>/dev/null || return 0; sleep 1; done
	kill -KILL "$nspawn" 2>/dev/null || true
}
S=
for _ in $(seq 120); do
	S=$(pgrep -P "$nspawn" -x systemd || true)
	[ -n "$S" ] && break
	sleep 1
done
[ -n "$S" ] || { cat "$T/console.log"; fail "systemd did not start in the container"; }
inside() {
	nsenter -t "$S" -m -p -u -i -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= "$@"
}
for _ in $(seq 300); do
	case $(inside systemctl is-system-running 2>/dev/null || true) in
	running | degraded) break ;;
	esac
	sleep 1
done
[ "$(inside readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] || [ "$(inside readlink /proc/1/exe)" = /lib/systemd/systemd ] ||
	fail "PID 1 in the container is not systemd"
log "container up (systemd PID $S) after $((SECONDS - start)) s"

# 3. The first run.
t=$SECONDS
rc=0
inside bash -c 'cd /root/qvm && ./quickstart.sh --offline' >"$T/run1.log" 2>&1 || rc=$?
log "first quickstart: exit $rc after $((SECONDS - t)) s"
[ $rc = 0 ] || { cat "$T/run1.log"; inside journalctl -u qvm@demo --no-pager | tail -n 40; fail "first quickstart failed"; }
inside ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=30 dev@127.0.0.1 true || fail "ssh -p 2222 dev@127.0.0.1 true failed after quickstart"
# Read the journal whole first: grep -q would stop early, and pipefail would count journalctl's SIGPIPE.
journal=$(inside journalctl -u qvm@demo --no-pager)
grep -q 'Linux version' <<<"$journal" || fail "journalctl -u qvm@demo does not show the guest's kernel"
image=/var/lib/qvm/images/debian-12-local.qcow2
before=$(inside stat -c '%i %Y' "$image")
pid_before=$(inside systemctl show -p MainPID --value qvm@demo)

# 4. The second run.
t=$SECONDS
rc=0
inside bash -c 'cd /root/qvm && ./quickstart.sh --offline' >"$T/run2.log" 2>&1 || rc=$?
log "second quickstart: exit $rc after $((SECONDS - t)) s"
[ $rc = 0 ] || { cat "$T/run2.log"; fail "second quickstart failed"; }
! grep -q 'building /var/lib/qvm/images' "$T/run2.log" || fail "the second run rebuilt the image"
[ "$(inside stat -c '%i %Y' "$image")" = "$before" ] || fail "the second run replaced $image"
[ "$(inside systemctl is-active qvm@demo)" = active ] || fail "qvm@demo is not active after the second run"
[ "$(inside systemctl show -p MainPID --value qvm@demo)" = "$pid_before" ] ||
	fail "qvm@demo was restarted by the second run"
inside ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=30 dev@127.0.0.1 true || fail "ssh failed after the second run"
log "PASS after $((SECONDS - start)) s"
