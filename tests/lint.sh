#!/bin/sh
# Static analysis of skeys' own C code (common, formats, tool, runtime):
#   lint.sh clang-tidy SRC BUILD   checks in SRC/.clang-tidy, compile_commands.json of BUILD
#   lint.sh cppcheck SRC BUILD      BUILD: for the generated arch-list.h, format-list.h
# Exit 0 clean, 1 findings, 77 when the tool is not installed.
set -eu
tool=$1
src=$2
cd "$src"
# Other hosts' OS ports (windows.c, darwin.c) need their SDK: checked by their builds.
files=$(find common formats tool runtime -name '*.c' ! -name windows.c ! -name darwin.c | sort)

case $tool in
clang-tidy)
	build=$3
	ct=$(command -v clang-tidy || command -v clang-tidy-14 || true)
	if [ -z "$ct" ]; then
		echo "SKIP: clang-tidy not found (apt-get install clang-tidy)"
		exit 77
	fi
	# A few files per clang-tidy process, one process per core: alone it
	# took most of the lint suite's time on CI's two cores. xargs exits
	# non-zero when any process found a problem.
	# shellcheck disable=SC2086
	printf '%s\n' $files | xargs -P "$(nproc 2>/dev/null || echo 2)" -n 6 "$ct" -p "$build" --quiet
	;;
cppcheck)
	if ! command -v cppcheck >/dev/null 2>&1; then
		echo "SKIP: cppcheck not found (apt-get install cppcheck)"
		exit 77
	fi
	# One configuration: the one that is built (x86-64 ELF, GNU C).
	# shellcheck disable=SC2086
	exec cppcheck --quiet --enable=warning,portability,performance --std=c11 \
		--error-exitcode=1 --inline-suppr --suppress=missingIncludeSystem \
		-I include -I common -I "$3/common" -I formats -I "$3/formats" -I tool -I runtime \
		-D__x86_64__ -D__GNUC__ -D__ELF__ -D__linux__ -DSKEYS_VERSION='"lint"' -DSKEYS_HAVE_CAPSTONE \
		$files
	;;
*)
	echo "usage: lint.sh clang-tidy|cppcheck SRC BUILD" >&2
	exit 64
	;;
esac
