#!/bin/bash
# bench/bench-boot.sh - raw QEMU boot of the locally built Debian image: seconds to ssh-ready.
#
# This is the baseline of the boot benchmark: the same image and the same kind of NoCloud seed,
# booted by a bare qemu-system-x86_64 (TCG, 2 vCPUs, 1G), timed from QEMU's start until the
# guest's sshd sends its banner (what qvm's `ready = ssh` waits for) and until `ssh dev@ true`
# logs in. The integration benchmark times `systemctl start qvm@NAME` against these numbers.
#
# Usage: bench/bench-boot.sh [--runs N] [--seconds]
#   --runs N     boot N times (default 1) and print each run and the mean
#   --seconds    print only the mean seconds to a working ssh login (for other scripts)
# Needs root the first time (it builds the image into $QVM_TEST_CACHE, see tests/lib/guest-image.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export QVM_SOURCE_ROOT=${QVM_SOURCE_ROOT:-$(dirname "$here")}
export QVM_BUILD_ROOT=${QVM_BUILD_ROOT:-$QVM_SOURCE_ROOT/build}
. "$QVM_SOURCE_ROOT/tests/lib/guest-image.sh"

runs=1
quiet=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--seconds) quiet=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-boot: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/qvm-bench-boot.XXXXXX")
trap 'guest_kill; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

image=$(ensure_guest_image)
results=()
for ((i = 1; i <= runs; i++)); do
	guest_boot_seconds "$image" "$work"
	r=$GUEST_BOOT_TIMES
	results+=("$r")
	[ $quiet = 1 ] || echo "raw qemu run $i: ssh banner after ${r% *} s, ssh login after ${r#* } s"
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
banner = sum(r[0] for r in rows) / len(rows)
login = sum(r[1] for r in rows) / len(rows)
if sys.argv[1] == "1":
    print(f"{login:.1f}")
else:
    print(f"raw qemu (TCG, 2 vCPUs, 1G), mean of {len(rows)}: ssh banner {banner:.1f} s, "
          f"ssh login {login:.1f} s")
' "$quiet"
