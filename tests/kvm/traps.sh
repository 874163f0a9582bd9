#!/usr/bin/env bash
# Unclaimed ports and MMIO read all-ones and drop writes; the COM1 scratch
# register round-trips; rep insb/outsb on trapped ports move every byte.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest traps
expect_pass
expect_out '^ok: inl from unclaimed port 0x2f8 reads 0xffffffff$'
expect_out '^ok: unclaimed MMIO 0x21000000 \(above RAM\) reads 0xff / 0xffff / 0xffffffff'
expect_out '^ok: unclaimed MMIO 0xfe000000 \(gap below the IOAPIC\) reads 0xff / 0xffff / 0xffffffff'
expect_out '^ok: 16 bytes rep outsb / rep insb through the loopback FIFO$'
expect_out '^ok: rep insb of 4096 bytes from unclaimed port 0x2f8 reads all-ones$'
echo PASS
