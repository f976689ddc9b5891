# shellcheck shell=bash
# tests/lib/initramfs.sh - kernel modules for the initramfs trees that tests and benchmarks build.

# Copy module file @1 (.ko, .ko.xz or .ko.zst) uncompressed to @2/lib/modules/NAME.ko and append
# NAME to @2/etc/modules, the list the guests' /init loads in order.
initramfs_add_module() {
	local file=$1 root=$2 name
	name=$(basename "$file")
	name=${name%%.ko*}
	case $file in
	*.xz) xz -dc "$file" >"$root/lib/modules/$name.ko" ;;
	*.zst) zstd -qdc "$file" >"$root/lib/modules/$name.ko" ;;
	*) cp "$file" "$root/lib/modules/$name.ko" ;;
	esac
	echo "$name" >>"$root/etc/modules"
}
