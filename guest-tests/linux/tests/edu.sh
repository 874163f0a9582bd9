#!/bin/sh
# Guest side of the rig's "passthru" scenario: QEMU's edu device, assigned to
# this guest by dpvm, driven by the edu_test driver (guest-tests/linux/kmod):
# identification, liveness, factorial, a raised interrupt and 2048-byte DMA
# both ways, first with INTx, then with MSI; the interrupts it took are
# counted in /proc/interrupts.  With edu.bad_dma=ADDR on the kernel command
# line it also programs a DMA to ADDR (not guest RAM).  Prints:
#   edu MODE irqs N          for MODE intx and msi
#   edu-test: ...            the driver's lines
ko=/lib/modules/$(uname -r)/extra/edu_test.ko
bad=$(sed -n 's/.*edu\.bad_dma=\([0-9a-fx]*\).*/\1/p' /proc/cmdline)
dev=$(grep -l '^0x11e8$' /sys/bus/pci/devices/*/device | head -n 1)
[ -n "$dev" ] || { echo "no edu device (1234:11e8) on the guest's PCI bus"; exit 1; }
echo "edu at $(basename "$(dirname "$dev")")"

run() { # MODE ARGS
	mode=$1
	shift
	dmesg -c >/dev/null
	insmod "$ko" "$@" || { echo "insmod $* failed"; return 1; }
	dmesg | grep 'edu-test:'
	n=$(awk '/edu_test/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts)
	echo "edu $mode irqs ${n:-0} $(grep edu_test /proc/interrupts | awk '{ print $(NF-2), $(NF-1) }')"
	rmmod edu_test
	dmesg | grep -q 'edu-test: PASS'
}

run intx || exit 1
if [ -n "$bad" ]; then
	run msi use_msi=1 bad_dma="$bad" || exit 1
	echo "guest alive after the stray DMA"
else
	run msi use_msi=1 || exit 1
fi
