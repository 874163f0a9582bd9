# Scenario "passthru" (tests/rig/passthru.sh): DirectPath I/O of QEMU's edu
# device (1234:11e8) through the inner host's emulated Intel IOMMU.
#   - the host tools make it eligible (dpvm host passthru enable)
#   - power-on refuses without a full memory reservation
#   - a nested Linux guest drives it with its own driver (edu_test):
#     identification, liveness, factorial, DMA both ways with checksums,
#     INTx then MSI interrupts counted in /proc/interrupts
#   - a second VM asking for the claimed device is refused, naming the first
#   - at power-off the device is released: claim gone, group reusable
#   - a DMA to an address that is not guest RAM is blocked by the IOMMU (a
#     DMAR fault in the inner host's log); dpvm and the guest keep running
#   - after kill -9 of dpvm the kernel releases the device and a new VM can
#     take it; it works again after a guest reboot (reset, then restart);
#     `ctl quit` and SIGTERM release it
. /rig/lib.sh

bdf=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && bdf=${d##*/}
done
[ -n "$bdf" ] || rig_fail "no edu device in the inner host (scripts/rig run passthru --qemu-dev edu)"
rig_log "edu is $bdf, IOMMU group $(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")")"

dpvm host passthru enable "$bdf" || rig_fail "dpvm host passthru enable $bdf failed"
[ "$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")" = vfio-pci ] ||
	rig_fail "$bdf is not bound to vfio-pci after enable"

# without --mem-reserve full: refused before anything exists
if dpvm run --kernel "$GUEST_KERNEL" --passthru "$bdf,allow-no-reset" --api none \
	--console none 2>/tmp/err; then
	rig_fail "a passthrough VM started without --mem-reserve full"
fi
grep -q 'mem-reserve full' /tmp/err || rig_fail "the refusal does not say how to fix it: $(cat /tmp/err)"
rig_log "without a reservation: $(cat /tmp/err)"

# edu has no reset method: refused unless allow-no-reset
if dpvm run --kernel "$GUEST_KERNEL" --passthru "$bdf" --mem-reserve full --api none \
	--console none 2>/tmp/err; then
	rig_fail "a device without a reset method was accepted without allow-no-reset"
fi
rig_log "without allow-no-reset: $(cat /tmp/err)"
grep -q 'allow-no-reset' /tmp/err || rig_fail "the refusal does not name allow-no-reset: $(cat /tmp/err)"

# the guest drives the device: INTx, then MSI
vm_guest pt --mem 512M --mem-reserve full --passthru "$bdf,allow-no-reset"
vm_wait pt DPVM-GUEST-READY 240
# the guest and its assigned device run under the seccomp filter: mode 2 in
# every thread of dpvm
pid=$(cat /tmp/vm-pt/pid)
for s in /proc/"$pid"/task/*/status; do
	grep -q "^Seccomp:[[:space:]]*2$" "$s" ||
		rig_fail "pt: dpvm's thread $(sed -n 's/^Name:[[:space:]]*//p' "$s") is not under the seccomp filter"
done
rig_log "pt: all $(ls /proc/"$pid"/task | wc -l) threads of dpvm under the seccomp filter"

# while it runs: a second VM cannot take the device, and the VM refuses suspend,
# snapshot, migration and hot add/remove, naming the device
if dpvm run --name second --kernel "$GUEST_KERNEL" --mem-reserve full \
	--passthru "$bdf,allow-no-reset" --api none --console none 2>/tmp/err; then
	rig_fail "a second VM took the claimed device"
fi
grep -q "VM 'pt'" /tmp/err || rig_fail "the second VM's refusal does not name the first: $(cat /tmp/err)"
rig_log "second VM: $(cat /tmp/err)"
for op in suspend snapshot migrate device-add device-remove; do
	if dpvm ctl pt $op 2>/tmp/err; then
		rig_fail "$op of a passthrough VM was accepted"
	fi
	grep -q "$bdf" /tmp/err || rig_fail "the $op refusal does not name the device: $(cat /tmp/err)"
	rig_log "$op: $(cat /tmp/err)"
done
dpvm ctl --json pt status >/tmp/status || rig_fail "ctl status failed"
grep -q '"host":"'"$bdf"'"' /tmp/status || rig_fail "ctl status does not list $bdf: $(cat /tmp/status)"

out=$(vm_cmd pt 'sh /tests/edu.sh' 180) || rig_fail "pt: the guest's edu test failed: $(echo "$out" | grep -E 'edu-test: FAIL|^no edu|failed' | head -n 1)"
vm_send pt poweroff
st=$(vm_wait_exit pt 60)
[ "$st" = 0 ] || rig_fail "pt: dpvm exited with status $st after the guest powered off"
for mode in intx msi; do
	n=$(echo "$out" | sed -n "s/^edu $mode irqs \([0-9]*\).*/\1/p")
	[ -n "$n" ] && [ "$n" -ge 4 ] || rig_fail "pt: $mode interrupts counted in the guest: '$n', expected at least 4"
	rig_log "pt: $mode: $n interrupts ($(echo "$out" | sed -n "s/^edu $mode irqs [0-9]* //p"))"
done
echo "$out" | grep -q 'MSI' || rig_fail "pt: /proc/interrupts shows no MSI for edu_test"
vm_out pt | grep -q 'released to the host' || rig_fail "pt: dpvm did not say it released $bdf"
[ "$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")" = vfio-pci ] ||
	rig_fail "$bdf left vfio-pci after the VM"

# a stray DMA: the IOMMU blocks it, everything keeps running
dmesg -c >/dev/null
GUEST_CMDLINE="quiet dpvm.test=edu edu.bad_dma=0xf000000"
vm_guest stray --mem 192M --mem-reserve full --passthru "$bdf,allow-no-reset"
vm_wait stray "DPVM-TEST-EXIT edu" 240
st=$(vm_wait_exit stray 60)
out=$(vm_out stray | tr -d '\r')
echo "$out" | grep -q '^DPVM-TEST-EXIT edu 0$' || rig_fail "stray: the guest's test failed"
echo "$out" | grep -q 'guest alive after the stray DMA' || rig_fail "stray: the guest did not survive"
[ "$st" = 0 ] || rig_fail "stray: dpvm exited with status $st"
dmesg | grep -i -E 'DMAR.*fault|fault addr' >/tmp/fault || rig_fail "stray: no DMAR fault in the inner host's log"
rig_log "stray: the IOMMU blocked it: $(head -n 1 /tmp/fault)"

# kill -9: the claim dies with the process, the device is usable again
GUEST_CMDLINE="quiet"
vm_guest k9 --mem 256M --mem-reserve full --passthru "$bdf,allow-no-reset"
vm_wait k9 DPVM-GUEST-READY 240
kill -KILL "$(cat /tmp/vm-k9/pid)"
vm_wait_exit k9 30 >/dev/null

# the device works in the next VM, and again after a guest reboot (dpvm
# resets it, then restarts the guest); `ctl quit` releases it
vm_guest again --mem 256M --mem-reserve full --passthru "$bdf,allow-no-reset"
vm_wait again DPVM-GUEST-READY 240
rig_log "after kill -9 the device was claimed again"
vm_cmd again 'sh /tests/edu.sh >/tmp/edu.log 2>&1; grep -c "edu-test: PASS" /tmp/edu.log' 120 >/tmp/n ||
	rig_fail "again: the edu test failed in the VM after kill -9"
[ "$(cat /tmp/n)" = 2 ] || rig_fail "again: the edu test passed $(cat /tmp/n) times of 2"
vm_send again reboot
vm_wait_count again DPVM-GUEST-READY 2 240
vm_cmd again 'sh /tests/edu.sh >/tmp/edu.log 2>&1; grep -c "edu-test: PASS" /tmp/edu.log' 120 >/tmp/n ||
	rig_fail "again: the edu test failed after the guest rebooted"
[ "$(cat /tmp/n)" = 2 ] || rig_fail "again: after the reboot the edu test passed $(cat /tmp/n) times of 2"
vm_out again | grep -q "at guest reset" || rig_fail "again: no reset of $bdf at the guest's reboot"
dpvm ctl again quit || rig_fail "ctl quit failed"
st=$(vm_wait_exit again 60)
[ "$st" = 0 ] || rig_fail "again: dpvm exited with status $st after ctl quit"
vm_out again | grep -q "released to the host" || rig_fail "again: $bdf was not released after ctl quit"
rig_log "after a guest reboot the device worked again; ctl quit released it"

# SIGTERM: the guest powers off through ACPI, dpvm releases the device
vm_guest term --mem 256M --mem-reserve full --passthru "$bdf,allow-no-reset"
vm_wait term DPVM-GUEST-READY 240
kill -TERM "$(cat /tmp/vm-term/pid)"
st=$(vm_wait_exit term 90)
[ "$st" = 0 ] || rig_fail "term: dpvm exited with status $st after SIGTERM (the guest should power off)"
vm_out term | grep -q "released to the host" || rig_fail "term: $bdf was not released after SIGTERM"
rig_log "SIGTERM: the guest powered off and the device was released"

dpvm host passthru disable "$bdf" || rig_fail "dpvm host passthru disable $bdf failed"
