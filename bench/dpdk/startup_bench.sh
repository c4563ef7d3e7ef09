#!/bin/bash
# DPDK start-up times, exec -> ready, median of RUNS (default 10) runs each:
#   testpmd     dpdk-testpmd as primary with two net_null ports, until its
#               interactive "testpmd> " prompt (EAL init + pools + ports started)
#   primary     hotplug_bench as primary, until "ready" printed right after
#               rte_eal_init returns (EAL only, no ports)
#   secondary   hotplug_bench as secondary against a running primary, until
#               "ready" right after rte_eal_init returns
# Each started process exits cleanly (quit / return) so nothing piles up.
set -u
. "$(dirname "$0")/env.sh"
dpdk_require
dpdk_build
hp_setup 512
busy_check

RUNS=${RUNS:-10}
T=$OUT_DIR/exec_timer
BIN=$OUT_DIR/hotplug_bench
EAL=$(eal_common)
echo "== DPDK $(dpdk_version) start-up time, exec -> ready, $RUNS runs"

echo "dpdk-testpmd primary (-l 0-1, 2 x net_null, until 'testpmd> '):"
p=$(new_prefix tp)
timeout 55 "$T" -n "$RUNS" -T 10 -p "testpmd> " -s 'quit\n' -r dpdk.startup.testpmd_ms \
	-l "$WORKDIR/testpmd.log" -- \
	dpdk-testpmd -l 0-1 $EAL --file-prefix "$p" --vdev net_null0 --vdev net_null1 -- -i \
	|| echo "  (testpmd timing failed)"

echo "hotplug_bench primary (-l 0, until 'ready' after rte_eal_init):"
p=$(new_prefix prim)
timeout 30 "$T" -n "$RUNS" -T 10 -r dpdk.startup.primary_eal_ms -l "$WORKDIR/prim.log" -- \
	"$BIN" -l 0 $EAL --file-prefix "$p" --proc-type=primary -- --mode ready \
	|| echo "  (primary timing failed)"

echo "hotplug_bench secondary (-l 1, until 'ready' after rte_eal_init):"
p=$(new_prefix sec)
bench_bg "$WORKDIR" serve "$BIN" -l 0 $EAL --file-prefix "$p" --proc-type=primary -- --mode serve
if bench_wait_line "$WORKDIR/serve.log" '^ready' 20 "$BENCH_BG_PID"; then
	timeout 30 "$T" -n "$RUNS" -T 10 -r dpdk.startup.secondary_ms -l "$WORKDIR/sec.log" -- \
		"$BIN" -l 1 $EAL --file-prefix "$p" --proc-type=secondary -- --mode ready \
		|| echo "  (secondary timing failed)"
else
	echo "  primary did not start"; tail -3 "$WORKDIR/serve.log"
	echo 'RESULT dpdk.startup.secondary_ms.error="primary did not start"'
fi
bench_stop "$BENCH_BG_PID"
exit 0
