# Scenario "passthru-nic" (tests/rig/passthru-nic.sh): an e1000e alone behind
# its own PCIe root port, assigned to a nested guest whose own e1000e driver
# binds, reads its expansion ROM, uses MSI-X and exchanges traffic with a second e1000e that the inner
# host keeps (QEMU joins the two with a hub: nothing leaves QEMU).  At
# power-off dpvm resets the function before releasing it (a secondary bus
# reset: the function has no FLR and is alone on its bus): bus mastering and
# MSI-X, on while the guest ran, are off again (the config space the host
# had), and the NIC's receiver and transmitter are off (no DMA).
. /rig/lib.sh

modprobe e1000e || rig_fail "cannot load e1000e in the inner host"
sleep 1
nic= host_if=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] || continue
	# the one behind a root port is the guest's; the root-bus one stays here
	case $(readlink -f "$d") in
	*/0000:00:??.?/0000:*) nic=${d##*/} ;;
	*) host_if=$(ls "$d/net" 2>/dev/null | head -n 1) ;;
	esac
done
[ -n "$nic" ] && [ -n "$host_if" ] ||
	rig_fail "expected two e1000e, one behind a root port (found '$nic', host interface '$host_if')"
rig_log "guest NIC $nic, inner host NIC $host_if"
dpvm host passthru check "$nic" --mem 512M || rig_fail "'dpvm host passthru check $nic' says it cannot be passed through"
dpvm host passthru enable "$nic" || rig_fail "enable $nic failed"
ip link set "$host_if" up && ip addr add 10.9.0.1/24 dev "$host_if" || rig_fail "cannot configure $host_if"

# config space of the function: the command register and the MSI-X enable
cfg_hex() { hexdump -v -s "$2" -n "$3" -e '1/1 "%02x"' "/sys/bus/pci/devices/$1/config"; }
msix_cap() {
	local pos
	pos=$((0x$(cfg_hex "$1" 0x34 1)))
	while [ "$pos" -ne 0 ]; do
		[ "$(cfg_hex "$1" "$pos" 1)" = 11 ] && { echo "$pos"; return; }
		pos=$((0x$(cfg_hex "$1" $((pos + 1)) 1)))
	done
}
cap=$(msix_cap "$nic")
[ -n "$cap" ] || rig_fail "$nic has no MSI-X capability"
state() { # command (16 bits, little endian) and MSI-X control
	echo "cmd=0x$(cfg_hex "$nic" 5 1)$(cfg_hex "$nic" 4 1) msix=0x$(cfg_hex "$nic" $((cap + 3)) 1)$(cfg_hex "$nic" $((cap + 2)) 1)"
}
before=$(state)
rig_log "before the VM: $before"

GUEST_CMDLINE="quiet dpvm.test=nic nic.ip=10.9.0.2 nic.peer=10.9.0.1"
vm_guest nic --mem 512M --mem-reserve full --passthru "$nic"
vm_wait nic "nic up, waiting for the peer" 300
ping -c 3 -W 5 10.9.0.2 >/tmp/ping || { cat /tmp/ping; rig_fail "the inner host cannot ping the guest's NIC"; }
rig_log "the inner host pinged the guest: $(grep -c 'bytes from' /tmp/ping) replies"
running=$(state)
rig_log "while the guest drives it: $running"
case $running in
*msix=0x8*|*msix=0xc*) ;;
*) rig_fail "MSI-X is not enabled on the device while the guest runs ($running)" ;;
esac
vm_wait nic "DPVM-TEST-EXIT nic" 120
st=$(vm_wait_exit nic 60)
out=$(vm_out nic | tr -d '\r')
echo "$out" | grep -q '^DPVM-TEST-EXIT nic 0$' || rig_fail "nic: the guest's test failed: $(echo "$out" | grep -B2 DPVM-TEST-EXIT | head -n 2)"
[ "$st" = 0 ] || rig_fail "nic: dpvm exited with status $st"
rom=$(echo "$out" | sed -n 's/^nic rom //p')
rig_log "nic: the guest read its expansion ROM: $rom"
case $rom in 55aa\ *) ;; *) rig_fail "nic: the expansion ROM does not start with 55 aa: '$rom'" ;; esac
echo "$out" | grep '^nic irq' >/tmp/irqs
rig_log "guest interrupts: $(tr '\n' ';' </tmp/irqs)"
grep -q 'MSI-X\|PCI-MSIX\|MSIX' /tmp/irqs || grep -q 'PCI-MSI' /tmp/irqs ||
	rig_fail "nic: the guest's e1000e did not use MSI-X: $(cat /tmp/irqs)"
[ "$(wc -l </tmp/irqs)" -ge 2 ] || rig_fail "nic: expected several MSI-X vectors, got: $(cat /tmp/irqs)"
echo "$out" | grep -q "0000:.*secondary bus reset at power-off" ||
	rig_fail "nic: dpvm did not reset the function (bus reset) at power-off"
echo "$out" | grep "reset.*at power-off" | head -n 1 >/tmp/reset
rig_log "nic: $(cat /tmp/reset)"
# the reset came before the release
echo "$out" | awk '/at power-off/ { r = NR } /released to the host/ { if (!r || NR < r) bad = 1 } END { exit bad }' ||
	rig_fail "nic: the device was released before it was reset"

after=$(state)
rig_log "after power-off: $after"
# back to what the host had before the VM: bus mastering and MSI-X off
[ "$after" = "$before" ] || rig_fail "the device's state after power-off ($after) is not the host's ($before)"
cmd=$(echo "$after" | sed 's/cmd=\(0x[0-9a-f]*\).*/\1/')
msix=$(echo "$after" | sed 's/.*msix=\(0x[0-9a-f]*\)/\1/')
[ $((cmd & 4)) -eq 0 ] && [ $((msix & 0x8000)) -eq 0 ] ||
	rig_fail "bus mastering or MSI-X still on after power-off: $after"
# receiver and transmitter off: no DMA after detach (RCTL 0x100, TCTL 0x400 of BAR 0)
bar0=$(head -n 1 "/sys/bus/pci/devices/$nic/resource" | cut -d' ' -f1)
rctl=$(devmem $((bar0 + 0x100)) 32) && tctl=$(devmem $((bar0 + 0x400)) 32) ||
	rig_fail "cannot read the NIC's registers with devmem"
rig_log "after power-off: RCTL=$rctl TCTL=$tctl"
[ $((rctl & 2)) -eq 0 ] && [ $((tctl & 2)) -eq 0 ] ||
	rig_fail "the NIC's receiver or transmitter is still enabled after power-off (RCTL=$rctl TCTL=$tctl)"
dpvm host passthru disable "$nic" || rig_fail "disable $nic failed"
