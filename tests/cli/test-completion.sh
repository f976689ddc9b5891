#!/bin/bash
# test-completion.sh - the bash completion of qvm offers subcommands, options and the VM names of $QVM_CONFIG_DIR
set -u
src=$(cd "${QVM_SOURCE_ROOT:-$(dirname "$0")/../..}" && pwd)
qvm=${QVM_BUILD_ROOT:+$(cd "$QVM_BUILD_ROOT" && pwd)/helpers/qvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export QVM_CONFIG_DIR=$tmp
touch "$tmp/web.ini" "$tmp/db.ini" "$tmp/stage.ini" "$tmp/notes.txt"
mkdir "$tmp/cwd" && cd "$tmp/cwd" && touch other.ini readme.txt || exit 1
# shellcheck source=../../completion/qvm
source "$src/completion/qvm" || exit 1
fail=0

# expect WANT WORDS...: complete the last word of WORDS and compare the sorted candidates.
expect()
{
	local want=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_qvm
	local got
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	got=${got% }
	if [ "$got" != "$want" ]; then
		echo "FAIL: '$*' -> '$got', want '$want'"
		fail=1
	else
		echo "ok: '$*' -> '$got'"
	fi
}

expect "start status stop" qvm st
expect "check console" qvm c
expect "db stage web" qvm start ""
expect "stage" qvm status s
expect "" qvm start web ""
expect "db stage web" qvm ssh ""
expect "create delete list revert" qvm snapshot web ""
expect "grow" qvm disk ""
expect "db stage web" qvm disk grow ""
expect "db stage web" qvm monitor ""
expect "monitor" qvm mon
expect "--follow --help --lines" qvm logs --
expect "--json" qvm list --j
expect "list prune refresh" qvm image ""
expect "db stage web" qvm image refresh ""
expect "" qvm image list ""
expect "debian-12" qvm new x --image deb
expect "db other.ini stage web" qvm check ""
expect "" qvm new ""
# The names follow $QVM_CONFIG_DIR.
rm "$tmp/stage.ini"
expect "db web" qvm restart ""
# Every subcommand of qvm --help is completed.
if [ -n "$qvm" ]; then
	for cmd in $("$qvm" --help | awk '/^  [a-z]/ {print $1}'); do
		expect "$cmd" qvm "$cmd"
	done
fi
exit $fail
