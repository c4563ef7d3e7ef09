#!/bin/bash
# rte_ring benchmarks (bench/dpdk/ring_pipeline.c):
#   - one core: bulk-32 SP/SC enqueue+dequeue cost, TSC cycles per element
#   - two processes: A (primary, lcore 0) allocates bursts of 32 mbufs and
#     enqueues them on ring 1; B (secondary, lcore 1) moves them to ring 2;
#     A dequeues and frees them.  Rate over SECONDS (default 3) in Mpps.
set -u
. "$(dirname "$0")/env.sh"
dpdk_require
dpdk_build
hp_setup 512
busy_check

SECONDS_RUN=${SECONDS_RUN:-3}
BIN=$OUT_DIR/ring_pipeline
EAL=$(eal_common)
p=$(new_prefix ring)
echo "== DPDK $(dpdk_version) rte_ring: single core and two-process pipeline"
bench_bg "$WORKDIR" a "$BIN" -l 0 $EAL --file-prefix "$p" --proc-type=primary -- --role a --seconds "$SECONDS_RUN"
a=$BENCH_BG_PID
if ! bench_wait_line "$WORKDIR/a.log" '^ready' 30 "$a"; then
	echo "process A did not start:"; tail -5 "$WORKDIR/a.log"
	echo 'RESULT dpdk.ring_pipeline.error="primary did not start"'
	exit 0
fi
timeout 30 "$BIN" -l 1 $EAL --file-prefix "$p" --proc-type=secondary -- --role b \
	>"$WORKDIR/b.log" 2>&1 || { echo "process B failed:"; tail -5 "$WORKDIR/b.log"; }
for i in $(seq 100); do kill -0 "$a" 2>/dev/null || break; sleep 0.1; done
wait "$a" 2>/dev/null
grep -E '^(dpdk|  per)' "$WORKDIR/a.log"
grep '^RESULT' "$WORKDIR/a.log"
exit 0
