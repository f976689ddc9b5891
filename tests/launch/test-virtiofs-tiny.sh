#!/bin/bash
# test-virtiofs-tiny.sh - virtiofs shares end to end without systemd: the real qvm-virtiofsd and
# virtiofsd, QEMU as an unprivileged user, and a guest (Debian's cloud kernel + a busybox
# initramfs with the virtiofs modules, seconds to boot) that mounts two shares and reports:
#   a host file is visible, owned by the guest user (guest-uid 1000 <-> the directory's owner);
#   a file the guest user writes shows up on the host, owned by the directory's owner;
#   guest root, unmapped, cannot create files; the read-only share refuses writes (EROFS);
#   a symlink to /etc and '..' lead nowhere on the host;
#   when QEMU exits, every virtiofsd ends and the sockets are gone.
# Needs root (qvm-virtiofsd changes identity) and exits 77 without it.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
build=${QVM_BUILD_ROOT:?}
src=${QVM_SOURCE_ROOT:-$(dirname "$0")/../..}
# shellcheck source=tests/lib/initramfs.sh
source "$src/tests/lib/initramfs.sh"
kver=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n1 || true)
[ -n "$kver" ] || { echo "SKIP: no Debian cloud kernel"; exit 77; }
W=$(mktemp -d /var/tmp/qvm-test-virtiofs.XXXXXX)
canary=qvm-virtiofs-canary-$$
helper=
cleanup() {
	[ -z "$helper" ] || kill "$helper" 2>/dev/null || true
	rm -rf "$W" "/etc/${canary:?}"
}
trap cleanup EXIT
chmod 0755 "$W"
mkdir -p "$W"/root/{bin,dev,proc,sys,tmp,mnt/rw,mnt/ro,lib/modules,etc} "$W/rw" "$W/ro" "$W/run" "$W/cfg"
cp /bin/busybox "$W/root/bin/busybox"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci fuse virtiofs; do
	initramfs_add_module "$(find "/lib/modules/$kver/kernel" -name "$m.ko*" | head -n1)" "$W/root"
done
printf 'root:x:0:0::/:/bin/sh\ndev:x:1000:1000::/:/bin/sh\n' >"$W/root/etc/passwd"
printf 'root:x:0:\ndev:x:1000:\n' >"$W/root/etc/group"
cat >"$W/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in \$(cat /etc/modules); do insmod /lib/modules/\$m.ko; done
mount -t virtiofs rw /mnt/rw && echo "VT: mounted rw"
mount -t virtiofs -o ro ro /mnt/ro && echo "VT: mounted ro"
echo "VT: read=\$(cat /mnt/rw/hello.txt)"
echo "VT: owner=\$(stat -c %u:%g /mnt/rw/hello.txt)"
su dev -c "echo guest-wrote > /mnt/rw/from-guest.txt" && echo "VT: user wrote"
echo "VT: root write: \$(touch /mnt/rw/by-root 2>&1)"
echo "VT: ro user: \$(su dev -c 'touch /mnt/ro/new' 2>&1)"
echo "VT: ro root: \$(touch /mnt/ro/new 2>&1)"
echo "VT: symlink: \$(cat /mnt/rw/etc-link/$canary 2>&1)"
echo "VT: dotdot: \$(cat /mnt/rw/../../etc/$canary 2>&1)"
echo "VT: done"
poweroff -f
INIT
chmod +x "$W/root/init"
(cd "$W/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.img"

echo hello-host >"$W/rw/hello.txt"
ln -s /etc "$W/rw/etc-link"
chown -R 1500:1500 "$W/rw"
echo doc >"$W/ro/doc.txt"
echo host-secret >"/etc/$canary"
printf '[boot]\nkernel = /boot/vmlinuz\n[share:rw]\npath = %s/rw\n[share:ro]\npath = %s/ro\nreadonly = yes\n' "$W" "$W" \
	>"$W/cfg/t.ini"
# With qvm-virtiofsd@.service's capabilities only (CapabilityBoundingSet=): root without
# CAP_DAC_OVERRIDE, as under systemd.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$src/units/qvm-virtiofsd@.service.in" | tr 'A-Z' 'a-z' |
	sed 's/cap_/+/g; s/ /,/g')
[ -n "$caps" ] || { echo "FAIL: no CapabilityBoundingSet= in qvm-virtiofsd@.service.in"; exit 1; }
QVM_CONFIG_DIR=$W/cfg QVM_RUNTIME_ROOT=$W/run QVM_VM_USER=nobody \
	setpriv --bounding-set=-all,"$caps" "$build/helpers/qvm-virtiofsd" t \
	>"$W/helper.log" 2>&1 &
helper=$!
# Ready (what READY=1 tells systemd): the runtime dir is handed to the VM user after the last socket listens.
for _ in $(seq 200); do [ "$(stat -c %U "$W/run/t" 2>/dev/null)" = nobody ] && break; sleep 0.1; done
: >"$W/console.log"
chmod 0666 "$W/console.log"
setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 600 qemu-system-x86_64 \
	-machine q35,memory-backend=mem -accel tcg -cpu max -nodefaults -display none -m 256M \
	-object memory-backend-memfd,id=mem,size=256M,share=on \
	-chardev socket,id=s0,path="$W/run/t/share-rw.sock" -device vhost-user-fs-pci,chardev=s0,tag=rw \
	-chardev socket,id=s1,path="$W/run/t/share-ro.sock" -device vhost-user-fs-pci,chardev=s1,tag=ro \
	-kernel "/boot/vmlinuz-$kver" -initrd "$W/initrd.img" -append "console=ttyS0 panic=-1 quiet" \
	-serial file:"$W/console.log" -no-reboot
for _ in $(seq 100); do kill -0 "$helper" 2>/dev/null || break; sleep 0.1; done

fail=0
expect() { # expect DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
has() { grep -qF -- "$1" "$W/console.log"; }
expect "the guest mounted both shares" has "VT: mounted ro"
expect "a host file is visible in the guest" has "VT: read=hello-host"
expect "the directory owner's files belong to guest-uid:guest-gid 1000:1000" has "VT: owner=1000:1000"
expect "the guest user can write" has "VT: user wrote"
expect "the guest's file is on the host" grep -qx guest-wrote "$W/rw/from-guest.txt"
expect "owned by the directory's owner 1500:1500" test "$(stat -c %u:%g "$W/rw/from-guest.txt" 2>/dev/null)" = 1500:1500
expect "guest root (unmapped) cannot create files" test ! -e "$W/rw/by-root"
expect "the read-only share refuses the guest user (EROFS)" has "VT: ro user: touch: /mnt/ro/new: Read-only file system"
expect "and guest root (EROFS)" has "VT: ro root: touch: /mnt/ro/new: Read-only file system"
expect "a symlink to /etc does not reach the host's /etc" has "VT: symlink: cat: can't open"
expect "'..' does not leave the share" has "VT: dotdot: cat: can't open"
expect "the host secret never showed up" bash -c "! grep -q host-secret '$W/console.log'"
expect "qvm-virtiofsd ended with QEMU" bash -c "! kill -0 $helper 2>/dev/null"
expect "the sockets are gone" bash -c "! ls '$W'/run/t/*.sock 2>/dev/null"
if [ $fail != 0 ]; then
	echo "--- console"; cat "$W/console.log"; echo "--- qvm-virtiofsd"; cat "$W/helper.log"
fi
exit $fail
