#!/usr/bin/env bash
# A hostile guest (guest-tests/garbage.c) writes and reads garbage at every
# width to every emulated device: port ranges, PCI config space through
# 0xCF8/0xCFC and ECAM (moving BARs, enabling MSI-X with random tables),
# every BAR of virtio-blk, virtio-scsi and the display, unclaimed space.
# dpvm must keep serving the guest: each seed ends with the guest's verdict
# through the exit port (status 1), never a crash or a hang.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

truncate -s 8M "$T/blk.img" "$T/scsi.img"
for seed in 1 2 3 5 8 13 21 34; do
	run_guest garbage --cmdline "seed=$seed rounds=3000" --disk "$T/blk.img" \
		--scsi "disk,$T/scsi.img" --scsi cdrom --vnc "127.0.0.1:$((20000 + RANDOM % 20000))"
	expect_exit 1
	expect_out 'garbage: [3-9] PCI functions'
	expect_out '^garbage: done, dpvm still serves the guest$'
done
echo PASS
