# SPDX-License-Identifier: MIT
# Shared by the test scripts (scripts/test*.sh): `. scripts/lib.sh` from the
# source root. POSIX sh, like the scripts.

# configure DIR [ARG...]: `meson setup DIR ARG...`, or, when DIR is already
# set up, `meson setup --reconfigure DIR ARG...`.
configure() {
	cfg_dir=$1
	shift
	if [ -d "$cfg_dir/meson-private" ]; then
		meson setup --reconfigure "$cfg_dir" "$@"
	else
		meson setup "$cfg_dir" "$@"
	fi
}

# One failure policy for every script that runs several targets (steps,
# architectures, PE targets): each target runs even when an earlier one
# failed; `report WHAT` then lists what failed and what was skipped, and
# exits 1 when anything failed, 0 otherwise. A skip is not a failure.
#   run_target NAME COMMAND [ARG...]  runs it, exit status in $target_rc
#                                     (77 counts as a skip); returns 0
#   skip_target NAME WHY              a target that cannot run here
lib_failed=""
lib_skipped=""

run_target() {
	rt_name=$1
	shift
	if "$@"; then
		target_rc=0
	else
		target_rc=$?
	fi
	if [ "$target_rc" -eq 77 ]; then
		lib_skipped="$lib_skipped $rt_name"
	elif [ "$target_rc" -ne 0 ]; then
		lib_failed="$lib_failed $rt_name"
	fi
	return 0
}

skip_target() {
	echo "${0##*/}: $1: SKIP, $2"
	lib_skipped="$lib_skipped $1"
}

report() {
	echo
	[ -z "$lib_skipped" ] || echo "${0##*/}: skipped $1:$lib_skipped"
	if [ -n "$lib_failed" ]; then
		echo "${0##*/}: FAILED $1:$lib_failed"
		exit 1
	fi
	echo "${0##*/}: all $1 passed"
	exit 0
}
