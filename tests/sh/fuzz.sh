#!/usr/bin/env bash
# Every libFuzzer target (tests/fuzz/fuzz-*.c, built by `make fuzz` with
# clang, ASan and UBSan) runs for DPVM_FUZZ_SECONDS (default 10) from an
# empty corpus: a crash, a leak, a sanitizer report or a timeout fails the
# test and leaves the reproducer in build/fuzz/crashes/.  The unit tests
# replay fixed inputs through the same entry points with gcc; this runs the
# real fuzzers so that `make check` finds what new code lets through.
. "$(dirname "$0")/../lib.sh"
command -v "${FUZZ_CC:-clang}" >/dev/null || skip "clang not found; run scripts/install-deps"
secs=${DPVM_FUZZ_SECONDS:-10}
out=$DPVM_TOP/build/fuzz/crashes
make -s -C "$DPVM_TOP" -j"$(nproc)" fuzz >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make fuzz failed"; }
mkdir -p "$out"
n=0
for src in "$DPVM_TOP"/tests/fuzz/fuzz-*.c; do
	name=$(basename "$src" .c)
	bin=$DPVM_TOP/build/fuzz/$name
	[ -x "$bin" ] || fail "$name: make fuzz did not build $bin"
	mkdir -p "$T/$name"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$T/$name" >"$T/$name.log" 2>&1; then
		tail -n 40 "$T/$name.log"
		fail "$name: the fuzzer found a failure (reproducer: $(ls -t "$out/$name-"* 2>/dev/null | head -1))"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$name.log")
	cov=$(grep -o 'cov: [0-9]*' "$T/$name.log" | tail -1)
	[ "${execs:-0}" -gt 0 ] || { tail -n 20 "$T/$name.log"; fail "$name: ran no input"; }
	printf '%-20s %9s inputs in %ss, %s\n' "$name" "$execs" "$secs" "$cov"
	n=$((n + 1))
done
[ $n -gt 0 ] || fail "no fuzz target under tests/fuzz"
echo "PASS: $n fuzz targets"
