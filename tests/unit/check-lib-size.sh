#!/bin/sh
# check-lib-size.sh - no file in lib/ over 600 lines (issue 15): a file that long holds more than one job.
# Usage: check-lib-size.sh SOURCE_ROOT
wc -l "$1"/lib/*.c "$1"/lib/*.h | awk -v root="$1/" '
	$2 != "total" && $1 > 600 {
		sub(root, "", $2)
		print $2 ": " $1 " lines, over 600: split it by job (as config-*.c and firmware.c are)"
		bad = 1
	}
	END { exit bad }'
