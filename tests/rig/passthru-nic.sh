#!/usr/bin/env bash
# DirectPath I/O of an e1000e (MSI-X, a real guest driver, traffic with a NIC
# the inner host keeps) and its reset at power-off (guest-tests/rig/passthru-nic.sh).
# The root port's link is Gen1: after a secondary bus reset Linux 6.1 waits
# for a faster link to report "Data Link Layer Link Active", which QEMU 7.2's
# root port never does, and then fails the reset; a Gen1 link it just waits for.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
"$DPVM_TOP/scripts/rig" run passthru-nic --timeout 900 \
	--qemu-dev "pcie-root-port,id=rp1,chassis=1,slot=1,x-speed=2_5,x-width=1" \
	--qemu-dev "e1000e,bus=rp1,netdev=hub0a,mac=52:54:00:12:00:10" \
	--qemu-dev "-netdev hubport,id=hub0a,hubid=0" \
	--qemu-dev "e1000e,netdev=hub0b,mac=52:54:00:12:00:11" \
	--qemu-dev "-netdev hubport,id=hub0b,hubid=0"
