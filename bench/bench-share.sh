#!/bin/bash
# bench/bench-share.sh - host directory shares: virtiofs and 9p against the guest's own disk, in one guest boot.
#
# Boots the locally built Debian guest (tests/lib/guest-image.sh) under raw QEMU (TCG) with a
# virtiofs share served by qvm-virtiofsd (the real helper: virtiofsd as the directory's owner in
# a user namespace) and a 9p share (security_model=mapped-xattr, as qvm configures it), then in
# the guest, for each of the guest's own disk (the baseline), virtiofs and 9p:
#   write  dd a file of SIZE sequentially (conv=fsync), MiB/s
#   read   read it back after dropping the guest's page cache, MiB/s
#   untar  unpack a source tree (the host's /usr/include/linux: many small files), seconds
# and prints each figure with its ratio to the guest disk. Where the guest kernel has no 9p
# (Debian's cloud kernel), the 9p rows say so instead of a number.
#
# Usage: bench/bench-share.sh [--small]
#   --small   a 64 MiB file instead of 1 GiB (quick runs)
# Needs root (it builds the image on first use and runs qvm-virtiofsd).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export QVM_SOURCE_ROOT=${QVM_SOURCE_ROOT:-$(dirname "$here")}
export QVM_BUILD_ROOT=${QVM_BUILD_ROOT:-$QVM_SOURCE_ROOT/build}
. "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"

size_mib=1024
case ${1:-} in
--small) size_mib=64 ;;
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
'') ;;
*) echo "bench-share: unknown argument '$1'" >&2; exit 2 ;;
esac

work=$(mktemp -d /var/tmp/qvm-bench-share.XXXXXX)
vfsd_pid=
cleanup() {
	guest_kill
	[ -z "$vfsd_pid" ] || kill "$vfsd_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0755 "$work"

image=$(ensure_guest_image)
guest_init "$work"
guest_make_seed bench-share >/dev/null
mkdir -p "$work/vfs" "$work/9p" "$work/cfg" "$work/run"
tar -C /usr/include -cf "$work/vfs/tree.tar" linux
cp "$work/vfs/tree.tar" "$work/9p/tree.tar"
chown -R 1000:1000 "$work/vfs" "$work/9p"     # the guest user dev acts as their owner
cat >"$work/cfg/bench.ini" <<INI
[boot]
kernel = /nonexistent
[share:vfs]
path = $work/vfs
INI
QVM_CONFIG_DIR=$work/cfg QVM_RUNTIME_ROOT=$work/run QVM_VM_USER=root \
	"$QVM_BUILD_ROOT/helpers/qvm-virtiofsd" bench 2>"$work/virtiofsd.log" &
vfsd_pid=$!
for _ in $(seq 50); do [ -S "$work/run/bench/share-vfs.sock" ] && break; sleep 0.1; done

qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$work/disk.qcow2" 6G
GUEST_PORT=$(guest_free_port)
qemu-system-x86_64 -nodefaults -display none -accel tcg -machine q35,memory-backend=mem -cpu max -smp 2 -m 1G \
	-object memory-backend-memfd,id=mem,size=1G,share=on \
	-drive file="$work/disk.qcow2",if=virtio,format=qcow2 \
	-drive file="$work/seed.iso",if=virtio,format=raw,readonly=on \
	-chardev socket,id=vfs,path="$work/run/bench/share-vfs.sock" -device vhost-user-fs-pci,chardev=vfs,tag=vfs \
	-fsdev local,id=nine,path="$work/9p",security_model=mapped-xattr,multidevs=remap \
	-device virtio-9p-pci,fsdev=nine,mount_tag=nine \
	-netdev user,id=net0,hostfwd=tcp:127.0.0.1:$GUEST_PORT-:22 -device virtio-net-pci,netdev=net0 \
	-chardev file,id=console,path="$work/console.log" -serial chardev:console \
	-qmp unix:"$work/qmp.sock",server=on,wait=off &
GUEST_PID=$!
guest_wait_ssh 900

# One guest script measures all three places; it prints "PLACE write MiB/s read MiB/s untar s".
guest_ssh "sudo bash -s $size_mib" <<'GUEST' >"$work/results"
set -e
size=$1
mkdir -p /bench/disk /bench/vfs /bench/9p
mount -t virtiofs vfs /bench/vfs
cp /bench/vfs/tree.tar /bench/disk/tree.tar
nine=yes
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 nine /bench/9p 2>/dev/null || nine=no
now() { date +%s.%N; }
for place in disk vfs 9p; do
	d=/bench/$place
	if [ $place = 9p ] && [ $nine = no ]; then echo "9p none none none"; continue; fi
	t0=$(now); dd if=/dev/zero of=$d/big bs=1M count=$size conv=fsync status=none; t1=$(now)
	sync; echo 3 > /proc/sys/vm/drop_caches
	t2=$(now); dd if=$d/big of=/dev/null bs=1M status=none; t3=$(now)
	t4=$(now); mkdir -p $d/untar; tar -C $d/untar -xf /bench/disk/tree.tar; sync; t5=$(now)
	rm -rf $d/big $d/untar
	awk -v p=$place -v s=$size -v a=$t0 -v b=$t1 -v c=$t2 -v e=$t3 -v f=$t4 -v g=$t5 \
		'BEGIN { printf "%s %.1f %.1f %.2f\n", p, s / (b - a), s / (e - c), g - f }'
done
GUEST
guest_powerdown 120 || true

python3 - "$work/results" "$size_mib" <<'PY'
import sys
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1]) if l.strip()}
base = [float(x) for x in rows["disk"]]
print(f"shares vs the guest's own disk (TCG, {sys.argv[2]} MiB file, untar of /usr/include/linux)")
print(f"{'':10} {'write MiB/s':>12} {'ratio':>6} {'read MiB/s':>11} {'ratio':>6} {'untar s':>8} {'ratio':>6}")
names = {"disk": "guest disk", "vfs": "virtiofs", "9p": "9p"}
for place in ("disk", "vfs", "9p"):
    v = rows.get(place, ["none"] * 3)
    if v[0] == "none":
        print(f"{names[place]:10} {'n/a: the guest kernel has no 9p':>50}")
        continue
    w, r, u = map(float, v)
    print(f"{names[place]:10} {w:12.1f} {w / base[0]:6.2f} {r:11.1f} {r / base[1]:6.2f} {u:8.2f} {u / base[2]:6.2f}")
PY
