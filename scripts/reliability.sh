#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The reliability and security figures, from real runs: kills and stalls
# survived, a secondary in another PID namespace, 64 secondaries, leaked
# slots, fds and bytes after 2,000 cycles and after the kills, bad inputs
# refused, fuzz executions (SECONDS per target, default 60; 0 skips the
# fuzzing). Prints each test's own "figure:" lines, then one summary table.
#   scripts/reliability.sh [SECONDS]
set -uo pipefail
secs=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./scripts/deps.sh >/dev/null || exit 1
scripts/build.sh build >/dev/null || { echo "build failed"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== crashes, stalls, namespaces, limits (tests/unit/test_reliability.c)"
./build/tests/test_reliability 2>/dev/null | tee -a "$out" | grep -E '^figure:|FAILED'
echo "== bad inputs (tests/unit/test_bad_input.c)"
HOTPORT_PCI_ACCESS=dump:/dev/null ./build/tests/test_bad_input 2>/dev/null | tee -a "$out" | grep -E '^bad inputs:|FAILED'
if [ "$secs" != 0 ]; then
	echo "== fuzzing, $secs s per target (scripts/fuzz.sh)"
	scripts/fuzz.sh "$secs" 2>&1 | grep -E '^(PASS|FAIL|SKIP) ' | tee -a "$out"
fi

kills=$(grep -oE 'kills survived [0-9]+/[0-9]+' "$out" | grep -oE '[0-9]+/[0-9]+')
stalls=$(grep -oE 'stalls survived [0-9]+/[0-9]+' "$out" | grep -oE '[0-9]+/[0-9]+')
bad=$(grep -oE '^bad inputs: [0-9]+ devargs, [0-9]+ commands, [0-9]+ options' "$out" |
	grep -oE '[0-9]+' | awk '{ s += $1 } END { print s }')
execs=$(grep -oE '^PASS fuzz_[a-z]+: [0-9]+ executions' "$out" | grep -oE '[0-9]+ executions' |
	awk '{ s += $1 } END { print s + 0 }')
crashes=$(grep -c '^FAIL fuzz_' "$out")
echo
echo "==== reliability figures"
printf '%-48s %s\n' "secondaries SIGKILLed during hotplug, survived" "${kills:-not run}"
printf '%-48s %s\n' "stalled secondaries (SIGSTOP), survived" "${stalls:-not run}"
printf '%-48s %s\n' "secondary in another PID namespace" \
	"$(grep -q 'PID namespace: works, buffers reclaimed' "$out" && echo works || echo FAILED)"
printf '%-48s %s\n' "64 secondaries at once" \
	"$(grep -q '64 secondaries at once saw' "$out" && echo works || echo FAILED)"
printf '%-48s %s\n' "leaked slots / fds / heap bytes after the kills" \
	"$(sed -nE 's/.*leaked slots ([0-9]+), fds ([-+]?[0-9]+), heap bytes ([-+]?[0-9]+).*/\1 \/ \2 \/ \3/p' "$out")"
printf '%-48s %s\n' "2,000 cycles: fds / heap bytes / primary RSS KiB" \
	"$(grep -oE 'cycles: fds [-+]?[0-9]+, heap bytes [-+]?[0-9]+, primary RSS [-+]?[0-9]+' "$out" | grep -oE '[-+]?[0-9]+' | tr '\n' ' ' | awk '{ print $1 " / " $2 " / " $3 }')"
printf '%-48s %s\n' "bad inputs refused with one clear line" "${bad:-not run}"
printf '%-48s %s\n' "fuzz executions (all targets), crashes" "${execs:-0}, $crashes"
grep -q FAILED "$out" && exit 1
[ "$crashes" -eq 0 ]
