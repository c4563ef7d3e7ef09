#!/bin/bash
# Run every DPDK comparison benchmark, then list all RESULT lines together.
# Each benchmark is bounded (timeout 90 s as a safety net; each takes < 60 s).
here=$(cd "$(dirname "$0")" && pwd)
if ! pkg-config --exists libdpdk 2>/dev/null || ! command -v dpdk-testpmd >/dev/null 2>&1; then
	echo "SKIP: DPDK is not installed; run bench/dpdk/setup.sh"
	exit 0
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for b in hotplug_bench startup_bench testpmd_null_fwd ring_pipeline; do
	timeout -k 5 90 "$here/$b.sh" 2>&1 | tee -a "$tmp"
	echo
done
echo "== RESULT lines"
grep '^RESULT ' "$tmp"
exit 0
