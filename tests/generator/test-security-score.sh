#!/bin/bash
# test-security-score.sh - systemd-analyze security rates every unit qvm ships or generates at most 3.0:
# the template qvm@.service (with a generated drop-in), qvm-fetch@.service, and a tap-mode forwarder.
# Offline (--offline=true --root=): no running systemd needed. The boot tests prove QEMU runs under it.
# Usage: test-security-score.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail
build=$1 src=$2
max=3.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

units=$tmp/root/etc/systemd/system
mkdir -p "$units" "$tmp/etc" "$tmp/gen"
for t in qvm@.service qvm-fetch@.service; do
	sed "s|@LIBEXECDIR@|/usr/libexec/qvm|g" "$src/units/$t.in" > "$units/$t"
done
cp "$src"/tests/golden/generator/11-tap-forwards/root/etc/qvm/*.ini "$tmp/etc/"
QVM_CONFIG_DIR="$tmp/etc" ASAN_OPTIONS=detect_leaks=0 "$build/generator/qvm-generator" "$tmp/gen" 2>/dev/null
cp -r "$tmp"/gen/qvm@*.service.d "$tmp"/gen/qvm-fwd-* "$units/"
vm=$(basename "$(ls -d "$tmp"/gen/qvm@*.service.d | head -1)" .service.d)
fwd=$(basename "$(ls "$tmp"/gen/qvm-fwd-*.service | head -1)")
[ -n "$fwd" ] || { echo "FAIL: the golden tap VM generated no forwarder"; exit 1; }

status=0
for unit in "$vm.service" "qvm-fetch@${vm#qvm@}.service" "$fwd"; do
	out=$(systemd-analyze security --no-pager --offline=true --root="$tmp/root" "$unit" 2>&1 || true)
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$score" ] || ! awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
		echo "FAIL $unit: exposure ${score:-unknown} > $max"; printf '%s\n' "$out" | grep -E '✗|Overall' | sed 's/^/  /'
		status=1
	else
		echo "ok   $unit: exposure $score <= $max"
	fi
done
exit $status
