#!/usr/bin/env bash
# DirectPath I/O in the rig (scenario guest-tests/rig/passthru.sh): QEMU's edu
# device behind the inner host's emulated Intel IOMMU, assigned to a nested
# Linux guest that drives it with INTx, MSI and DMA; claims, refusals, a stray
# DMA blocked by the IOMMU, and recovery after kill -9.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
"$DPVM_TOP/scripts/rig" run passthru --qemu-dev edu --timeout 900
