#!/bin/bash
# tests/e2e/test-guest-image.sh - the locally built Debian image boots from its own disk under raw
# QEMU, takes a NoCloud seed, lets the seed's user in over ssh, grows its root and powers off on
# the ACPI power button. This is the baseline the seed and integration tests build on.
set -euo pipefail
: "${QVM_SOURCE_ROOT:?run me through meson test}"
. "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"

if [ "$(id -u)" != 0 ] && [ -z "${QVM_GUEST_IMAGE:-}" ]; then
	echo "SKIP: building the guest image needs root (or set QVM_GUEST_IMAGE)"
	exit 77
fi
for tool in qemu-system-x86_64 qemu-img cloud-localds ssh ssh-keygen python3; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (packages/run.txt)"; exit 1; }
done

fail() {
	echo "FAIL: $*"
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/qvm-e2e-guest.XXXXXX")
guest_cleanup_on_exit "$work"

image=$(ensure_guest_image) || fail "could not build the guest image"
before=$(stat -c '%s %Y' "$image")
guest_init "$work"
guest_make_seed e2e-guest
# The overlay is bigger than the image (2G): cloud-init must grow the root partition.
guest_start "$image" 3G
started=$SECONDS
guest_wait_ssh 900 || fail "ssh as dev with the seed's key never worked"
echo "ssh ready after $((SECONDS - started)) s"

status=$(guest_ssh cloud-init status --wait </dev/null) || fail "cloud-init status --wait failed: $status"
echo "$status"
[ "$(echo "$status" | tail -n1)" = "status: done" ] || fail "cloud-init did not finish cleanly"
[ "$(guest_ssh hostname </dev/null)" = e2e-guest ] || fail "hostname from meta-data not applied"
cmdline=$(guest_ssh cat /proc/cmdline </dev/null)
[[ $cmdline == *BOOT_IMAGE=* ]] || fail "not booted by GRUB from its own disk: $cmdline"
[[ $cmdline == *console=ttyS0* ]] || fail "no serial console on the kernel command line"
root_bytes=$(guest_ssh df -B1 --output=size / </dev/null | tail -n1 | tr -d ' ')
[ "$root_bytes" -gt $((2560 * 1024 * 1024)) ] || fail "root fs not grown to the 3G disk ($root_bytes)"
sudo_out=$(guest_ssh sudo -n true </dev/null 2>&1) || fail "dev has no passwordless sudo: $sudo_out"
[ -z "$sudo_out" ] || fail "sudo complains (is /etc/hosts managed?): $sudo_out"
grep -q 'Debian GNU/Linux 12' "$work/console.log" || fail "no guest output on the serial console"

guest_powerdown 180 || fail "QEMU did not exit cleanly after system_powerdown"
grep -q 'reboot: Power down' "$work/console.log" || fail "the guest did not shut itself down"
[ "$(stat -c '%s %Y' "$image")" = "$before" ] || fail "the cached image was written to"
echo "PASS"
