#!/bin/bash
# iso-installer.sh - build (once, cached) a small bootable installer ISO around the tiny guest's kernel.
#
# Usage: tests/lib/iso-installer.sh    prints the ISO's path
#
# The ISO (grub-mkrescue: GRUB for BIOS and EFI, xorriso) boots the tiny guest's
# kernel with an installer initramfs that
#  - prints "qvm-installer: installing";
#  - writes a "system" image onto /dev/vda: itself a grub-mkrescue hybrid image, so
#    the disk is BIOS-bootable, whose initramfs prints "qvm-system: booted from disk"
#    and the marker it finds on the disk, powers off on ACPI and runs a shell;
#  - writes the marker "qvm-installed-marker-7e3a" at 56 MiB into /dev/vda (the
#    disk must be at least 64M);
#  - prints "qvm-installer: done" and powers off, as an installer's last step.
# Cached under $QVM_TEST_CACHE, keyed by this script and the tiny guest.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

MARK_OFFSET_MIB=56

# Write the init of role $2 (installer|system) into $1.
iso_write_init() {
	cat >"$1" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in \$(cat /etc/modules); do insmod /lib/modules/\$m.ko 2>/dev/null; done
role=$2
INIT
	cat >>"$1" <<'INIT'
sleep 1
if [ "$role" = installer ]; then
	echo "qvm-installer: installing"
	dd if=/system.img of=/dev/vda bs=1M conv=fsync 2>/dev/null
	echo "qvm-installed-marker-7e3a" | dd of=/dev/vda bs=1M seek=@MARK@ conv=fsync 2>/dev/null
	sync
	echo "qvm-installer: done"
	poweroff -f
fi
echo "qvm-system: booted from disk"
echo "qvm-system: marker $(dd if=/dev/vda bs=1M skip=@MARK@ count=1 2>/dev/null | head -n1 | tr -cd 'a-z0-9-')"
acpid -d -c /etc/acpi &
while :; do setsid cttyhack sh </dev/ttyS0 >/dev/ttyS0 2>&1; done &
while :; do sleep 3600; done
INIT
	sed -i "s/@MARK@/$MARK_OFFSET_MIB/g" "$1"
	chmod 0755 "$1"
}

# A grub-mkrescue image $1 booting kernel $2 with initramfs $3.
iso_make() {
	local out=$1 kernel=$2 initrd=$3 tree
	tree=$(mktemp -d)
	mkdir -p "$tree/boot/grub"
	cp "$kernel" "$tree/boot/vmlinuz"
	cp "$initrd" "$tree/boot/initrd.img"
	cat >"$tree/boot/grub/grub.cfg" <<'CFG'
set timeout=0
menuentry "qvm test" {
	linux /boot/vmlinuz console=ttyS0 panic=-1
	initrd /boot/initrd.img
}
CFG
	grub-mkrescue -o "$out" "$tree" >/dev/null 2>&1 || { rm -rf "$tree"; echo "iso-installer: grub-mkrescue failed" >&2; return 1; }
	rm -rf "$tree"
}

# Build the installer ISO into directory $1.
iso_build() {
	local out=$1 work
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	mkdir -p "$work/root"
	(cd "$work/root" && gzip -dc "$TINY_INITRD" | cpio -id --quiet)
	iso_write_init "$work/root/init" system
	(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/system-initrd.img"
	iso_make "$work/system.img" "$TINY_KERNEL" "$work/system-initrd.img"
	cp "$work/system.img" "$work/root/system.img"
	iso_write_init "$work/root/init" installer
	(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/installer-initrd.img"
	iso_make "$out/installer.iso.tmp" "$TINY_KERNEL" "$work/installer-initrd.img"
	chmod 0644 "$out/installer.iso.tmp"
	mv "$out/installer.iso.tmp" "$out/installer.iso"
}

ensure_iso_installer() {
	local cache key dir
	# shellcheck source=tiny-guest.sh
	source "$HERE/tiny-guest.sh"
	ensure_tiny_guest
	cache=${QVM_TEST_CACHE:-${QVM_BUILD_ROOT:+$QVM_BUILD_ROOT/test-cache}}
	cache=${cache:-/var/tmp/qvm-test-cache}
	key=$( (cat "${BASH_SOURCE[0]}"; echo "$TINY_INITRD") | sha256sum | cut -c1-12)
	dir=$cache/iso-installer-$key
	mkdir -p "$dir"
	chmod 0755 "$dir"
	(
		flock 9
		[ -s "$dir/installer.iso" ] || iso_build "$dir"
	) 9>"$dir/.lock"
	ISO_INSTALLER=$dir/installer.iso
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	ensure_iso_installer
	echo "$ISO_INSTALLER"
fi
