#!/usr/bin/env bash
# SMP start-up (INIT-SIPI-SIPI) with 1, 2 and 4 vCPUs; and a program told
# to expect more CPUs than the VM has must fail, naming the missing ones.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

for n in 1 2 4; do
	run_guest smp --cpus $n --cmdline "cpus=$n"
	expect_pass
	expect_out "^ok: $((n - 1)) of $((n - 1)) AP\(s\) arrived"
	expect_out "^ok: $n CPU\(s\) online$"
	for ((id = 1; id < n; id++)); do
		expect_out "^AP with LAPIC id $id checked in$"
		expect_out "^ok: CPUID.1 on LAPIC id $id reports APIC id $id$"
	done
	expect_no_out "^AP with LAPIC id $n checked in$"
done

run_guest smp --cpus 2 --cmdline "cpus=4 timeout_ms=100"
expect_exit 3
expect_out '^FAIL: 1 of 3 AP\(s\) arrived'
expect_out '^FAIL: the CPU with LAPIC id 3 ran its function$'
echo PASS
