#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite: installs what is missing, builds a normal and an
# AddressSanitizer+UndefinedBehaviorSanitizer tree, runs every test in
# both (integration tests with hugepages when the machine has them, and
# without), a ThreadSanitizer pass, and the fuzz targets for a minute each
# (scripts/fuzz.sh), and prints one closing line: "N passed, N failed,
# N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
./scripts/deps.sh || exit 1

# Hugepages: reserve a few when we may and none are there; tests pass
# either way (the memory falls back to ordinary pages).
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
	cur=$(cat /proc/sys/vm/nr_hugepages)
	[ "$cur" -lt 128 ] && echo 128 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
fi
echo "hotport: hugepages free: $(awk '/HugePages_Free/ {print $2}' /proc/meminfo)"

passed=0 failed=0 skipped=0
# Every instance and temporary directory the tests make is named after
# this run's tag (HOTPORT_TEST_TAG: hp_test_prefix in tests/support,
# hp.prefix in tests/integration/hp.py); one of them left at the end is a
# leak. Other instances on the machine, and other runs, are not looked at.
export HOTPORT_TEST_TAG="hpt$$-$(date +%s)"
rundir=/run/hotport; [ "$(id -u)" -ne 0 ] && rundir=${XDG_RUNTIME_DIR:-/tmp}/hotport
run_suite() { # NAME BUILDDIR [meson test args...]
	local name=$1 dir=$2
	shift 2
	echo "== $name"
	# Every result line, and the whole log of any test that failed.
	meson test -C "$dir" --print-errorlogs "$@" 2>&1 | grep -v -E '^(Expected Fail|Unexpected Pass|Full log written to)' 
	cp "$dir/meson-logs/testlog.txt" "$dir/meson-logs/testlog-${name//[^a-zA-Z0-9]/_}.txt" 2>/dev/null
	local j="$dir/meson-logs/testlog.json"
	if [ -f "$j" ]; then
		read -r p f s < <(python3 - "$j" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	else
		failed=$((failed + 1))
	fi
}

scripts/build.sh build || { echo "0 passed, 1 failed"; exit 1; }
run_suite "unit, integration and torture tests" build
HOTPORT_TEST_NO_HUGE=1 run_suite "again with --no-huge" build --no-suite torture

scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
HOTPORT_TEST_SLOWDOWN=3 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	HOTPORT_TORTURE_CYCLES=1000 run_suite "under AddressSanitizer + UndefinedBehaviorSanitizer" build-asan

# ThreadSanitizer: the tests whose threads share the protocol's state.
scripts/build.sh build-tsan -Db_sanitize=thread -Db_lundef=false || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
HOTPORT_TEST_SLOWDOWN=3 HOTPORT_TORTURE_CYCLES=300 run_suite "under ThreadSanitizer" build-tsan \
	port ring_driver fwd ipc ipc_wire ipc_calls ring mbuf torture

# libFuzzer: each target for HOTPORT_FUZZ_SECONDS (default 60), one test
# per target; skipped, with the reason, where clang or libFuzzer cannot be had.
fuzz_secs=${HOTPORT_FUZZ_SECONDS:-60}
echo "== fuzzing with libFuzzer, $fuzz_secs s per target"
fuzz_log=$(mktemp)
scripts/fuzz.sh "$fuzz_secs" 2>&1 | grep -v '^fuzz: ' | tee "$fuzz_log"
p=$(grep -c '^PASS ' "$fuzz_log") f=$(grep -c '^FAIL ' "$fuzz_log") s=$(grep -c '^SKIP ' "$fuzz_log")
[ $((p + f + s)) -eq 0 ] && f=1
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
rm -f "$fuzz_log"

echo "== runtime and temporary dirs of this run ($HOTPORT_TEST_TAG-*) left behind"
left=$(ls -d "$rundir/$HOTPORT_TEST_TAG"-* /tmp/"$HOTPORT_TEST_TAG"-* 2>/dev/null)
if [ -n "$left" ]; then
	echo "FAIL: left behind: $(echo $left)"
	failed=$((failed + 1))
else
	echo "ok: none"
	passed=$((passed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
