#!/bin/bash
# tests/e2e/test-guest-image-uefi.sh - the locally built Debian image also boots from its own disk
# under UEFI (OVMF, no Secure Boot): GRUB's removable-media loader on the ESP finds the root and
# the kernel starts systemd from it. Stops once systemd runs from that root, to keep the run
# short; the BIOS test does the full cloud-init and ssh round trip.
set -euo pipefail
: "${QVM_SOURCE_ROOT:?run me through meson test}"
. "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"

if [ "$(id -u)" != 0 ] && [ -z "${QVM_GUEST_IMAGE:-}" ]; then
	echo "SKIP: building the guest image needs root (or set QVM_GUEST_IMAGE)"
	exit 77
fi
# shellcheck disable=SC2034  # read by guest_start (tests/lib/guest-image.sh)
GUEST_FIRMWARE=uefi
for f in "$GUEST_OVMF_CODE" "$GUEST_OVMF_VARS"; do
	[ -r "$f" ] || { echo "FAIL: $f missing (ovmf in packages/run.txt)"; exit 1; }
done

fail() {
	echo "FAIL: $*"
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/qvm-e2e-uefi.XXXXXX")
guest_cleanup_on_exit "$work"

image=$(ensure_guest_image) || fail "could not build the guest image"
# shellcheck disable=SC2034  # read by guest_start
GUEST_DIR=$work
guest_start "$image"
guest_wait_console "systemd[1]: Queued start job for default target" 600 || fail "systemd never started from the image's root"
grep -q 'efi: EFI v' "$work/console.log" || fail "the kernel did not come up through UEFI"
grep -q 'Command line: BOOT_IMAGE=/vmlinuz root=UUID=' "$work/console.log" ||
	fail "the kernel was not started by the image's GRUB"
guest_qmp '{"execute": "quit"}' >/dev/null || true
guest_kill
echo "PASS"
