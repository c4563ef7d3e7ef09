# SPDX-License-Identifier: BSD-3-Clause
# Background processes of the benchmark scripts; lib.sh (hotport) and
# dpdk/env.sh (DPDK) source it. Source it; do not run it.
#
#   bench_bg DIR NAME cmd...   starts cmd with its output in DIR/NAME.log and
#                              its pid in BENCH_BG_PID (not inside $(...))
#   bench_track PID            has bench_stop_all stop PID too
#   bench_stop PID             SIGTERM, up to 10 s, then SIGKILL
#   bench_wait_line FILE REGEX SECS [PID]
#                              waits until FILE has a line matching REGEX;
#                              fails after SECS, or at once when PID exits
#   bench_stop_all             stops every process started or tracked

_bench_pids=()
BENCH_BG_PID=

bench_bg() {
	local dir=$1 name=$2; shift 2
	"$@" </dev/null >"$dir/$name.log" 2>&1 &
	BENCH_BG_PID=$!
	_bench_pids+=("$BENCH_BG_PID")
}

bench_track() {
	_bench_pids+=("$1")
}

bench_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

bench_wait_line() {
	local file=$1 re=$2 secs=$3 pid=${4:-} i
	for i in $(seq $((secs * 50))); do
		grep -Eq "$re" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
		sleep 0.02
	done
	return 1
}

bench_stop_all() {
	local pid
	for pid in "${_bench_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && bench_stop "$pid"
	done
}
