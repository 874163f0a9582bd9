#!/usr/bin/env bash
# The trapped port I/O benchmark runs, checks its scratch-register values,
# and prints a well-formed RESULT line (the figures are not judged here;
# scripts/bench compares them).  port= and op= make it a status-read loop.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

num='[1-9][0-9]*'
run_guest portio-bench --cmdline iters=20000
expect_pass
expect_out '^ok: the scratch register read back every value written \(0 wrong\)$'
expect_out "^RESULT portio port=0x3ff op=rw iters=20000 round_trips=40000 cycles_per_trip=$num ns_per_trip=$num round_trips_per_sec=$num tsc_khz=$num\$"

run_guest portio-bench --cmdline "port=0x64 op=in iters=5000"
expect_pass
expect_out "^RESULT portio port=0x64 op=in iters=5000 round_trips=5000 cycles_per_trip=$num "

run_guest portio-bench --cmdline "op=bogus"
expect_exit 7
run_guest portio-bench --cmdline "iters=12x"
expect_exit 7
expect_out '^FAIL: cmdline: iters= wants a decimal or 0x-prefixed number$'
echo PASS
