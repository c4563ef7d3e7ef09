#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# hotport start-up times, exec -> ready line, median of RUNS (default 20)
# runs after 1 warm-up run, each with --no-huge and with hugepages:
#   primary     hotport-primary until "hotport-primary ready:" (shared
#               memory, request channel, packet pool, port table: the
#               counterpart of DPDK's rte_eal_init)
#   secondary   hotport-secondary against a running primary until
#               "hotport-secondary ready:" (connect, memory fds, map, join)
#   testpmd     hotport-primary with --vdev net_null0 --vdev net_null1 until
#               ready (hugepages only; the counterpart of dpdk-testpmd)
# Timed by hotport-bench-exec-timer (bench/dpdk/exec_timer.c). Every started
# process leaves at the end of its run (stdin closed), so nothing piles up.
set -u
. "$(dirname "$0")/lib.sh"
hp_build
RUNS=${RUNS:-20}
T=$HOTPORT_BUILD/bench/hotport-bench-exec-timer
PRI=$HOTPORT_BUILD/apps/primary/hotport-primary
SEC=$HOTPORT_BUILD/apps/secondary/hotport-secondary
hp_busy_check
echo "== hotport start-up time, exec -> ready, $RUNS runs"

huge_ok=1
hp_hugepages 80 || huge_ok=0

# time_primary KEY MEMORY [options...]
time_primary() {
	local key=$1 mem=$2; shift 2
	local log=$HP_WORK/$key.log
	echo "hotport-primary $mem memory $* (until 'hotport-primary ready:'):"
	timeout 60 "$T" -n "$RUNS" -T 10 -p "hotport-primary ready:" -r "hotport.startup.$key" \
		-l "$log" -- "$PRI" --file-prefix "${HP_PREFIX}-$key" --cmd - "$@" \
		|| echo "  (timing failed)"
	if ! grep -q "MiB of $mem memory" "$log"; then
		echo "  WARNING: the primary did not use $mem memory:"
		grep -m1 "primary ready" "$log" | sed 's/^/    /'
	fi
}

# time_secondary KEY [primary options...]
time_secondary() {
	local key=$1; shift
	local p=${HP_PREFIX}-$key
	echo "hotport-secondary against a primary $* (until 'hotport-secondary ready:'):"
	bench_bg "$HP_WORK" "$key-primary" "$PRI" --file-prefix "$p" "$@"
	local pid=$BENCH_BG_PID
	if ! bench_wait_line "$HP_WORK/$key-primary.log" "hotport-primary ready:" 15 "$pid"; then
		echo "  primary did not start:"; tail -3 "$HP_WORK/$key-primary.log"
		echo "RESULT hotport.startup.$key.error=\"primary did not start\""
		return
	fi
	timeout 60 "$T" -n "$RUNS" -T 10 -p "hotport-secondary ready:" -r "hotport.startup.$key" \
		-l "$HP_WORK/$key.log" -- "$SEC" --file-prefix "$p" || echo "  (timing failed)"
	bench_stop "$pid"
}

time_primary primary_eal_nohuge_ms ordinary --no-huge
time_secondary secondary_nohuge_ms --no-huge
if [ $huge_ok = 1 ]; then
	time_primary primary_eal_ms hugepage
	time_secondary secondary_ms
	time_primary testpmd_ms hugepage --vdev net_null0 --vdev net_null1
else
	echo "no free hugepages: the hugepage figures are skipped"
	for k in primary_eal_ms secondary_ms testpmd_ms; do
		echo "RESULT hotport.startup.$k.error=\"no free hugepages\""
	done
fi
exit 0
