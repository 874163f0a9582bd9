#!/usr/bin/env bash
# Nested boot in the rig (scripts/rig, scenario guest-tests/rig/boot.sh): a
# multiboot guest program, then the default Linux guest to DPVM-GUEST-READY,
# a command over the serial console, and `poweroff` giving dpvm status 0.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
"$DPVM_TOP/scripts/rig" run boot --timeout 400
