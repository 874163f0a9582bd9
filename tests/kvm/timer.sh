#!/usr/bin/env bash
# PIT channel 0 interrupts through IOAPIC pin 0 and LAPIC timer interrupts
# arrive at about the programmed rate.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest timer
expect_pass
expect_out '^ok: PIT channel 0 at 1000 Hz through IOAPIC pin 0: [0-9]+ interrupts'
expect_out '^ok: none in 20 ms once the pin is masked \(0\)$'
expect_out '^ok: LAPIC timer one-shot \(5 ms\): 1 interrupt\(s\)'
expect_out '^ok: LAPIC timer periodic at 1000 Hz: [0-9]+ interrupts'
echo PASS
