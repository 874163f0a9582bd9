#!/usr/bin/env bash
# PCI configuration space through ports 0xcf8/0xcfc and ECAM: the host
# bridge, absent functions, and a virtio-blk function's capabilities and
# BAR placement.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest pci
expect_pass
expect_out '^pci: 00:00.0 1b36:0008 class 060000 header 0$'
expect_out '^ok: an absent function \(00:1f.7\) reads all-ones both ways$'
expect_out '^ok: 1 function\(s\) found$'

truncate -s 1M "$T/disk.img"
run_guest pci --disk "$T/disk.img" --cmdline expect=1af4:1042
expect_pass
expect_out '^pci: 00:01.0 1af4:1042 class 010000 header 0$'
expect_out '^pci:   capability 0x11 at 0x[0-9a-f]+$'
expect_out '^ok: 01.0: BAR4 is a power of two, aligned, inside dpvm.s MMIO window$'
expect_out '^ok: a 1af4:1042 function is present$'

# the check can fail: no disk, yet a virtio-blk function expected
run_guest pci --cmdline expect=1af4:1042
expect_exit 3
expect_out '^FAIL: a 1af4:1042 function is present$'
echo PASS
