#!/bin/bash
# tiny-guest.sh - build (once, cached) a tiny test guest: Debian's cloud kernel + a busybox initramfs.
#
# Usage: tests/lib/tiny-guest.sh          prints two lines: KERNEL and INITRD paths
#        source tests/lib/tiny-guest.sh; ensure_tiny_guest   sets TINY_KERNEL, TINY_INITRD
#
# The guest boots in a few seconds under TCG and behaves like a well-mannered VM:
#  - prints "qvm-tiny-guest: booted" on the serial console (ttyS0);
#  - with a virtio NIC: brings eth0 up with qvm.ip=ADDR/PREFIX[,GATEWAY] from the
#    kernel command line, default 10.0.2.15/24 (QEMU user networking);
#  - answers "SSH-2.0-qvm-tiny-guest" on TCP port 22 (what ready = ssh waits for);
#  - lists the virtio disks it sees ("qvm-tiny-guest: disk vda 2097152 sectors");
#  - prints "qvm-ready: cloud-init finished" when qvm.mark is on the command line,
#    standing in for the line a qvm seed makes cloud-init print;
#  - powers off on the ACPI power button ("qvm-tiny-guest: powering off"), unless
#    qvm.noacpi is on the command line: then it ignores the button, like a hung guest;
#  - runs a shell on the console, so a console client can type into it.
# Recommended kernel command line: console=ttyS0 panic=-1
#
# Built images are cached under $QVM_TEST_CACHE (default $QVM_BUILD_ROOT/test-cache,
# else /var/tmp/qvm-test-cache), keyed by this script's hash and the kernel version,
# built under a lock so parallel tests wait rather than build twice. The cache is
# world-readable, so an unprivileged qvm user can boot the guest too.
set -euo pipefail

# The modules the guest needs, in load order (the cloud kernel builds them as modules).
TINY_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
virtio_blk failover net_failover virtio_net button evdev"

# Print the newest installed Debian cloud kernel version, or fail.
tiny_kernel_version() {
	local v
	v=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n1 || true)
	if [ -z "$v" ] || [ ! -d "/lib/modules/$v" ]; then
		echo "tiny-guest: no Debian cloud kernel; apt-get install linux-image-cloud-amd64" >&2
		return 1
	fi
	echo "$v"
}

# Write the guest's /init into $1.
tiny_write_init() {
	cat >"$1" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
cmdline=$(cat /proc/cmdline)
echo "qvm-tiny-guest: booted"

ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
	addr=10.0.2.15/24 gw=10.0.2.2
	for w in $cmdline; do
		case $w in qvm.ip=*) v=${w#qvm.ip=}; addr=${v%%,*}; gw=; [ "$v" != "$addr" ] && gw=${v#*,};; esac
	done
	ip link set eth0 up
	ip addr add "$addr" dev eth0
	[ -n "$gw" ] && ip route add default via "$gw"
	echo "qvm-tiny-guest: eth0 $addr"
fi
(while :; do nc -l -p 22 -e /bin/ssh-banner; done) &

for d in /sys/block/vd*; do
	[ -e "$d" ] && echo "qvm-tiny-guest: disk ${d##*/} $(cat $d/size) sectors"
done

case " $cmdline " in *" qvm.noacpi "*) echo "qvm-tiny-guest: ignoring ACPI";;
	*) acpid -d -c /etc/acpi &;;
esac
case " $cmdline " in *" qvm.mark "*) echo "qvm-ready: cloud-init finished";; esac

while :; do setsid cttyhack sh </dev/ttyS0 >/dev/ttyS0 2>&1; done &
while :; do sleep 3600; done
INIT
	chmod 0755 "$1"
}

# Build kernel + initramfs into directory $1 for kernel version $2.
tiny_build() {
	local out=$1 kver=$2 root m f
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root"/{bin,dev,proc,sys,etc/acpi/PWRF,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	tiny_write_init "$root/init"
	printf '#!/bin/sh\necho SSH-2.0-qvm-tiny-guest\nsleep 1\n' >"$root/bin/ssh-banner"
	printf '#!/bin/sh\necho "qvm-tiny-guest: powering off"\npoweroff -f\n' \
		>"$root/etc/acpi/PWRF/00000080"
	chmod 0755 "$root/bin/ssh-banner" "$root/etc/acpi/PWRF/00000080"
	for m in $TINY_MODULES; do
		f=$(find "/lib/modules/$kver/kernel" -name "$m.ko*" | head -n1)
		[ -n "$f" ] || { echo "tiny-guest: module $m missing in $kver" >&2; return 1; }
		case $f in
		*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
		*) cp "$f" "$root/lib/modules/$m.ko" ;;
		esac
		echo "$m" >>"$root/etc/modules"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img.tmp"
	cp "/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
	chmod 0644 "$out/initrd.img.tmp" "$out/vmlinuz.tmp"
	mv "$out/initrd.img.tmp" "$out/initrd.img"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
}

# Set TINY_KERNEL and TINY_INITRD, building the guest first if the cache lacks it.
ensure_tiny_guest() {
	local cache kver key dir
	cache=${QVM_TEST_CACHE:-${QVM_BUILD_ROOT:+$QVM_BUILD_ROOT/test-cache}}
	cache=${cache:-/var/tmp/qvm-test-cache}
	kver=$(tiny_kernel_version)
	key=$( (cat "${BASH_SOURCE[0]}"; echo "$kver") | sha256sum | cut -c1-12)
	dir=$cache/tiny-guest-$key
	mkdir -p "$dir"
	chmod 0755 "$cache" "$dir"
	(
		flock 9
		if [ ! -s "$dir/initrd.img" ] || [ ! -s "$dir/vmlinuz" ]; then tiny_build "$dir" "$kver"; fi
	) 9>"$dir/.lock"
	TINY_KERNEL=$dir/vmlinuz
	TINY_INITRD=$dir/initrd.img
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	ensure_tiny_guest
	echo "$TINY_KERNEL"
	echo "$TINY_INITRD"
fi
