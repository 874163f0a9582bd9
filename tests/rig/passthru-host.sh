#!/usr/bin/env bash
# The host side of DirectPath I/O in the rig (scenario
# guest-tests/rig/passthru-host.sh): `dpvm host pci list` against sysfs,
# `check`, enable/disable/apply round trips of e1000e and edu, and refusals
# that change nothing, on an inner host with edu, e1000e alone behind a
# pcie-root-port, a multi-function slot (edu + virtio-net), a boot VGA, a USB disk
# on qemu-xhci and a SATA disk on q35's AHCI.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
truncate -s 32M "$T/sata.img" "$T/usb.img"
"$DPVM_TOP/scripts/rig" run passthru-host --timeout 400 \
	--qemu-dev VGA,addr=0x3 \
	--qemu-dev qemu-xhci,id=xhci,addr=0x4 \
	--qemu-dev "-drive file=$T/usb.img,format=raw,if=none,id=usbdisk" \
	--qemu-dev usb-storage,bus=xhci.0,drive=usbdisk \
	--qemu-dev edu,addr=0x5 \
	--qemu-dev edu,addr=0x6.0,multifunction=on \
	--qemu-dev virtio-net-pci,addr=0x6.1,multifunction=on,netdev=n2 \
	--qemu-dev "-netdev hubport,id=n2,hubid=0" \
	--qemu-dev pcie-root-port,id=rp1,slot=1,chassis=1,addr=0x7 \
	--qemu-dev e1000e,bus=rp1,netdev=n1 \
	--qemu-dev "-netdev hubport,id=n1,hubid=0" \
	--qemu-dev "-drive file=$T/sata.img,format=raw,if=none,id=satadisk" \
	--qemu-dev ide-hd,drive=satadisk,bus=ide.0
