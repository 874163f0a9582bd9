#!/usr/bin/env bash
# DirectPath limits and claims (guest-tests/rig/passthru-limits.sh): 6 per VM,
# 8 per host, function numbers of a multifunction slot, bad input.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
devs=()
for i in 1 2 3 4 5 6 7 8 9 10; do devs+=(--qemu-dev edu); done
"$DPVM_TOP/scripts/rig" run passthru-limits --timeout 600 "${devs[@]}" \
	--qemu-dev "edu,addr=0x1e.0,multifunction=on" --qemu-dev "edu,addr=0x1e.1"
