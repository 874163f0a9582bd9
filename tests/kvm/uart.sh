#!/usr/bin/env bash
# COM1 passes Linux's 8250 probe as a 16550A, loops bytes back through its
# FIFO, and raises its THRE interrupt through IOAPIC pin 4 (gated by OUT2).
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest uart
expect_pass
expect_out '^ok: loopback test: MSR status bits 0x90'
expect_out '^ok: FIFO detection: IIR 0xc1 with FIFOs on: bits 7:6 = 3 \(16550A\)$'
expect_out '^ok: loopback returned 16 byte\(s\) "16550A loopback"'
expect_out '^ok: no interrupt while MCR OUT2 is off \(0 seen\)$'
expect_out '^ok: THRE interrupt through IOAPIC pin 4, vector 0x34 \(1 seen\)$'
expect_out '^ok: no further interrupt once acknowledged \(1 in all\)$'
echo PASS
