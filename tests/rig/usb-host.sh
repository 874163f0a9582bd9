#!/usr/bin/env bash
# The three USB backings with a real device in the rig (scenario
# guest-tests/rig/usb-host.sh): QEMU gives the inner host a qemu-xhci with a
# usb-storage (an ext4 image made here) and a usb-kbd; `dpvm host usb list`
# shows them; nested guests get the disk through backing "host" (libusb),
# "remote-client" (usbredirect forwards it to dpvm over loopback) and
# "remote-host" (usbipd exports it, dpvm imports it over USB/IP): each
# reads what the one before wrote and writes a file; each is unplugged in
# the middle of a write (ctl usb detach; usbredirect killed; usbip unbind,
# after which dpvm reconnects by itself); the inner host has the disk back
# each time; here at the end e2fsck and the md5 of each file the guests
# wrote.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null ||
	skip "e2fsprogs not found; run scripts/install-deps"

img=$T/usbhost.img
mkdir -p "$T/root"
echo "dpvm usb host $$" >"$T/root/seed.txt"
mkfs.ext4 -q -F -L dpvm-usbhost -d "$T/root" "$img" 512M || fail "mkfs.ext4 failed"

rig_quiet usb-host "guest:|host usb list:" --timeout 1500 \
	--qemu-dev qemu-xhci,id=xhci \
	--qemu-dev "-drive file=$img,if=none,id=ud,format=raw,cache=writeback" \
	--qemu-dev usb-storage,bus=xhci.0,drive=ud \
	--qemu-dev usb-kbd,bus=xhci.0
log=$RIG_LOG

e2fsck -fn "$img" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck finds errors in the image"; }
echo "  ok: e2fsck -fn is clean"
for f in HOST:host.bin REDIR:redir.bin IP:ip.bin; do
	want=$(tr -d '\r' <"$log" | sed -n "s/^RIG-USB-${f%%:*} \([0-9a-f]\{32\}\).*/\1/p" | tail -n 1)
	[ -n "$want" ] || fail "the scenario printed no RIG-USB-${f%%:*} line"
	got=$(debugfs -R "cat /${f#*:}" "$img" 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "/${f#*:} in the image has md5 $got, the guest wrote $want"
	echo "  ok: /${f#*:} (8 MiB, written through backing ${f%%:*}) has the guest's md5 $want"
done
echo PASS
