#!/usr/bin/env bash
# MSI-X end to end: a minimal virtio-blk driver in the guest reads and
# writes sectors, each completion arriving as an MSI-X interrupt; masked
# vectors (per entry and per function) pend in the PBA and fire on unmask.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

img=$T/disk.img
printf 'dpvm msi-x test: sector zero....' >"$img"
truncate -s 1M "$img"

run_guest msi --disk "$img" --cmdline sectors=2048
expect_pass
expect_out '^msi: sector 0 begins "dpvm msi-x test: sector zero...."$'
expect_out '^ok: reading sector 0: the queue.s MSI-X interrupt arrived$'
expect_out '^ok: clearing entry 1.s mask delivers the pending interrupt$'
expect_out '^ok: clearing the function mask delivers the pending interrupt$'
expect_out '^ok: sector 3 reads back what was written$'
# the guest's write reached the file
want=$(for ((i = 0; i < 16; i++)); do printf '%02x' $(((i * 7 + 3) & 255)); done)
got=$(od -A n -t x1 -j 1536 -N 16 "$img" | tr -d ' \n')
[ "$got" = "$want" ] || fail "sector 3 of the file is $got, expected $want"

# read-only: the write fails with VIRTIO_BLK_S_IOERR, the file is unchanged
printf 'dpvm msi-x test: sector zero....' >"$img"
truncate -s 2M "$img"
sum=$(md5sum <"$img")
run_guest msi --disk "$img,ro" --cmdline "sectors=4096 ro=1"
expect_pass
expect_out '^ok: writing sector 3 completes by interrupt, status 1 \(want 1\)$'
[ "$(md5sum <"$img")" = "$sum" ] || fail "the read-only disk's file changed"

# without a disk the program fails, saying why
run_guest msi
expect_exit 3
expect_out '^FAIL: no virtio-blk \(1af4:1042\) on the PCI bus'
echo PASS
