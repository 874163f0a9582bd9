#!/usr/bin/env bash
# virtio-scsi against real LUNs in the nested rig (scenario
# guest-tests/rig/scsi.sh): an emulated disk, physical and virtual RDM of
# QEMU scsi-hd disks and scsi_debug LUNs (with injected medium errors), an
# ISO image CD with eject/insert, and the inner host's CD drive passed
# through.  This side makes the LUNs' backing files, the ISO images and the
# tools image (sg3-utils, fio: scripts/guest-tools) and gives them to the
# inner host as QEMU devices.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
command -v genisoimage >/dev/null || skip "genisoimage not found; run scripts/install-deps"
"$DPVM_TOP/scripts/guest-tools" -q || skip "cannot build the tools image (scripts/guest-tools)"

D=$DPVM_TOP/build/rig/scsi
rm -rf "$D"
mkdir -p "$D/one" "$D/two" "$D/host" "$D/media"
truncate -s 32M "$D/hd1.img" "$D/hd2.img"
# three ISO images with a few files of random data each
for iso in one two host; do
	for f in a b c; do
		head -c $(( (RANDOM % 64 + 1) * 4096 + RANDOM )) /dev/urandom >"$D/$iso/$iso-$f.bin"
	done
	(cd "$D/$iso" && sha256sum -- *) >"$D/media/$iso.sums"
	genisoimage -quiet -R -V "DPVM_$iso" -o "$D/$iso.iso" "$D/$iso" || fail "genisoimage failed"
done
cp "$D/one.iso" "$D/two.iso" "$D/media/"
mke2fs -q -F -t ext4 -O ^has_journal -L dpvm-media -d "$D/media" "$D/media.img" 64M >/dev/null 2>&1 ||
	fail "mke2fs of the media disk failed"

"$DPVM_TOP/scripts/rig" run scsi --timeout 900 \
	--qemu-dev "-drive file=$DPVM_TOP/build/guest/tools.img,if=none,id=tools,format=raw,readonly=on" \
	--qemu-dev virtio-blk-pci,drive=tools,addr=0x10 \
	--qemu-dev "-drive file=$D/media.img,if=none,id=media,format=raw,readonly=on" \
	--qemu-dev virtio-blk-pci,drive=media,addr=0x11 \
	--qemu-dev virtio-scsi-pci,id=scsi0,addr=0x12 \
	--qemu-dev "-drive file=$D/hd1.img,if=none,id=hd1,format=raw,cache=unsafe" \
	--qemu-dev scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=hd1,serial=DPVMRIG-PHYS1,wwn=0x5000c50015ea71ac \
	--qemu-dev "-drive file=$D/hd2.img,if=none,id=hd2,format=raw,cache=unsafe" \
	--qemu-dev scsi-hd,bus=scsi0.0,scsi-id=1,lun=0,drive=hd2,serial=DPVMRIG-VIRT2,wwn=0x5000c50015ea71ad \
	--qemu-dev "-drive file=$D/host.iso,if=none,id=cd0,format=raw,media=cdrom,readonly=on" \
	--qemu-dev scsi-cd,bus=scsi0.0,scsi-id=2,lun=0,drive=cd0
