#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a Windows test program under wine in the prefix $WINEPREFIX, which the
# first of several concurrent tests creates (run-pe.py takes the same lock).
# Exit: the program's status, 1 if it exited 0 without printing OK last;
# 77 (skip) when wine is missing.
set -eu
command -v wine >/dev/null 2>&1 || { echo "wine not found: skipped" >&2; exit 77; }
: "${WINEPREFIX:?WINEPREFIX must be set}"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# meson points LD_LIBRARY_PATH at the build's DLLs: nothing for wine itself.
unset DISPLAY LD_LIBRARY_PATH
mkdir -p "$(dirname "$WINEPREFIX")"
(
	flock 9
	if [ ! -e "$WINEPREFIX/system.reg" ]; then
		# Our WINEPATH must not end up in the new prefix.
		env -u WINEPATH wine wineboot --init >/dev/null 2>&1
		wineserver -w
	fi
) 9>"$WINEPREFIX.lock"
# wine exits 0 from some crashes (a stack overflow while dispatching an
# exception, seen here), so the program must also print OK as its last line.
# wine may fail to reach its wineserver ("wine client error", seen when a
# server was exiting as this program started): the program did not run, so
# it runs again, up to three times.
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
attempt=1
while :; do
	status=0
	wine "$@" >"$out" 2>"$err" || status=$?
	cat "$out"
	cat "$err" >&2
	grep -q 'wine client error' "$err" || break
	if [ "$attempt" -ge 3 ]; then
		echo "wine lost its wineserver $attempt times" >&2
		exit 1
	fi
	echo "[attempt $attempt: wine lost its wineserver; running $1 again]" >&2
	attempt=$((attempt + 1))
	sleep 1
done
if [ "$status" -ne 0 ]; then
	exit "$status"
fi
if [ "$(tail -n 1 "$out" | tr -d '\r')" != OK ]; then
	echo "$1 exited 0 without printing OK: it crashed" >&2
	exit 1
fi
