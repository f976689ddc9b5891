#!/bin/bash
# generic-kernel.sh - fetch (once, cached) Debian's generic amd64 kernel, for guests that need 9p.
#
# Usage: tests/lib/generic-kernel.sh        prints two lines: the kernel image and its
#                                           module tree (.../lib/modules/KVER)
#        source tests/lib/generic-kernel.sh; ensure_generic_kernel   sets GENERIC_KERNEL,
#                                           GENERIC_MODULES
#        generic_modules_closure MODULE...  prints MODULE and what it needs, in load order
#
# Debian's cloud kernel (the tiny guest's, the test guest image's) has no 9p; the generic
# kernel (linux-image-amd64) builds 9p, 9pnet and 9pnet_virtio as modules. The package
# comes with `apt-get download` and is unpacked, not installed: the host keeps its kernel.
# Cached under $QVM_TEST_CACHE like tests/lib/tiny-guest.sh, keyed by the package's name
# (which carries the ABI version), built under a lock.
set -euo pipefail

# The kernel package behind linux-image-amd64 (linux-image-6.1.0-NN-amd64).
generic_kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}

# Download package $1 and unpack it into directory $2.
generic_fetch() {
	local pkg=$1 out=$2 work
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	chmod 0755 "$work"
	(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
		echo "generic-kernel: apt-get download $pkg failed" >&2
		return 1
	}
	rm -rf "$out/tree.tmp"
	mkdir -p "$out/tree.tmp"
	dpkg-deb -x "$work"/linux-image-*.deb "$out/tree.tmp"
	chmod -R a+rX "$out/tree.tmp"
	mv "$out/tree.tmp" "$out/tree"
}

# Set GENERIC_KERNEL and GENERIC_MODULES, fetching the kernel first if the cache lacks it.
ensure_generic_kernel() {
	local cache pkg dir kver
	cache=${QVM_TEST_CACHE:-${QVM_BUILD_ROOT:+$QVM_BUILD_ROOT/test-cache}}
	cache=${cache:-/var/tmp/qvm-test-cache}
	pkg=$(generic_kernel_package)
	[ -n "$pkg" ] || { echo "generic-kernel: apt knows no linux-image-amd64; run apt-get update" >&2; return 1; }
	dir=$cache/$pkg
	mkdir -p "$dir"
	chmod 0755 "$cache" "$dir"
	(
		flock 9
		[ -d "$dir/tree" ] || generic_fetch "$pkg" "$dir"
	) 9>"$dir/.lock"
	kver=$(ls "$dir/tree/boot" | sed -n 's/^vmlinuz-//p' | head -n1)
	GENERIC_KERNEL=$dir/tree/boot/vmlinuz-$kver
	GENERIC_MODULES=$dir/tree/lib/modules/$kver
}

# Print the module files that modules $@ need, dependencies first, each once.
generic_modules_closure() {
	local m f dep seen=" "
	visit() {
		case $seen in *" $1 "*) return 0 ;; esac
		seen="$seen$1 "
		f=$(find "$GENERIC_MODULES/kernel" -name "$1.ko*" | head -n1)
		[ -n "$f" ] || { echo "generic-kernel: module $1 missing" >&2; return 1; }
		for dep in $(modinfo -F depends "$f" | tr ',' ' '); do visit "$dep"; done
		find "$GENERIC_MODULES/kernel" -name "$1.ko*" | head -n1
	}
	for m in "$@"; do visit "$m"; done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	ensure_generic_kernel
	echo "$GENERIC_KERNEL"
	echo "$GENERIC_MODULES"
fi
