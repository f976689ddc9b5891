#!/bin/bash
# test-9p-tiny.sh - 9p shares end to end without systemd: the real qvm-launch (so the real QEMU
# argv: -fsdev local,security_model=mapped-xattr) run as an unprivileged user, and a guest that
# mounts two 9p shares and reports on its console. The guest is Debian's generic kernel
# (tests/lib/generic-kernel.sh: the cloud kernel has no 9p) + a busybox initramfs with the
# 9p modules. Checks:
#   a host file is visible in the guest;
#   a file the guest user writes lands on the host owned by the VM's user (never root), mode
#   0600, its guest owner in user.virtfs.uid/gid (mapped-xattr), and the guest sees that owner;
#   the guest's chown of the share's root changes an xattr, not the host directory's owner;
#   the read-only share refuses writes (EROFS) although the guest mounted it read-write,
#   and its host file stays unchanged.
# Needs root (to run qvm-launch as another user) and exits 77 without it.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
build=${QVM_BUILD_ROOT:?}
src=${QVM_SOURCE_ROOT:-$(dirname "$0")/../..}
# shellcheck source=tests/lib/generic-kernel.sh
source "$src/tests/lib/generic-kernel.sh"
# shellcheck source=tests/lib/initramfs.sh
source "$src/tests/lib/initramfs.sh"
ensure_generic_kernel || { echo "SKIP: Debian's generic kernel cannot be fetched"; exit 77; }
vmuser=nobody
vmgroup=$(id -gn "$vmuser")
W=$(mktemp -d /var/tmp/qvm-test-9p.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 0755 "$W"
mkdir -p "$W"/root/{bin,dev,proc,sys,mnt/rw,mnt/ro,lib/modules,etc} "$W/rw" "$W/ro" "$W/etc" \
	"$W/state/vm" "$W/run/vm"
cp /bin/busybox "$W/root/bin/busybox"
for f in $(generic_modules_closure virtio_pci 9pnet_virtio 9p); do
	initramfs_add_module "$f" "$W/root"
done
printf 'root:x:0:0::/:/bin/sh\ndev:x:1000:1000::/:/bin/sh\n' >"$W/root/etc/passwd"
printf 'root:x:0:\ndev:x:1000:\n' >"$W/root/etc/group"
opts=trans=virtio,version=9p2000.L,msize=262144
cat >"$W/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in \$(cat /etc/modules); do insmod /lib/modules/\$m.ko || echo "NP: insmod \$m failed"; done
mount -t 9p -o $opts rw /mnt/rw && echo "NP: mounted rw"
mount -t 9p -o $opts ro /mnt/ro && echo "NP: mounted ro"
echo "NP: read=\$(cat /mnt/rw/hello.txt)"
chown 1000:1000 /mnt/rw && echo "NP: chowned root"
su dev -c "echo guest-wrote > /mnt/rw/from-guest.txt" && echo "NP: user wrote"
echo "NP: owner=\$(stat -c %u:%g /mnt/rw/from-guest.txt)"
echo "NP: ro root: \$(touch /mnt/ro/new 2>&1)"
echo "NP: ro append: \$(sh -c 'echo x >> /mnt/ro/doc.txt' 2>&1)"
echo "NP: done"
poweroff -f
INIT
chmod +x "$W/root/init"
(cd "$W/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.img"

echo hello-host >"$W/rw/hello.txt"
echo doc >"$W/ro/doc.txt"
chown "$vmuser:$vmgroup" "$W/rw" "$W/run/vm" "$W/state/vm"
cat >"$W/etc/vm.ini" <<EOF
[vm]
accel = tcg
cpus = 1
memory = 256M
shutdown-timeout = 10s
[network]
mode = none
[boot]
kernel = $GENERIC_KERNEL
initrd = $W/initrd.img
append = console=ttyS0 panic=-1 quiet
[share:rw]
path = $W/rw
mode = 9p
[share:ro]
path = $W/ro
mode = 9p
readonly = yes
EOF
rc=0
setpriv --reuid="$vmuser" --regid="$vmgroup" --clear-groups \
	env QVM_CONFIG_DIR="$W/etc" QVM_STATE_ROOT="$W/state" QVM_RUNTIME_ROOT="$W/run" \
	timeout 600 "$build/helpers/qvm-launch" vm >"$W/console.log" 2>&1 || rc=$?

fail=0
expect() { # expect DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
has() { grep -qF -- "$1" "$W/console.log"; }
xattr_id() { # the little-endian id in xattr $2 of file $1
	python3 -c 'import os,sys; print(int.from_bytes(os.getxattr(sys.argv[1], sys.argv[2]), "little"))' "$1" "$2"
}
f=$W/rw/from-guest.txt
expect "qvm-launch ran the guest to its poweroff (exit 0)" test "$rc" = 0
expect "the guest mounted both 9p shares" has "NP: mounted ro"
expect "a host file is visible in the guest" has "NP: read=hello-host"
expect "the guest user can write to the share" has "NP: user wrote"
expect "the guest's file is on the host" grep -qx guest-wrote "$f"
expect "owned by the VM's user $vmuser, not root" test "$(stat -c %U:%G "$f" 2>/dev/null)" = "$vmuser:$vmgroup"
expect "with mode 0600 on the host" test "$(stat -c %a "$f" 2>/dev/null)" = 600
expect "its guest owner is in user.virtfs.uid/gid (mapped-xattr)" \
	test "$(xattr_id "$f" user.virtfs.uid 2>&1):$(xattr_id "$f" user.virtfs.gid 2>&1)" = 1000:1000
expect "the guest sees it owned by 1000:1000" has "NP: owner=1000:1000"
expect "the guest's chown of the share root left the host directory's owner alone" \
	test "$(stat -c %U "$W/rw")" = "$vmuser"
expect "the read-only share refuses a new file (EROFS)" has "NP: ro root: touch: /mnt/ro/new: Read-only file system"
expect "and an append (EROFS)" has "NP: ro append: sh: can't create /mnt/ro/doc.txt: Read-only file system"
expect "the read-only share's host file is unchanged" grep -qx doc "$W/ro/doc.txt"
expect "no new file in the read-only share" test ! -e "$W/ro/new"
if [ $fail != 0 ]; then
	echo "--- qvm-launch (exit $rc) and console"; cat "$W/console.log"
fi
exit $fail
