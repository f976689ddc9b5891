#!/bin/bash
# arm-guest.sh - build (once, cached) tiny ARM test guests from Debian's own packages.
#
# Usage: tests/lib/arm-guest.sh arm64|armel
#   prints three lines: KERNEL, INITRD and DTB ("-" for arm64, where QEMU's virt
#   machine makes the device tree)
#
#  arm64: linux-image-arm64 (arm64) for QEMU's aarch64 virt machine;
#  armel: linux-image-rpi (armel) for QEMU's raspi0 board, with bcm2835-rpi-zero.dtb.
# Each initramfs holds busybox-static of the same architecture and an /init that
#  - prints "qvm-arm-guest: booted ARCH" on the serial console (ttyAMA0);
#  - on arm64, powers off on the power button (virt's gpio-keys: the ACPI-less
#    way QEMU's system_powerdown reaches a device-tree guest), printing
#    "qvm-arm-guest: powering off";
#  - runs a shell on the console, whose prompt is "qvm-arm# ".
#
# The packages come with `apt-get download` (no install: a foreign busybox-static
# would replace the host's); the architecture must be known to dpkg
# (dpkg --add-architecture arm64 armel; apt-get update), which tests/run does.
# Built guests are cached under $QVM_TEST_CACHE like tests/lib/tiny-guest.sh.
set -euo pipefail

# The kernel package behind Debian's metapackage $1 (linux-image-arm64:arm64).
arm_kernel_package() {
	apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}

# Write the guest's /init into $1.
arm_write_init() {
	cat >"$1" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules 2>/dev/null); do insmod /lib/modules/$m.ko 2>/dev/null; done
echo "qvm-arm-guest: booted $(uname -m)"
sleep 1
for e in /dev/input/event*; do
	[ -e "$e" ] || continue
	(dd if="$e" bs=64 count=1 >/dev/null 2>&1; echo "qvm-arm-guest: powering off"; poweroff -f) &
done
export PS1='qvm-arm# '
while :; do setsid cttyhack sh </dev/ttyAMA0 >/dev/ttyAMA0 2>&1; done &
while :; do sleep 3600; done
INIT
	chmod 0755 "$1"
}

# Build the guest for Debian architecture $1 into directory $2.
arm_build() {
	local arch=$1 out=$2 meta kpkg work root kver m f
	case $arch in
	arm64) meta=linux-image-arm64:arm64 ;;
	armel) meta=linux-image-rpi:armel ;;
	*) echo "arm-guest: unknown arch $arch" >&2; return 1 ;;
	esac
	kpkg=$(arm_kernel_package "$meta")
	if [ -z "$kpkg" ]; then
		echo "arm-guest: apt knows no $meta; run: dpkg --add-architecture $arch && apt-get update" >&2
		return 1
	fi
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	(cd "$work" && apt-get download -q "$kpkg" "busybox-static:$arch" >/dev/null 2>&1) || {
		echo "arm-guest: apt-get download $kpkg busybox-static:$arch failed" >&2
		return 1
	}
	mkdir -p "$work/k" "$work/bb"
	dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
	kver=$(ls "$work/k/boot" | sed -n 's/^vmlinuz-//p' | head -n1)
	root=$work/root
	mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules}
	cp "$work/bb/bin/busybox" "$root/bin/busybox"
	arm_write_init "$root/init"
	if [ "$arch" = arm64 ]; then
		for m in evdev gpio_keys; do
			f=$(find "$work/k/lib/modules/$kver" -name "$m.ko*" | head -n1)
			[ -n "$f" ] || { echo "arm-guest: module $m missing in $kver" >&2; return 1; }
			case $f in
			*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
			*) cp "$f" "$root/lib/modules/$m.ko" ;;
			esac
			echo "$m" >>"$root/etc/modules"
		done
	fi
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img.tmp"
	cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
	if [ "$arch" = armel ]; then
		cp "$work/k/usr/lib/linux-image-$kver/bcm2835-rpi-zero.dtb" "$out/board.dtb"
		chmod 0644 "$out/board.dtb"
	fi
	chmod 0644 "$out/initrd.img.tmp" "$out/vmlinuz.tmp"
	mv "$out/initrd.img.tmp" "$out/initrd.img"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
}

# Set ARM_KERNEL, ARM_INITRD and ARM_DTB for Debian architecture $1, building first if needed.
ensure_arm_guest() {
	local arch=$1 cache key dir
	cache=${QVM_TEST_CACHE:-${QVM_BUILD_ROOT:+$QVM_BUILD_ROOT/test-cache}}
	cache=${cache:-/var/tmp/qvm-test-cache}
	key=$( (cat "${BASH_SOURCE[0]}"; arm_kernel_package "linux-image-$([ "$arch" = arm64 ] && echo arm64 || echo rpi):$arch") |
		sha256sum | cut -c1-12)
	dir=$cache/arm-guest-$arch-$key
	mkdir -p "$dir"
	chmod 0755 "$cache" "$dir"
	(
		flock 9
		if [ ! -s "$dir/initrd.img" ] || [ ! -s "$dir/vmlinuz" ]; then arm_build "$arch" "$dir"; fi
	) 9>"$dir/.lock"
	ARM_KERNEL=$dir/vmlinuz
	ARM_INITRD=$dir/initrd.img
	ARM_DTB=-
	[ "$arch" = armel ] && ARM_DTB=$dir/board.dtb
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	ensure_arm_guest "${1:?usage: arm-guest.sh arm64|armel}"
	echo "$ARM_KERNEL"
	echo "$ARM_INITRD"
	echo "$ARM_DTB"
fi
