#!/usr/bin/env bash
# Power states of a nested Linux guest with 2 vCPUs (scenario
# guest-tests/rig/power.sh): 2 CPUs seen, no ACPI errors in its kernel log,
# `reboot` restarts it (the ready marker twice), `dpvm ctl NAME powerdown`
# (ACPI power button) powers it off with dpvm status 0.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
"$DPVM_TOP/scripts/rig" run power --timeout 500
