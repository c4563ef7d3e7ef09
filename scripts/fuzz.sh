#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fuzzes the IPC message decoder, the devargs parser and the command
# parser with libFuzzer, SECONDS each (default 60): installs clang and the
# libFuzzer runtime if missing, builds build-fuzz (clang, ASan+UBSan,
# -Dfuzz=true), and runs each target on a copy of its seed corpus
# (tests/fuzz/corpus/<target> is never written to) with its dictionary.
# Prints one line per target, "PASS|FAIL|SKIP fuzz_<target>: ...", with the
# executions run, then "fuzz: N passed, N failed, N skipped". Exits 1 if a
# target crashed or broke an invariant (its log and reproducer stay in
# build-fuzz/fuzz-out/<target>/), 0 otherwise; a machine where clang or
# libFuzzer cannot be had skips every target, with the reason.
set -uo pipefail
secs=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
targets=(ipc devargs cli)
# Longest input per target: past each parser's own limit, so that the
# length checks are fuzzed too (a whole IPC datagram; 1024-character
# devargs; 4096-byte command lines).
declare -A max_len=([ipc]=8300 [devargs]=1100 [cli]=4200)

case "$secs" in
''|*[!0-9]*|0) echo "usage: $0 [SECONDS]  (a whole number above 0)" >&2; exit 2 ;;
esac

skip_all() {
	for t in "${targets[@]}"; do
		echo "SKIP fuzz_$t: $1"
	done
	echo "fuzz: 0 passed, 0 failed, ${#targets[@]} skipped"
	exit 0
}

./scripts/deps.sh clang libclang-rt-dev >/dev/null 2>&1 ||
	skip_all "clang and the libFuzzer runtime (libclang-rt-dev) are not installed and cannot be"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; return (int)n * 0; }' \
	>"$probe/p.c"
clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1 ||
	skip_all "clang cannot link -fsanitize=fuzzer,address,undefined here"

if ! CC=clang scripts/build.sh build-fuzz -Dfuzz=true -Dtests=false \
	-Db_sanitize=address,undefined -Db_lundef=false; then
	for t in "${targets[@]}"; do
		echo "FAIL fuzz_$t: build-fuzz does not build"
	done
	echo "fuzz: 0 passed, ${#targets[@]} failed, 0 skipped"
	exit 1
fi

passed=0 failed=0
for t in "${targets[@]}"; do
	out=build-fuzz/fuzz-out/$t
	rm -rf "$out"
	mkdir -p "$out/corpus" "$out/crash"
	cp tests/fuzz/corpus/$t/* "$out/corpus/"
	# UBSan stops at the first report, so libFuzzer keeps the input.
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-print_final_stats=1 -dict="tests/fuzz/dict/$t.dict" \
		-max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$out/crash/" "$out/corpus" >"$out/log" 2>&1
	st=$?
	execs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$out/log")
	if [ "$st" -eq 0 ] && [ -n "$execs" ]; then
		echo "PASS fuzz_$t: $execs executions in $secs s, no crash"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	crash=$(ls "$out/crash" 2>/dev/null | head -1)
	echo "FAIL fuzz_$t: exit status $st after ${execs:-?} executions;" \
		"log $out/log${crash:+, reproducer $out/crash/$crash}"
	grep -E -m5 'invariant failed|ERROR: |SUMMARY: |runtime error' "$out/log" | sed 's/^/    /'
done
echo "fuzz: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
