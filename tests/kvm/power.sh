#!/usr/bin/env bash
# How a guest stops, and dpvm's exit status for each: S5 (0), reset with
# --on-reboot exit (4), pvpanic (6), triple fault (8); a reset with
# --on-reboot restart boots the guest again with RAM kept and the image,
# IOAPIC, LAPIC and APs reset.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest power --cmdline action=s5
expect_exit 0
expect_out '^power: S5 through PM1a_CNT'
expect_no_out 'FAIL|still running'

run_guest power --cmdline action=reset --on-reboot exit
expect_exit 4
expect_out '^power: reset through the ACPI reset register'
expect_no_out 'FAIL|still running'

run_guest power --cmdline action=panic
expect_exit 6
expect_out '^power: pvpanic reports events 0x3; writing 1'
expect_no_out 'FAIL|still running'

run_guest power --cmdline action=triple
expect_exit 8
expect_out '^power: triple fault'
expect_no_out 'FAIL|still running'
grep -q 'triple-faulted' "$T/dpvm.err" || fail "dpvm did not say the vCPU triple-faulted"

# the default --on-reboot is restart: boot twice, then exit code 17
run_guest power --cmdline action=reboot
expect_exit 35
[ "$(grep -c '^runtime: loader' "$out")" -eq 2 ] || fail "expected 2 boots"
expect_out '^ok: boot 2: .data holds its initial value \(0x1234\)$'
expect_out '^ok: boot 2: the LAPIC is disabled again'
expect_out '^ok: boot 2: IOAPIC pin 4 is masked again'
expect_out '^power: 1 reset\(s\) done; exiting with code 17$'
expect_no_out '^FAIL'

# three resets with an AP that must come back each time
run_guest power --cpus 2 --on-reboot restart --cmdline "action=reboot resets=3 cpus=2"
expect_exit 35
[ "$(grep -c '^AP with LAPIC id 1 checked in$' "$out")" -eq 4 ] || fail "expected the AP in each of 4 boots"
expect_out '^ok: boot 4: 1 of 1 AP\(s\) started$'
expect_no_out '^FAIL'

# a bad action is a usage error of the program
run_guest power --cmdline action=hibernate
expect_exit 7
expect_out '^FAIL: action=hibernate'
echo PASS
