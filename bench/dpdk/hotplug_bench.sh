#!/bin/bash
# DPDK attach/detach cycle times: rte_dev_probe("net_null0") +
# rte_eth_dev_get_port_by_name + rte_dev_remove, timed per cycle.
#   1. in the primary (N=2000 cycles by default, PRIMARY_CYCLES=...)
#   2. in a secondary, against a primary serving in sigwait(), with 0, 1 and 3
#      extra idle secondaries (SECONDARY_CYCLES=500 by default: each cycle
#      takes milliseconds there)
# Prints figures and RESULT lines; bounded to well under 60 s.
set -u
. "$(dirname "$0")/env.sh"
dpdk_require
dpdk_build
hp_setup 512
busy_check

PRIMARY_CYCLES=${PRIMARY_CYCLES:-2000}
SECONDARY_CYCLES=${SECONDARY_CYCLES:-500}
BIN=$OUT_DIR/hotplug_bench
EAL=$(eal_common)
echo "== DPDK $(dpdk_version) hotplug: attach/detach cycles of net_null0"

# 1. primary alone
p=$(new_prefix prim)
timeout 50 "$BIN" -l 0 $EAL --file-prefix "$p" --proc-type=primary -- \
	--mode cycles -n "$PRIMARY_CYCLES" --tag primary >"$WORKDIR/prim.log" 2>&1
rc=$?
grep -E '^(dpdk|  |RESULT)' "$WORKDIR/prim.log"
[ $rc = 0 ] || { echo "primary run failed (exit $rc):"; tail -5 "$WORKDIR/prim.log"; }

# 2. from a secondary, with 0, 1, 3 idle secondaries
p=$(new_prefix serve)
bench_bg "$WORKDIR" serve "$BIN" -l 0 $EAL --file-prefix "$p" --proc-type=primary -- --mode serve
srv=$BENCH_BG_PID
if ! bench_wait_line "$WORKDIR/serve.log" '^ready' 20 "$srv"; then
	echo "serving primary did not start:"; tail -5 "$WORKDIR/serve.log"
	echo 'RESULT dpdk.attach_detach.secondary.error="serving primary did not start"'
	exit 0
fi
idle=()
cpu0=$(proc_cpu_ms "$srv"); t0=$(date +%s%N)
for extra in 0 1 3; do
	while [ ${#idle[@]} -lt $extra ]; do
		i=${#idle[@]}
		bench_bg "$WORKDIR" "idle$i" "$BIN" -l 1 $EAL --file-prefix "$p" --proc-type=secondary -- --mode serve
		pid=$BENCH_BG_PID
		bench_wait_line "$WORKDIR/idle$i.log" '^ready' 20 "$pid" || {
			echo "idle secondary $i did not start:"; tail -3 "$WORKDIR/idle$i.log"; }
		idle+=("$pid")
	done
	tag=secondary.idle$extra
	timeout 25 "$BIN" -l 1 $EAL --file-prefix "$p" --proc-type=secondary -- \
		--mode cycles -n "$SECONDARY_CYCLES" --tag "$tag" >"$WORKDIR/$tag.log" 2>&1
	rc=$?
	grep -E '^(dpdk|  |RESULT)' "$WORKDIR/$tag.log"
	if [ $rc = 124 ]; then
		echo "dpdk attach/detach $tag: TIMED OUT after 25 s"
		echo "RESULT dpdk.attach_detach.$tag.error=\"timeout\""
	elif [ $rc != 0 ]; then
		echo "dpdk attach/detach $tag: exit $rc; last EAL lines:"
		grep -v '^RESULT' "$WORKDIR/$tag.log" | tail -4 | sed 's/^/    /'
	fi
done
# CPU used by the serving primary (all its threads) while secondaries hotplugged.
cpu1=$(proc_cpu_ms "$srv"); t1=$(date +%s%N)
wall=$(( (t1 - t0) / 1000000 ))
echo "serving primary used $((cpu1 - cpu0)) ms CPU during the $wall ms of secondary runs" \
	"($(( (cpu1 - cpu0) * 100 / (wall > 0 ? wall : 1) ))% of a core; 0 ms when no request is in flight)"
for pid in "${idle[@]}"; do bench_stop "$pid"; done
bench_stop "$srv"
exit 0
