#!/bin/bash
# Build the DPDK comparison programs into bench/out/dpdk/ (outside git).
# Links DPDK through pkg-config; exec_timer needs no DPDK.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${BENCH_OUT:-$(dirname "$here")/out}/dpdk
mkdir -p "$out"
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g -Wall -Wextra -Wno-unused-parameter}

if [ ! -x "$out/exec_timer" ] || [ "$here/exec_timer.c" -nt "$out/exec_timer" ]; then
	"$CC" -std=gnu11 $CFLAGS -o "$out/exec_timer" "$here/exec_timer.c"
fi

if ! pkg-config --exists libdpdk; then
	echo "build.sh: libdpdk not found by pkg-config; DPDK programs not built" >&2
	exit 0
fi
dpdk_cflags=$(pkg-config --cflags libdpdk)
dpdk_libs=$(pkg-config --libs libdpdk)
for p in hotplug_bench ring_pipeline pcap_replay; do
	if [ ! -x "$out/$p" ] || [ "$here/$p.c" -nt "$out/$p" ]; then
		"$CC" -std=gnu11 $CFLAGS $dpdk_cflags -o "$out/$p" "$here/$p.c" $dpdk_libs -lpthread
	fi
done
echo "built into $out"
