#!/bin/sh
# check-lib-size.sh - no file in lib/ over 600 lines (issue 15): a file that long holds more than one job.
# Usage: check-lib-size.sh SOURCE_ROOT
status=0
for f in "$1"/lib/*.c "$1"/lib/*.h; do
	n=$(wc -l <"$f")
	if [ "$n" -gt 600 ]; then
		echo "${f#"$1"/}: $n lines, over 600: split it by job (as config-*.c and firmware.c are)"
		status=1
	fi
done
exit $status
