# SPDX-License-Identifier: BSD-3-Clause
# Helpers of hotport's benchmark scripts. Source it; do not run it.
#
#   . "$(dirname "$0")/lib.sh"
#   hp_build                  builds hotport (meson + ninja) into $HOTPORT_BUILD
#   hp_hugepages NEED         makes sure NEED free 2 MiB hugepages exist
#   hp_busy_check             warns when other processes keep the CPUs busy
#   and proc.sh's bench_bg "$HP_WORK" NAME cmd..., bench_stop,
#   bench_wait_line, bench_track
#
# The EXIT trap stops every background process, removes the runtime dirs of
# this script's prefixes (/run/hotport/hpbench*-$$*) if something was left
# there, and puts nr_hugepages back unless someone changed it meanwhile.

HP_BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HP_TOP=$(dirname "$HP_BENCH_DIR")
HOTPORT_BUILD=${HOTPORT_BUILD:-$HP_TOP/build}
HP_PREFIX=hpbench$$
HP_WORK=$(mktemp -d /tmp/hotport-bench-sh.XXXXXX)
_hp_huge_orig=
_hp_huge_set=
. "$HP_BENCH_DIR/proc.sh"

hp_build() {
	if [ ! -f "$HOTPORT_BUILD/build.ninja" ]; then
		meson setup "$HOTPORT_BUILD" "$HP_TOP" >"$HP_WORK/setup.log" 2>&1 || {
			echo "ERROR: meson setup failed:"; tail -20 "$HP_WORK/setup.log"; exit 1; }
	fi
	ninja -C "$HOTPORT_BUILD" >"$HP_WORK/build.log" 2>&1 || {
		echo "ERROR: build failed:"; tail -30 "$HP_WORK/build.log"; exit 1; }
}

hp_rundir() {
	if [ "$(id -u)" = 0 ]; then echo /run/hotport; else echo "${XDG_RUNTIME_DIR:-/tmp}/hotport"; fi
}

# hp_hugepages NEED: raise nr_hugepages so that NEED pages are free (root only).
hp_hugepages() {
	local need=$1 f=/proc/sys/vm/nr_hugepages free total
	free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
	[ "${free:-0}" -ge "$need" ] && return 0
	[ "$(id -u)" = 0 ] || { echo "note: only $free hugepages free and not root"; return 1; }
	total=$(cat $f)
	[ -z "$_hp_huge_orig" ] && _hp_huge_orig=$total
	echo $((total + need - free)) >$f
	_hp_huge_set=$(cat $f)
	free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
	[ "$free" -ge "$need" ] || { echo "note: asked for $need free hugepages, got $free"; return 1; }
}

hp_busy_check() {
	local a b i busy=0 total=0
	a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
	for i in 1 2 3 6 7 8; do busy=$((busy + b[i] - a[i])); done
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	local pct=$((total > 0 ? busy * 100 / total : 0))
	if [ "$pct" -gt 15 ]; then
		echo "WARNING: the CPUs were ${pct}% busy just before this run (other processes); figures will be noisy"
	fi
}

_hp_cleanup() {
	local d
	bench_stop_all
	for d in "$(hp_rundir)/${HP_PREFIX}"*; do
		[ -d "$d" ] || continue
		echo "note: removing $d, left behind" >&2
		rm -rf "$d"
	done
	if [ -n "$_hp_huge_set" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$_hp_huge_set" ]; then
		echo "$_hp_huge_orig" >/proc/sys/vm/nr_hugepages
	fi
	if [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $HP_WORK" >&2
	else
		rm -rf "$HP_WORK"
	fi
}
trap _hp_cleanup EXIT
trap 'exit 130' INT TERM
