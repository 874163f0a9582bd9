#!/usr/bin/env bash
# The guest runtime's own exception and interrupt paths: claimed faults
# resume, unclaimed ones are reported with vector and error code and end
# the program with status 5.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest exceptions
expect_pass
expect_out '^ok: a selector past the GDT raised #GP once with error code 0x18'
expect_out '^ok: a self-IPI reached vector 0x66 \(1\)$'

run_guest exceptions --cmdline unhandled=ud
expect_exit 5
expect_out '^FAIL: exception 6 \(#UD invalid opcode\), error code 0x0, at eip 0x[0-9a-f]+, cpu 0$'

run_guest exceptions --cmdline unhandled=gp
expect_exit 5
expect_out '^FAIL: exception 13 \(#GP general protection\), error code 0x18, at eip'

run_guest exceptions --cmdline unhandled=irq
expect_exit 5
expect_out '^FAIL: unexpected interrupt, vector 0x66, at eip'
echo PASS
