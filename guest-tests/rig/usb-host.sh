# Scenario "usb-host" (tests/rig/usb-host.sh): the three USB backings with a
# real device.  QEMU gives the inner host a qemu-xhci controller with a
# usb-storage device (the outer host's ext4 image; 46f4:0001) and a usb-kbd
# (0627:0001).  Steps:
#
#   1. `dpvm host usb list` shows both with the ids QEMU gave them, their
#      drivers and controller; the inner host writes /inner.bin (4 MiB) on
#      the disk through its own usb-storage driver
#   2. backing "host" (libusb): a nested guest gets the disk with --usb
#      host,device=46f4:0001; the inner host's driver lets go of it; the
#      guest mounts it, /inner.bin has the inner host's md5, it writes
#      /host.bin (8 MiB) and syncs; ctl status says migratable false and
#      `ctl migrate` is refused naming the device; then a long write is cut
#      by the inner host unplugging the device (its hub port disabled): dpvm
#      unplugs it from the guest, which sees a disconnect and goes on; the
#      port enabled again, the inner host's driver takes the device, mounts
#      it (replaying the journal) and reads /host.bin with the guest's md5
#   3. backing "remote-client" (usbredir): a nested guest listens with --usb
#      remote-client,listen=127.0.0.1:7700 and has no device until
#      `usbredirect --device 46f4:0001 --to 127.0.0.1:7700` forwards it; the
#      guest reads /host.bin, writes /redir.bin; killing usbredirect in the
#      middle of a write unplugs the device cleanly; a new usbredirect plugs
#      it in again; the inner host gets it back and reads /redir.bin
#   4. backing "remote-host" (USB/IP): usbipd exports the disk (usbip bind);
#      a nested guest imports it with --usb remote-host,server=127.0.0.1,
#      busid=B; reads /redir.bin, writes /ip.bin; `usbip unbind` in the
#      middle of a write drops the connection: the guest sees a disconnect,
#      `usbip bind` again and dpvm reconnects by itself: the guest sees the
#      device again, mounts it (the journal replays) and /ip.bin is intact
. /rig/lib.sh

ip link set lo up
modprobe xhci_pci
modprobe usb_storage
modprobe sd_mod
modprobe usbhid
modprobe ext4

# the inner host's view of QEMU's disk: its block device, waiting for it
qdisk() {
	local i d
	for i in $(seq 1 120); do
		for d in /sys/bus/usb/devices/*; do
			[ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = 46f4:0001 ] || continue
			for b in "$d"/*/host*/target*/*/block/*; do
				[ -e "$b" ] && { echo "/dev/${b##*/}"; return 0; }
			done
		done
		sleep 0.5
	done
	return 1
}

# 1. the host's USB devices
disk=$(qdisk) || rig_fail "the inner host has no block device for QEMU's usb-storage (46f4:0001)"
list=$(dpvm host usb list) || rig_fail "dpvm host usb list failed"
echo "$list" | sed 's/^/  host usb list: /'
echo "$list" | grep -E "^[0-9]+-[0-9.]+ +46f4:0001 .*usb-storage" >/dev/null ||
	rig_fail "dpvm host usb list does not show QEMU's usb-storage (46f4:0001, usb-storage)"
echo "$list" | grep -E "^[0-9]+-[0-9.]+ +0627:0001 .*usbhid" >/dev/null ||
	rig_fail "dpvm host usb list does not show QEMU's usb-kbd (0627:0001, usbhid)"
json=$(dpvm host usb list --json)
echo "$json" | grep -q '"id":"46f4:0001"' || echo "$json" | grep -q '"id": "46f4:0001"' ||
	rig_fail "dpvm host usb list --json has no 46f4:0001"
mkdir -p /mnt
mount -t ext4 "$disk" /mnt || rig_fail "the inner host cannot mount QEMU's usb-storage ($disk)"
dd if=/dev/urandom of=/mnt/inner.bin bs=1M count=4 2>/dev/null
inner=$(md5sum /mnt/inner.bin | cut -d' ' -f1)
umount /mnt || rig_fail "umount in the inner host failed"
sync
rig_log "inner host: wrote /inner.bin ($inner) on $disk through its usb-storage driver"

# 2. backing "host"
vm_guest h --mem 512M --usb host,device=46f4:0001,id=hd
vm_wait h DPVM-GUEST-READY 300
hp=$(dpvm ctl --json h usb list | sed -n 's/.*"host-path":"\([^"]*\)".*/\1/p')
[ -n "$hp" ] || rig_fail "h: ctl usb list shows no host-path for the host device"
drv=$(basename "$(readlink "/sys/bus/usb/devices/$hp/$hp:1.0/driver")")
[ "$drv" = usbfs ] ||
	rig_fail "interface $hp:1.0 of the device dpvm claimed is bound to '$drv', not usbfs (dpvm's claim)"
rig_log "h: dpvm claimed $hp; the inner host's usb-storage let go of it (its interface is usbfs's now)"
devs=$(vm_cmd h 'sh /tests/usb.sh devices') || rig_fail "h: no USB device in the guest"
echo "$devs" | sed 's/^/  guest: /'
echo "$devs" | grep -q " 46f4:0001 .* usb-storage " || rig_fail "h: the guest's usb-storage did not take 46f4:0001"
port=$(echo "$devs" | awk '/46f4:0001/ { print $2; exit }')
gdisk=$(vm_cmd h "sh /tests/usb.sh port-disk $port 90") || rig_fail "h: no disk in the guest: $gdisk"
t0=$(rig_now)
out=$(vm_cmd h "mkdir -p /mnt && mount -t ext4 $gdisk /mnt && md5sum /mnt/inner.bin" 180) ||
	rig_fail "h: mounting the passed-through disk failed: $out"
echo "$out" | grep -q "^$inner " || rig_fail "h: /inner.bin in the guest: '$out', the inner host wrote $inner"
rig_log "h: mounted and read 4 MiB through the host backing in $(rig_since "$t0") s"
t0=$(rig_now)
hostbin=$(vm_cmd h 'dd if=/dev/urandom of=/mnt/host.bin bs=1M count=8 2>/dev/null && sync && md5sum /mnt/host.bin | cut -d" " -f1' 300 | grep -E '^[0-9a-f]{32}$') ||
	rig_fail "h: writing /host.bin failed: $hostbin"
rig_log "h: wrote and synced 8 MiB through the host backing in $(rig_since "$t0") s: $hostbin"
st=$(dpvm ctl --json h status)
hd=$(echo "$st" | grep -o '{"name":"hd"[^}]*}')
echo "$hd" | grep -q '"backing":"host"' && echo "$hd" | grep -q '"migratable":false' ||
	rig_fail "h: ctl status does not say the host device is not migratable: $hd"
rig_log "h: ctl status: $hd"
mig=$(dpvm ctl h migrate 2>&1) && rig_fail "h: ctl migrate was not refused"
echo "$mig" | grep -q "USB device hd (46f4:0001, backing host)" || rig_fail "h: ctl migrate's refusal does not name the device: $mig"
rig_log "h: migrate refused: $mig"
vm_writer_start h /mnt/big 0
# the host unplugs the device: its hub port is disabled (a logical unplug)
pdis="/sys/bus/usb/devices/usb${hp%%-*}/${hp%%-*}-0:1.0/usb${hp%%-*}-port${hp#*-}/disable"
hostunplug=
if [ -w "$pdis" ]; then
	echo 1 >"$pdis" || rig_fail "h: disabling the inner host's port ($pdis) failed"
	hostunplug=1
else
	rig_log "h: no $pdis in this kernel: unplugging with ctl usb detach instead"
	dpvm ctl h usb detach hd >/dev/null || rig_fail "h: ctl usb detach hd failed"
fi
vm_writer_end h 180
vm_cmd h 'dmesg | grep -E "USB disconnect" | tail -2' | sed 's/^/  guest: /'
vm_cmd h "sh /tests/usb.sh gone $port 60" 90 >/dev/null || rig_fail "h: the device is still in the guest after detach"
vm_cmd h 'umount -f /mnt 2>/dev/null; echo still-alive' | grep -q still-alive || rig_fail "h: the guest hangs after the unplug"
if [ -n "$hostunplug" ]; then
	vm_out h | grep -q "hd unplugged from the guest: the host unplugged it" ||
		rig_fail "h: dpvm did not say the host unplugged the device"
	rig_log "h: the inner host unplugged the device (port disabled) mid-write: the guest saw a disconnect"
	echo 0 >"$pdis"
fi
disk=$(qdisk) || rig_fail "the inner host's usb-storage did not take the disk back after dpvm let go"
mount -t ext4 "$disk" /mnt || rig_fail "the inner host cannot mount the disk after the guest's unplug"
got=$(md5sum /mnt/host.bin | cut -d' ' -f1)
rm -f /mnt/big
umount /mnt
sync
[ "$got" = "$hostbin" ] || rig_fail "/host.bin read back in the inner host: $got, the guest wrote $hostbin"
rig_log "h: unplugged mid-write; the inner host has the device back and /host.bin as the guest wrote it"
vm_send h poweroff
st=$(vm_wait_exit h 120)
[ "$st" = 0 ] || rig_fail "h: after poweroff dpvm exited with status $st"
echo "RIG-USB-HOST $hostbin"

# guest_disk NAME S: the guest's disk of 46f4:0001 (waiting up to S seconds)
guest_disk() {
	# (dpvm's own messages share the console: keep the device's line)
	vm_cmd "$1" "sh /tests/usb.sh wait-disk 46f4:0001 $2" $(( $2 + 60 )) | grep -m1 '^/dev/sd'
}

# the inner host's driver back on the disk after a backing let go of it
rebind() {
	[ -e "/sys/bus/usb/devices/$hp/$hp:1.0/driver" ] ||
		echo "$hp:1.0" >/sys/bus/usb/drivers/usb-storage/bind 2>/dev/null
	disk=$(qdisk) || rig_fail "$1: the inner host's usb-storage did not take the disk back"
}

# 3. backing "remote-client": usbredirect forwards the device
command -v usbredirect >/dev/null || rig_fail "no usbredirect in the inner host (install usbredirect on the host, rebuild the rig)"
vm_guest r --mem 512M --usb remote-client,listen=127.0.0.1:7700,id=rc
vm_wait r DPVM-GUEST-READY 300
vm_cmd r 'sh /tests/usb.sh devices' | grep -q 46f4:0001 && rig_fail "r: the device is there before any client forwards it"
usbredirect --device 46f4:0001 --to 127.0.0.1:7700 >/tmp/redir.log 2>&1 &
redir=$!
gd=$(guest_disk r 90) || rig_fail "r: the forwarded device did not appear in the guest: $(cat /tmp/redir.log)"
t0=$(rig_now)
out=$(vm_cmd r "mkdir -p /mnt && mount -t ext4 $gd /mnt && md5sum /mnt/host.bin" 180) || rig_fail "r: mounting failed: $out"
echo "$out" | grep -q "^$hostbin " || rig_fail "r: /host.bin over usbredir: '$out', written was $hostbin"
redirbin=$(vm_cmd r 'dd if=/dev/urandom of=/mnt/redir.bin bs=1M count=8 2>/dev/null && sync && md5sum /mnt/redir.bin | cut -d" " -f1' 300 | grep -E '^[0-9a-f]{32}$') ||
	rig_fail "r: writing /redir.bin failed"
rig_log "r: over usbredir: read 8 MiB and wrote 8 MiB in $(rig_since "$t0") s: $redirbin"
rc=$(dpvm ctl --json r status | grep -o '{"name":"rc"[^}]*}')
echo "$rc" | grep -q '"migratable":true' || rig_fail "r: the remote-client device is not migratable: $rc"
dpvm ctl r migrate 2>&1 | grep -q "not available in this version" || rig_fail "r: migrate was refused with a remote-client device"
vm_writer_start r /mnt/big 0
kill "$redir"
vm_writer_end r 180
vm_cmd r 'sh /tests/usb.sh gone 46f4:0001 60' 90 >/dev/null || rig_fail "r: the device stayed after the client went"
vm_cmd r 'umount -f /mnt 2>/dev/null; dmesg | grep "USB disconnect" | tail -1' | sed 's/^/  guest: /'
wait "$redir" 2>/dev/null
usbredirect --device 46f4:0001 --to 127.0.0.1:7700 >/tmp/redir2.log 2>&1 &
redir=$!
gd=$(guest_disk r 90) || rig_fail "r: a second usbredirect did not plug the device in again"
rig_log "r: the client went mid-write (clean disconnect), a new one plugged the device in again ($gd)"
vm_send r poweroff
st=$(vm_wait_exit r 120)
[ "$st" = 0 ] || rig_fail "r: after poweroff dpvm exited with status $st"
kill "$redir" 2>/dev/null
wait "$redir" 2>/dev/null
rebind r
mount -t ext4 "$disk" /mnt || rig_fail "r: the inner host cannot mount the disk after usbredir"
got=$(md5sum /mnt/redir.bin | cut -d' ' -f1)
rm -f /mnt/big
umount /mnt
[ "$got" = "$redirbin" ] || rig_fail "r: /redir.bin in the inner host: $got, the guest wrote $redirbin"
echo "RIG-USB-REDIR $redirbin"

# 4. backing "remote-host": usbipd exports the disk
command -v usbipd >/dev/null || rig_fail "no usbipd in the inner host (install usbip on the host, rebuild the rig)"
modprobe usbip_host || rig_fail "cannot load usbip_host"
usbipd -D || rig_fail "usbipd did not start"
usbip bind -b "$hp" || rig_fail "usbip bind -b $hp failed"
vm_guest i --mem 512M --usb "remote-host,server=127.0.0.1,busid=$hp,id=ri"
vm_wait i DPVM-GUEST-READY 300
gd=$(guest_disk i 90) || rig_fail "i: the imported device did not appear in the guest"
t0=$(rig_now)
out=$(vm_cmd i "mkdir -p /mnt && mount -t ext4 $gd /mnt && md5sum /mnt/redir.bin" 180) || rig_fail "i: mounting failed: $out"
echo "$out" | grep -q "^$redirbin " || rig_fail "i: /redir.bin over USB/IP: '$out', written was $redirbin"
ipbin=$(vm_cmd i 'dd if=/dev/urandom of=/mnt/ip.bin bs=1M count=8 2>/dev/null && sync && md5sum /mnt/ip.bin | cut -d" " -f1' 300 | grep -E '^[0-9a-f]{32}$') ||
	rig_fail "i: writing /ip.bin failed"
rig_log "i: over USB/IP: read 8 MiB and wrote 8 MiB in $(rig_since "$t0") s: $ipbin"
vm_writer_start i /mnt/big 0
usbip unbind -b "$hp" || rig_fail "usbip unbind failed"
vm_writer_end i 180
vm_cmd i 'sh /tests/usb.sh gone 46f4:0001 60' 90 >/dev/null || rig_fail "i: the device stayed after the server dropped it"
vm_cmd i 'umount -f /mnt 2>/dev/null; dmesg | grep "USB disconnect" | tail -1' | sed 's/^/  guest: /'
sleep 2
usbip bind -b "$hp" || rig_fail "usbip bind again failed"
gd=$(guest_disk i 90) || rig_fail "i: dpvm did not reconnect to the USB/IP server"
out=$(vm_cmd i "mount -t ext4 $gd /mnt && md5sum /mnt/ip.bin && rm -f /mnt/big && umount /mnt" 180) ||
	rig_fail "i: after the reconnect the guest cannot mount the disk: $out"
echo "$out" | grep -q "^$ipbin " || rig_fail "i: /ip.bin after the reconnect: '$out', written was $ipbin"
rig_log "i: the server dropped the connection mid-write; dpvm reconnected by itself; /ip.bin intact"
dpvm ctl i usb list | grep -E '"(connects|protocol-errors|unlinks)"' | sed 's/^/  usb list: /'
vm_send i poweroff
st=$(vm_wait_exit i 120)
[ "$st" = 0 ] || rig_fail "i: after poweroff dpvm exited with status $st"
usbip unbind -b "$hp" >/dev/null 2>&1
rebind i
sync
echo "RIG-USB-IP $ipbin"
