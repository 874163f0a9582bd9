#!/usr/bin/env bash
# dpvm's xHCI controller and emulated USB devices with a Linux guest in the
# rig (scenario guest-tests/rig/usb.sh): the guest's xhci_hcd, usbhid and
# usb-storage drivers; sendkey and type through the USB keyboard; a VNC
# client's pointer through the USB tablet (--vnc-input usb); an ext4 image
# made here, read and written by the guest through USB mass storage and
# checked here afterwards with e2fsck and the md5 of the file it wrote; hot
# unplug and plug; a storage device unplugged in the middle of a write.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null ||
	skip "e2fsprogs not found; run scripts/install-deps"

img=$T/usb.img
mkdir -p "$T/root"
echo "dpvm usb seed $$" >"$T/root/seed.txt"
head -c 4M /dev/urandom >"$T/root/blob"
md5=$(md5sum <"$T/root/blob" | cut -d' ' -f1)
mkfs.ext4 -q -F -L dpvm-usb -d "$T/root" "$img" 64M || fail "mkfs.ext4 failed"

rig_quiet usb "guest:|usb list:" --timeout 1500 \
	--qemu-dev "-drive file=$img,if=none,id=usbimg,format=raw,cache=writeback" \
	--qemu-dev virtio-blk-pci,drive=usbimg,addr=0x10 \
	--append "usb.md5=$md5"
log=$RIG_LOG

# what the guest wrote through USB storage, checked here
want=$(tr -d '\r' <"$log" | sed -n 's/^RIG-USB-NEW \([0-9a-f]\{32\}\).*/\1/p' | tail -n 1)
[ -n "$want" ] || fail "the scenario printed no RIG-USB-NEW line"
e2fsck -fn "$img" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck finds errors in the image the guest wrote through USB storage"; }
got=$(debugfs -R "cat /new" "$img" 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "/new in the image has md5 $got, the guest wrote $want"
echo "  ok: e2fsck -fn is clean; /new (8 MiB) has the md5 the guest computed ($want)"
echo PASS
