#!/bin/bash
# dpdk-testpmd io forwarding between two net_null ports, one forwarding lcore:
#   dpdk-testpmd -l 0-1 --no-pci --vdev net_null0 --vdev net_null1 -- -i \
#       --forward-mode=io --burst=32
# driven through its command line on a FIFO: start, show port stats all, then
# DURATION times (default 5) { wait 1 s, show port stats all }, stop, quit.
# Each show gives testpmd's own "Rx-pps (since last show)" per port; the rate
# reported is the mean over the 1-s intervals of the sum over both ports (the
# spread is printed too: this VM is noisy).  The "stop" totals over the
# script's own clock are printed as a check.
set -u
. "$(dirname "$0")/env.sh"
dpdk_require
hp_setup 512
busy_check

DURATION=${DURATION:-5}
EAL=$(eal_common)
p=$(new_prefix fwd)
fifo=$WORKDIR/cmd.fifo
log=$WORKDIR/testpmd.log
mkfifo "$fifo"
exec 3<>"$fifo"   # keeps the FIFO open for writing; testpmd reads commands from it

cmdline="dpdk-testpmd -l 0-1 $EAL --file-prefix $p --vdev net_null0 --vdev net_null1 -- -i --forward-mode=io --burst=32"
echo "== DPDK $(dpdk_version) testpmd io forwarding, net_null0 <-> net_null1, ${DURATION} s"
echo "   $cmdline"
$cmdline <"$fifo" >"$log" 2>&1 &
tp=$!
bench_track "$tp"

if ! bench_wait_line "$log" 'testpmd> ' 30 "$tp"; then
	echo "testpmd did not reach its prompt:"; tail -8 "$log"
	echo 'RESULT dpdk.testpmd.io_fwd_null.error="testpmd did not start"'
	exit 0
fi
# CPU time (user + system, clock ticks) of testpmd's forwarding lcore thread
# (rte-worker-1) from start to stop: with the Rx count it gives a rate per
# CPU-second, which other load on the machine moves much less than Mpps.
# (testpmd's main lcore polls its command line, so the process's time would
# not do.)
fwd_task=
for t in /proc/$tp/task/*; do
	case $(cat "$t/comm" 2>/dev/null) in *worker*) fwd_task=$t; break ;; esac
done
cpu_ticks() { [ -n "$fwd_task" ] && awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$fwd_task/stat" 2>/dev/null; }
c0=$(cpu_ticks)
echo "start" >&3
echo "show port stats all" >&3
t0=$(date +%s%N)
for i in $(seq "$DURATION"); do
	sleep 1
	echo "show port stats all" >&3
done
echo "stop" >&3
t1=$(date +%s%N)
sleep 0.3	# let testpmd stop its lcore
c1=$(cpu_ticks)
echo "quit" >&3
for i in $(seq 200); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
kill -0 "$tp" 2>/dev/null && { echo "testpmd did not quit; stopping it"; bench_stop "$tp"; }
wait "$tp" 2>/dev/null
exec 3>&-

# Rx-pps of every show after the first (two values per show), summed per show.
per_s=$(awk '/Rx-pps:/ { v[n++] = $2 } END { for (i = 2; i + 1 < n; i += 2) printf "%.2f ", (v[i] + v[i+1]) / 1e6 }' "$log")
pps=$(echo "$per_s" | awk '{ for (i = 1; i <= NF; i++) s += $i; if (NF) printf "%d", s / NF * 1e6 }')
fwd=$(awk '/Accumulated forward statistics/ { getline; print $2 }' "$log")
if [ -z "$pps" ] || [ "$pps" = 0 ]; then
	echo "could not read Rx-pps from testpmd's output:"; tail -20 "$log"
	echo 'RESULT dpdk.testpmd.io_fwd_null.error="no Rx-pps in output"'
	exit 0
fi
mpps=$(awk -v p="$pps" 'BEGIN { printf "%.2f", p / 1e6 }')
check=$(awk -v n="${fwd:-0}" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", n / ((t1 - t0) / 1e9) / 1e6 }')
echo "   per 1-s interval, both ports, Mpps: $per_s"
echo "   check: ${fwd:-?} packets forwarded between start and stop, ${check} Mpps by the script's clock"
per_cpu=$(awk -v n="${fwd:-0}" -v c0="${c0:-0}" -v c1="${c1:-0}" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { if (c1 > c0 && n > 0) printf "%.2f", n / ((c1 - c0) / hz) / 1e6 }')
[ -n "$per_cpu" ] && echo "   testpmd's forwarding lcore used $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) ms CPU from start to stop: $per_cpu Mpps per CPU-second"
echo "dpdk io fwd null: $mpps Mpps"
echo "RESULT dpdk.testpmd.io_fwd_null.mpps=$mpps"
[ -n "$per_cpu" ] && echo "RESULT dpdk.testpmd.io_fwd_null.mpps_per_cpu=$per_cpu"
exit 0
