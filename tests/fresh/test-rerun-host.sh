#!/bin/bash
# test-rerun-host.sh - on this host (systemd not PID 1): quickstart fails at the image step, then
# a second run succeeds, then --clean removes what it made.
#
# quickstart runs in a sandbox that looks like this host: a private mount namespace whose root
# (pivot_root) is an overlay of / (so nothing reaches the real host: this machine is shared),
# with /dev, /proc, /sys and /run bound in. quickstart's own systemd container (an overlay of that root, on a real
# directory bound at /var/lib/qvm-quickstart) is the path under test, with the machine-wide lock.
# qvm is installed from the build dir (--no-build); the fresh-machine test covers the build.
#   1. PATH without mkfs.vfat: quickstart exits non-zero with qvm-image-build's
#      "mkfs.vfat not found (apt-get install dosfstools)" as its last line, and has written no
#      config and booted no container;
#   2. the same command with the full PATH: exit 0, ssh into the guest works. The image is the
#      test suite's guest image (built by the same qvm-image-build), put where quickstart looks
#      for its local image: building it is the fresh-machine test's part, and takes minutes;
#   3. once more, over the live container of run 2: it is torn down and a fresh one booted;
#   4. --clean: no config, container, overlay mount or build dir is left; the image, which
#      quickstart did not build, is kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need systemd-nspawn git unshare chroot flock
[ ! -d /run/systemd/system ] || skip "systemd is PID 1 here; this test is for hosts without it"
start=$SECONDS

T=$(mktemp -d /var/tmp/qvm-rerun.XXXXXX)
at_exit "rm -rf --one-file-system '$T'"
mkdir -p "$T/up" "$T/work" "$T/root" "$T/qs"
# The sandbox: a mount namespace kept alive by a sleeper; every quickstart run enters it.
cat >"$T/sandbox.sh" <<SH
set -e
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/,upperdir=$T/up,workdir=$T/work $T/root
for d in dev proc sys run; do mount --rbind /\$d $T/root/\$d; done
mkdir -p $T/root/var/lib/qvm-quickstart
mount --bind $T/qs $T/root/var/lib/qvm-quickstart
rm -rf $T/root/etc/qvm $T/root/var/lib/qvm $T/root/var/cache/qvm
# The overlay becomes the namespace's root (pivot_root, not chroot: a chrooted process may not
# create user namespaces, and the VM's units in quickstart's container need them).
mkdir -p $T/root/.host
cd $T/root
pivot_root . .host
umount -l /.host
touch /var/lib/qvm-quickstart/ready
exec sleep infinity
SH
unshare -m bash "$T/sandbox.sh" &
sleeper=$!
at_exit "kill $sleeper"
for _ in $(seq 30); do [ -e "$T/qs/ready" ] && break; sleep 1; done
[ -e "$T/qs/ready" ] || fail "the sandbox did not come up"
rm "$T/qs/ready"
sandbox() { nsenter -t "$sleeper" -m --root --wd -- "$@"; }

# qvm from the build dir, and a fresh clone, into the sandbox's root (written through the overlay,
# never into its upper dir directly).
sandbox meson install -C "$QVM_BUILD_ROOT" --no-rebuild --quiet >/dev/null
sandbox git -c safe.directory='*' clone -q --no-hardlinks "$QVM_SOURCE_ROOT" /root/qvm-clone
# A sanitizer build: no LeakSanitizer in the units (it stops the world with ptrace(), which
# their SystemCallFilter= refuses), as in the integration harness.
if python3 -c 'import json,sys; sys.exit(all(o["name"] != "b_sanitize" or o["value"] == "none" for o in json.load(open(sys.argv[1]))))' \
		"$QVM_BUILD_ROOT/meson-info/intro-buildoptions.json" 2>/dev/null; then
	for unit in qvm@.service qvm-fetch@.service; do
		sandbox install -D -m 0644 /dev/stdin "/etc/systemd/system/$unit.d/90-test-sanitizer.conf" \
			<<<$'[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0'
	done
fi
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# /nobin: every program of the sandbox's PATH but mkfs.vfat.
sandbox bash -c 'mkdir /nobin && for d in '"${path//:/ }"'; do for f in "$d"/*; do
	n=${f##*/}; [ "$n" = mkfs.vfat ] || [ -e "/nobin/$n" ] || ln -s "$f" "/nobin/$n"; done; done'
qs() { sandbox env -i PATH="$1" HOME=/root LANG=C.UTF-8 TERM=dumb bash -c "cd /root/qvm-clone && ./quickstart.sh $2"; }
at_exit "qs '$path' --clean >/dev/null 2>&1"

# 1. Fails at the image step.
rc=0
qs /nobin "--offline --no-build" >"$T/run1.out" 2>"$T/run1.err" || rc=$?
log "first run: exit $rc after $((SECONDS - start)) s"
[ $rc != 0 ] || fail "quickstart succeeded without mkfs.vfat"
last=$(tail -n1 "$T/run1.err")
[[ $last == *"mkfs.vfat not found (apt-get install dosfstools)"* ]] ||
	{ cat "$T/run1.out" "$T/run1.err"; fail "the image step's error is not last: '$last'"; }
! sandbox test -e /etc/qvm/demo.ini || fail "a config was written after the failed step"
[ ! -e "$T/qs/nspawn.pid" ] && [ ! -d "$T/qs/up" ] || fail "a container was booted after the failed step"

# 2. The same again, with the tools: succeeds.
. "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"
img=$(ensure_guest_image) || fail "no guest image"
local_image=/var/lib/qvm/images/debian-12-local.qcow2
sandbox install -D -m 0644 "$img" "$local_image"
t=$SECONDS
rc=0
qs "$path" "--offline --no-build" >"$T/run2.log" 2>&1 || rc=$?
log "second run: exit $rc after $((SECONDS - t)) s"
[ $rc = 0 ] || { cat "$T/run2.log"; tail -n 30 "$T/qs/console.log" 2>/dev/null; fail "the second run failed"; }
grep -q 'qvm@demo is running and ssh is ready' "$T/run2.log" || { cat "$T/run2.log"; fail "no ready message"; }
S=$(cat "$T/qs/pid")
sandbox ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o ConnectTimeout=30 dev@127.0.0.1 true ||
	fail "ssh -p 2222 dev@127.0.0.1 true failed after the second run"
grep -q "Where everything is" "$T/run2.log" || fail "quickstart did not say where everything is"

# 3. Again over the live container: a fresh container, the same image, ssh works.
t=$SECONDS
rc=0
qs "$path" "--offline --no-build" >"$T/run3.log" 2>&1 || rc=$?
log "third run (over a live container): exit $rc after $((SECONDS - t)) s"
[ $rc = 0 ] || { cat "$T/run3.log"; fail "the run over a live container failed"; }
grep -q 'powering off the systemd container of an earlier run' "$T/run3.log" ||
	{ cat "$T/run3.log"; fail "the third run did not tear down the earlier container"; }
! kill -0 "$S" 2>/dev/null || fail "the earlier container is still running"
S=$(cat "$T/qs/pid")
sandbox ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o ConnectTimeout=30 dev@127.0.0.1 true ||
	fail "ssh failed after the run over a live container"

# 4. --clean leaves nothing quickstart made, and keeps what it did not make.
qs "$path" --clean >"$T/clean.log" 2>&1 || { cat "$T/clean.log"; fail "--clean failed"; }
! sandbox test -e /etc/qvm/demo.ini -o -e /etc/qvm/demo.ini.d || fail "--clean left the config"
sandbox test -e "$local_image" || fail "--clean removed an image that quickstart did not build"
[ -z "$(ls -A "$T/qs")" ] || fail "--clean left $(ls "$T/qs") in /var/lib/qvm-quickstart"
! kill -0 "$S" 2>/dev/null || fail "--clean left the container running"
! grep -q " $T/qs/root " /proc/self/mountinfo || fail "--clean left the overlay mounted"
log "PASS after $((SECONDS - start)) s"
