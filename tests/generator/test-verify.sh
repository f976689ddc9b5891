#!/bin/bash
# test-verify.sh - systemd-analyze verify is clean on qvm@.service plus generated drop-ins.
# Usage: test-verify.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/units" "$tmp/etc" "$tmp/gen" "$tmp/libexec"
# Helpers the units name must exist for verify: the built ones, or the
# launcher standing in for those that are not built.
for h in qvm-launch qvm-image qvm-seed qvm-net qvm-machine; do
	if [ -e "$build/helpers/$h" ]; then ln -s "$build/helpers/$h" "$tmp/libexec/$h"
	else ln -s "$build/helpers/qvm-launch" "$tmp/libexec/$h"; fi
done
# The shipped templates run every helper: point each Exec line at the stand-ins.
for t in qvm@.service qvm-fetch@.service; do
	sed -E "s|^(Exec[A-Za-z]*=[-+]*)[^ ]*/(qvm-[a-z]+)|\1$tmp/libexec/\2|" "$build/units/$t" > "$tmp/units/$t"
done
for vm in "$src"/tests/golden/generator/{01,02,04,09,11}-*/root/etc/qvm/*.ini; do
	cp "$vm" "$tmp/etc/"
done
QVM_CONFIG_DIR="$tmp/etc" QVM_LIBEXECDIR="$tmp/libexec" ASAN_OPTIONS=detect_leaks=0 \
	"$build/generator/qvm-generator" "$tmp/gen"
cp -r "$tmp"/gen/qvm@*.service.d "$tmp/units/"
cp "$tmp"/gen/qvm-fwd-* "$tmp/units/"   # tap-mode forwards: sockets + socket-proxyd services

status=0
count=0
for d in "$tmp"/units/qvm@*.service.d; do
	unit=$(basename "$d" .d)
	ln -sf qvm@.service "$tmp/units/$unit"
	ln -sf qvm-fetch@.service "$tmp/units/qvm-fetch@${unit#qvm@}"
	count=$((count + 1))
	out=$(cd "$tmp/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$tmp/units/$unit" 2>&1) || status=1
	# Only complaints about our files count; the host's own units are not ours to judge.
	ours=$(printf '%s\n' "$out" | grep -E "qvm@|$tmp" || true)
	if [ -n "$ours" ] || [ $status -ne 0 ]; then
		echo "FAIL $unit"; printf '%s\n' "$out" | sed 's/^/  /'; status=1
	else
		echo "ok   $unit (with $(ls "$d"))"
	fi
done
for sock in "$tmp"/units/qvm-fwd-*.socket; do
	count=$((count + 1))
	out=$(cd "$tmp/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$sock" 2>&1) || status=1
	if printf '%s\n' "$out" | grep -qE "qvm-fwd|$tmp"; then
		echo "FAIL $(basename "$sock")"; printf '%s\n' "$out" | sed 's/^/  /'; status=1
	else
		echo "ok   $(basename "$sock") (and its socket-proxyd service)"
	fi
done
[ "$count" -ge 8 ] || { echo "FAIL: expected at least 8 generated units, got $count"; status=1; }
exit $status
