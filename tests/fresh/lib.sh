# tests/fresh/lib.sh - shared parts of the fresh-machine tests: logging, skipping, cleanup stack.

SKIP=77
log() { printf '[fresh %s] %s\n' "$(date +%T)" "$*"; }
skip() { echo "SKIP: $*"; exit $SKIP; }
fail() { echo "FAIL: $*"; exit 1; }

# Run "$@" at exit, last registered first.
cleanups=()
at_exit() { cleanups=("$*" "${cleanups[@]}"); }
run_cleanups() {
	local status=$? c
	trap - EXIT
	for c in "${cleanups[@]}"; do
		eval "$c" || true
	done
	exit $status
}
trap run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Skip unless root with the tools the test needs.
need() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip "needs $t"
	done
}

# The Debian mirror this host's apt uses (one-line or deb822 sources), else deb.debian.org.
host_mirror() {
	{
		sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null
		awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ { print u; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null
	} | grep . | head -n1 || echo http://deb.debian.org/debian
}

# A fresh clone of the source tree's committed HEAD in @1.
fresh_clone() {
	git -c safe.directory='*' clone -q --no-hardlinks "$QVM_SOURCE_ROOT" "$1"
}
