# Common helpers for the DPDK comparison benchmarks.  Source it; do not run it.
#
#   . "$(dirname "$0")/env.sh"
#   dpdk_require            # prints SKIP and exits 0 when DPDK is missing
#   dpdk_build              # builds bench/out/dpdk/* when sources are newer
#   hp_setup 512            # hugepages + a private hugetlbfs mount; restored on exit
#   and ../proc.sh's bench_bg "$WORKDIR" NAME cmd..., bench_stop,
#   bench_wait_line, bench_track
#
# Everything this file changes (nr_hugepages, the hugetlbfs mount, DPDK runtime
# dirs under /var/run/dpdk/<prefix>, background processes) is undone by the
# EXIT trap it installs.

BENCH_DPDK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$BENCH_DPDK_DIR")
OUT_DIR=${BENCH_OUT:-$BENCH_DIR/out}/dpdk
PREFIX_BASE=hpbench$$
WORKDIR=$(mktemp -d /tmp/hotport-bench.XXXXXX)

_HP_ORIG=
_HP_SET=
HUGEDIR=
. "$BENCH_DIR/proc.sh"

dpdk_require() {
	if ! pkg-config --exists libdpdk 2>/dev/null || ! command -v dpdk-testpmd >/dev/null 2>&1; then
		echo "SKIP: DPDK is not installed (libdpdk pkg-config file or dpdk-testpmd missing);"
		echo "      run bench/dpdk/setup.sh to install Debian's dpdk packages."
		rm -rf "$WORKDIR"
		exit 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: the DPDK benchmarks need root (hugepages, hugetlbfs mount)."
		rm -rf "$WORKDIR"
		exit 0
	fi
}

dpdk_version() { pkg-config --modversion libdpdk; }

dpdk_build() {
	"$BENCH_DPDK_DIR/build.sh" >"$WORKDIR/build.log" 2>&1 || {
		echo "ERROR: build failed:"; cat "$WORKDIR/build.log"; exit 1; }
}

# A new EAL file prefix; its runtime dir is removed on exit.
new_prefix() {
	echo "${PREFIX_BASE}_$1"
}

# hp_setup PAGES: make sure at least PAGES 2 MiB hugepages exist and mount a
# private hugetlbfs (passed to DPDK with --huge-dir "$HUGEDIR").
hp_setup() {
	local need=$1 f=/proc/sys/vm/nr_hugepages
	_HP_ORIG=$(cat $f)
	if [ "$_HP_ORIG" -lt "$need" ]; then
		echo "$need" >$f
		_HP_SET=$(cat $f)
		if [ "$_HP_SET" -lt "$need" ]; then
			echo "note: asked for $need hugepages, the kernel gave $_HP_SET" >&2
		fi
	fi
	HUGEDIR=$WORKDIR/huge
	mkdir -p "$HUGEDIR"
	mount -t hugetlbfs -o pagesize=2M nodev "$HUGEDIR" || {
		echo "SKIP: cannot mount hugetlbfs on $HUGEDIR"; exit 0; }
}

_bench_cleanup() {
	bench_stop_all
	if [ -n "$HUGEDIR" ] && mountpoint -q "$HUGEDIR"; then
		umount "$HUGEDIR" || umount -l "$HUGEDIR"
	fi
	rm -rf /var/run/dpdk/"${PREFIX_BASE}"_*
	# Put nr_hugepages back, unless somebody else changed it meanwhile.
	if [ -n "$_HP_SET" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$_HP_SET" ]; then
		echo "$_HP_ORIG" >/proc/sys/vm/nr_hugepages
	fi
	if [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $WORKDIR" >&2
	else
		rm -rf "$WORKDIR"
	fi
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM

# EAL options every DPDK process of these benchmarks gets.
eal_common() {
	echo "--no-pci --huge-dir $HUGEDIR --log-level=lib.eal:error"
}

# proc_cpu_ms PID: user+system CPU time of a process (all threads), in ms.
proc_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat"
}

# busy_check: sample /proc/stat for 1 s and warn when other processes keep the
# CPUs busy (shared machine): the figures will then be noisy.
busy_check() {
	local a b
	a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
	local busy=0 total=0 i
	for i in 1 2 3 6 7 8; do busy=$((busy + b[i] - a[i])); done
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	local pct=$((total > 0 ? busy * 100 / total : 0))
	if [ "$pct" -gt 15 ]; then
		echo "WARNING: the CPUs were ${pct}% busy just before this run (other processes);" \
			"figures will be noisy"
	fi
}
