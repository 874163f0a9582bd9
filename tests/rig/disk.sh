#!/usr/bin/env bash
# virtio-blk in a nested Linux guest (scenario guest-tests/rig/disk.sh):
# --disk FILE gives /dev/vda, whose writes reach the file with the same
# checksum; --disk FILE,ro is read-only in the guest and the file unchanged.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
"$DPVM_TOP/scripts/rig" run disk --timeout 400
