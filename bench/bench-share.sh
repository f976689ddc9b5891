#!/bin/bash
# bench/bench-share.sh - host directory shares: virtiofs and 9p against the guest's own disk, in one guest boot.
#
# One VM run by the real qvm-launch (as an unprivileged user, so QEMU gets qvm's own argv:
# memfd memory + vhost-user-fs for virtiofs, -fsdev local,security_model=mapped-xattr for 9p)
# with a virtiofs share served by the real qvm-virtiofsd, a 9p share, and its own disk (a
# qcow2 overlay on an ext4 base, like a VM's system disk: the baseline). The guest is Debian's
# generic kernel (tests/lib/generic-kernel.sh; the cloud kernel has no 9p) with a busybox
# initramfs whose /init measures, for each place, as the guest user (uid 1000):
#   write  dd a file of SIZE sequentially (conv=fsync), MiB/s
#   read   read it back after dropping the guest's page cache, MiB/s
#   untar  unpack a source tree (the kernel headers in the host's /usr/include, ~1000 files,
#          held in guest RAM) + sync, s
# then powers off. The host prints each figure with its ratio to the guest's disk.
# Timing is the guest's /proc/uptime (10 ms steps) under TCG, so absolute figures are TCG's;
# the ratios are the point.
#
# Usage: bench/bench-share.sh [--size MIB]     default 1024 (the 1 GiB of issue 17)
# Needs root (qvm-virtiofsd changes identity; QEMU runs as nobody).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export QVM_SOURCE_ROOT=${QVM_SOURCE_ROOT:-$(dirname "$here")}
export QVM_BUILD_ROOT=${QVM_BUILD_ROOT:-$QVM_SOURCE_ROOT/build}
# shellcheck source=tests/lib/generic-kernel.sh
. "$QVM_SOURCE_ROOT/tests/lib/generic-kernel.sh"
# shellcheck source=tests/lib/initramfs.sh
. "$QVM_SOURCE_ROOT/tests/lib/initramfs.sh"

size_mib=1024
while [ $# -gt 0 ]; do
	case $1 in
	--size) size_mib=${2:?--size needs MiB}; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-share: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $size_mib in '' | *[!0-9]*) echo "bench-share: --size takes MiB, a number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "bench-share: needs root" >&2; exit 2; }

work=$(mktemp -d /var/tmp/qvm-bench-share.XXXXXX)
vfsd_pid=
cleanup() {
	[ -z "$vfsd_pid" ] || kill "$vfsd_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0755 "$work"
vmuser=nobody
vmgroup=$(id -gn "$vmuser")
ensure_generic_kernel

# The initramfs: busybox, the modules, the tree to unpack, the benchmark as /init.
root=$work/initramfs
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,etc,bench/disk,bench/vfs,bench/9p}
cp /bin/busybox "$root/bin/busybox"
for f in $(generic_modules_closure virtio_pci virtio_blk crc32c_generic ext4 virtiofs 9pnet_virtio 9p); do
	initramfs_add_module "$f" "$root"
done
printf 'root:x:0:0::/:/bin/sh\ndev:x:1000:1000::/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ndev:x:1000:\n' >"$root/etc/group"
# The kernel's UAPI headers (linux-libc-dev, ~1000 files): under TCG a 9p untar manages a
# few files a second, so all of /usr/include (~9000) would take an hour.
tree=(asm-generic linux misc mtd rdma sound video xen x86_64-linux-gnu/asm)
tar -C /usr/include -cf "$root/tree.tar" "${tree[@]}"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo "BENCH-LOG: init started"
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko || echo "BENCH: insmod $m failed"; done
echo "BENCH-LOG: modules loaded"
size=$(sed -n 's/.*qvm.bench=\([0-9]*\).*/\1/p' /proc/cmdline)
mount -t ext4 /dev/vda /bench/disk && mount -t virtiofs vfs /bench/vfs &&
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 nine /bench/9p || echo "BENCH: mount failed"
chown 1000:1000 /bench/disk /bench/9p  # 9p: an xattr; virtiofs: already the owner's
echo "BENCH-LOG: mounted"
now() { cut -d' ' -f1 /proc/uptime; }
for place in disk vfs 9p; do
	d=/bench/$place
	echo "BENCH-LOG: $place"
	sync; echo 3 >/proc/sys/vm/drop_caches
	t0=$(now); su dev -c "dd if=/dev/zero of=$d/big bs=1M count=$size conv=fsync 2>/dev/null"; t1=$(now)
	sync; echo 3 >/proc/sys/vm/drop_caches
	t2=$(now); su dev -c "dd if=$d/big of=/dev/null bs=1M 2>/dev/null"; t3=$(now)
	su dev -c "rm $d/big"; sync; echo 3 >/proc/sys/vm/drop_caches
	t4=$(now); su dev -c "mkdir $d/untar && tar -C $d/untar -xf /tree.tar && sync"; t5=$(now)
	n=$(find $d/untar | wc -l)
	echo "BENCH: $place $t0 $t1 $t2 $t3 $t4 $t5 $n"
	rm -rf $d/untar
done
echo "BENCH: done"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"

# The guest's own disk: an empty ext4 base (big enough for the file) under a qcow2 overlay.
truncate -s $((size_mib + 1024))M "$work/base.raw"
mkfs.ext4 -q -F "$work/base.raw"
qemu-img convert -q -f raw -O qcow2 "$work/base.raw" "$work/base.qcow2"
rm "$work/base.raw"
qemu-img create -q -f qcow2 -F qcow2 -b "$work/base.qcow2" "$work/disk.qcow2"

mkdir -p "$work"/{vfs,9p,etc,state/bench,run/bench}
chown 1500:1500 "$work/vfs"     # virtiofs: guest uid 1000 acts as the directory's owner
chown "$vmuser:$vmgroup" "$work/9p" "$work/disk.qcow2" "$work/state/bench" "$work/run/bench"
mem=$((size_mib < 512 ? 1024 : 1536))
cat >"$work/etc/bench.ini" <<EOF
[vm]
accel = tcg
cpus = 2
memory = ${mem}M
shutdown-timeout = 10s
[network]
mode = none
[boot]
kernel = $GENERIC_KERNEL
initrd = $work/initrd.img
append = console=ttyS0 panic=-1 qvm.bench=$size_mib
[disk:root]
path = $work/disk.qcow2
[share:vfs]
path = $work/vfs
[share:nine]
path = $work/9p
mode = 9p
EOF
QVM_CONFIG_DIR=$work/etc QVM_RUNTIME_ROOT=$work/run QVM_VM_USER=$vmuser \
	"$QVM_BUILD_ROOT/helpers/qvm-virtiofsd" bench 2>"$work/virtiofsd.log" &
vfsd_pid=$!
for _ in $(seq 100); do [ -S "$work/run/bench/share-vfs.sock" ] && break; sleep 0.1; done
rc=0
setpriv --reuid="$vmuser" --regid="$vmgroup" --clear-groups \
	env QVM_CONFIG_DIR="$work/etc" QVM_STATE_ROOT="$work/state" QVM_RUNTIME_ROOT="$work/run" \
	ASAN_OPTIONS=verify_asan_link_order=0 timeout 3600 stdbuf -oL "$QVM_BUILD_ROOT/helpers/qvm-launch" bench >"$work/console.log" 2>&1 || rc=$?
if ! grep -q "BENCH: done" "$work/console.log" || grep -q "BENCH: .*failed" "$work/console.log"; then
	echo "bench-share: the guest did not finish (qvm-launch exit $rc); its console:" >&2
	cat "$work/console.log" >&2
	exit 1
fi

python3 - "$work/console.log" "$size_mib" <<'PY'
import sys
size = int(sys.argv[2])
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 9 and f[0] == "BENCH:":
        t = [float(x) for x in f[2:8]]
        rows[f[1]] = (size / max(t[1] - t[0], 0.01), size / max(t[3] - t[2], 0.01), t[5] - t[4], int(f[8]))
base = rows["disk"]
print(f"shares vs the guest's own disk: TCG, 2 vCPUs, {size} MiB file, untar of kernel headers ({base[3]} entries)")
print(f"{'':11} {'write MiB/s':>11} {'ratio':>6} {'read MiB/s':>11} {'ratio':>6} {'untar s':>8} {'ratio':>6}")
names = {"disk": "guest disk", "vfs": "virtiofs", "9p": "9p"}
for place in ("disk", "vfs", "9p"):
    w, r, u, _ = rows[place]
    print(f"{names[place]:11} {w:11.1f} {w / base[0]:6.2f} {r:11.1f} {r / base[1]:6.2f} {u:8.2f} {u / base[2]:6.2f}")
PY
