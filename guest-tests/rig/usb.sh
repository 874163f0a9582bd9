# Scenario "usb" (tests/rig/usb.sh): dpvm's xHCI controller with its emulated
# devices, driven by the nested Linux guest's own xhci_hcd, usbhid and
# usb-storage drivers.  The outer host gives the inner host an ext4 image
# (virtio-blk at 00:10.0) with /seed.txt and /blob (usb.md5= on the command
# line is the blob's md5).  One nested guest gets:
#
#   kbd   usb keyboard                      port 1
#   tab   usb tablet (--vnc-input usb)      port 2
#   stor  usb storage: the ext4 image       port 5 (SuperSpeed: bus 2 in the guest)
#   raw   usb storage: /tmp/raw.img         port 6
#
# and the checks are:
#   1. the guest enumerates all four (ids, speeds, drivers)
#   2. `ctl sendkey shift-a` and `ctl type hi` arrive as key events of the
#      USB keyboard's input device (usbhid), press and release, in order
#   3. a VNC client's pointer (RFB PointerEvents sent with nc) arrives as the
#      tablet's absolute X/Y and button events, scaled to 0..32767
#   4. the guest mounts the image through usb-storage, the blob's md5 is the
#      outer host's; it writes /new (8 MiB), prints its md5 (RIG-USB-NEW),
#      unmounts; the outer host checks the image with e2fsck and /new's md5
#   5. `ctl usb detach kbd`: the guest sees the keyboard go; `usb attach
#      keyboard id=kbd2`: it comes back and sendkey reaches it
#   6. raw: 1 MiB written and synced, then a long write is cut by `ctl usb
#      detach raw`: the guest's writer fails, the guest goes on; the file
#      re-attached as a new device holds the first 1 MiB intact
#   7. ctl status: each device's backing and migratable; poweroff, exit 0
. /rig/lib.sh

md5=$(sed -n 's/.*usb\.md5=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
[ -n "$md5" ] || rig_fail "no usb.md5= on the inner host's command line (run tests/rig/usb.sh)"
ip link set lo up
modprobe virtio_pci
modprobe virtio_blk
img=
for i in $(seq 1 40); do
	b=$(ls /sys/bus/pci/devices/0000:00:10.0/virtio*/block 2>/dev/null | head -n 1)
	[ -n "$b" ] && { img=/dev/$b; break; }
	sleep 0.5
done
[ -n "$img" ] || rig_fail "no virtio-blk disk at 00:10.0 (the ext4 image) in the inner host"
dd if=/dev/zero of=/tmp/raw.img bs=1M count=256 2>/dev/null

vm_guest u --mem 512M --vnc 127.0.0.1:5900 --vnc-input usb --usb keyboard,id=kbd \
	--usb tablet,id=tab --usb "storage,path=$img,id=stor" --usb storage,path=/tmp/raw.img,id=raw
vm_wait u DPVM-GUEST-READY 300

# 1. enumeration
devs=$(vm_cmd u 'sh /tests/usb.sh devices') || rig_fail "u: no USB devices in the guest"
echo "$devs" | sed 's/^/  guest: /'
for want in "1-1 1209:0001 12 usbhid dpvm_USB_Keyboard" "1-2 1209:0002 12 usbhid dpvm_USB_Tablet" \
	    "2-1 1209:0003 5000 usb-storage dpvm_USB_Storage" "2-2 1209:0003 5000 usb-storage dpvm_USB_Storage"; do
	echo "$devs" | grep -qx "usb $want" || rig_fail "u: the guest has no 'usb $want'"
done
vm_cmd u 'dmesg | grep -E "xhci_hcd|USB Keyboard|USB Tablet|Mass Storage|scsi host" | head -30' | sed 's/^/  guest: /'

# 2. keys through usbhid
vm_cmd u 'sh /tests/usb.sh record "USB Keyboard" /tmp/kbd' >/dev/null || rig_fail "u: cannot read the USB keyboard"
sleep 1
t0=$(rig_now)
dpvm ctl u sendkey shift-a >/dev/null || rig_fail "u: ctl sendkey failed"
dpvm ctl u type hi >/dev/null || rig_fail "u: ctl type failed"
keys=$(vm_cmd u 'sh /tests/usb.sh events /tmp/kbd 8' | tr '\n' ' ')
rig_log "u: the USB keyboard's events: $keys"
want="1 42 1 1 30 1 1 30 0 1 42 0 1 35 1 1 35 0 1 23 1 1 23 0 "
[ "$keys" = "$want" ] || rig_fail "u: the USB keyboard gave '$keys', expected '$want'"
rig_log "u: sendkey and type arrived through usbhid in $(rig_since "$t0") s"

# 3. the tablet, from a VNC client (RFB 3.8, no password; big-endian x, y)
vm_cmd u 'sh /tests/usb.sh record "USB Tablet" /tmp/tab' >/dev/null || rig_fail "u: cannot read the USB tablet"
sleep 1
{
	printf 'RFB 003.008\n'; sleep 1
	printf '\001'; sleep 1			# security type None
	printf '\001'; sleep 1			# ClientInit: shared
	printf '\005\000\000\144\000\144'; sleep 0.5	# (100, 100)
	printf '\005\001\001\000\000\200'; sleep 0.5	# left button at (256, 128)
	printf '\005\000\001\000\000\200'; sleep 2	# released
} | timeout 20 nc 127.0.0.1 5900 >/dev/null 2>&1
ptr=$(vm_cmd u 'sh /tests/usb.sh events /tmp/tab 6' | tr '\n' ' ')
rig_log "u: the USB tablet's events: $ptr"
# x * 32767 / 1023, y * 32767 / 767; BTN_LEFT 272
want="3 0 3203 3 1 4272 1 272 1 3 0 8199 3 1 5468 1 272 0 "
[ "$ptr" = "$want" ] || rig_fail "u: the USB tablet gave '$ptr', expected '$want'"

# 4. the file system on the emulated storage
disk=$(vm_cmd u 'sh /tests/usb.sh port-disk 2-1 60' | grep -m1 '^/dev/sd') || rig_fail "u: no disk on the USB storage at 2-1"
out=$(vm_cmd u "mkdir -p /mnt && mount -t ext4 $disk /mnt && cat /mnt/seed.txt && md5sum /mnt/blob" 120) ||
	rig_fail "u: mounting the USB disk failed: $out"
echo "$out" | sed 's/^/  guest: /'
echo "$out" | grep -q "^$md5 " || rig_fail "u: /blob read through USB storage has another md5 than the outer host's $md5"
t0=$(rig_now)
new=$(vm_cmd u 'dd if=/dev/urandom of=/mnt/new bs=1M count=8 2>/dev/null && sync && md5sum /mnt/new | cut -d" " -f1 && umount /mnt && echo UMOUNTED' 300) ||
	rig_fail "u: writing /new on the USB disk failed: $new"
echo "$new" | grep -q UMOUNTED || rig_fail "u: umount failed: $new"
echo
echo "RIG-USB-NEW $(echo "$new" | grep -E '^[0-9a-f]{32}$' | head -n 1)"
rig_log "u: 8 MiB written, synced and unmounted in $(rig_since "$t0") s"

# 5. hot unplug and plug of the keyboard
dpvm ctl u usb detach kbd >/dev/null || rig_fail "u: ctl usb detach kbd failed"
vm_cmd u 'sh /tests/usb.sh gone 1209:0001 60' 90 >/dev/null || rig_fail "u: the keyboard is still in the guest after detach"
dpvm ctl u usb attach keyboard id=kbd2 >/dev/null || rig_fail "u: ctl usb attach keyboard failed"
vm_cmd u 'for i in $(seq 120); do sh /tests/usb.sh ev "USB Keyboard" && break; sleep 0.5; done' >/dev/null ||
	rig_fail "u: the re-attached keyboard did not appear in the guest"
vm_cmd u 'sh /tests/usb.sh record "USB Keyboard" /tmp/kbd2' >/dev/null
sleep 1
dpvm ctl u sendkey ctrl-x >/dev/null
keys=$(vm_cmd u 'sh /tests/usb.sh events /tmp/kbd2 4' | tr '\n' ' ')
[ "$keys" = "1 29 1 1 45 1 1 45 0 1 29 0 " ] || rig_fail "u: the re-attached keyboard gave '$keys'"
rig_log "u: keyboard detached and attached again; ctrl-x arrived through the new one"

# 6. unplugged in the middle of a write
raw=$(vm_cmd u 'sh /tests/usb.sh port-disk 2-2 60' | grep -m1 '^/dev/sd') || rig_fail "u: no disk on the USB storage at 2-2"
vm_cmd u "dd if=/dev/urandom of=/tmp/first bs=1M count=1 2>/dev/null; dd if=/tmp/first of=$raw bs=1M count=1 conv=fsync 2>/dev/null && md5sum /tmp/first" >/tmp/first.md5 ||
	rig_fail "u: writing the first MiB of the raw USB disk failed"
vm_writer_start u "$raw" 1
dpvm ctl u usb detach raw >/dev/null || rig_fail "u: ctl usb detach raw failed"
vm_writer_end u 120
vm_cmd u 'sh /tests/usb.sh gone 2-2 60' 90 >/dev/null || rig_fail "u: the raw disk is still in the guest after detach"
dpvm ctl u usb attach storage path=/tmp/raw.img id=raw2 >/dev/null || rig_fail "u: re-attaching raw.img failed"
raw2=$(vm_cmd u 'sh /tests/usb.sh port-disk 2-2 90' 150 | grep -m1 '^/dev/sd') || rig_fail "u: the re-attached raw disk did not appear"
sum=$(vm_cmd u "dd if=$raw2 bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1" | grep -E '^[0-9a-f]{32}$')
[ "$sum" = "$(cut -d' ' -f1 /tmp/first.md5)" ] ||
	rig_fail "u: the first MiB after the unplug has md5 $sum, written was $(cat /tmp/first.md5)"
rig_log "u: unplugged mid-write: the guest's dd failed cleanly and the synced first MiB is intact"
vm_cmd u 'dmesg | grep -iE "USB disconnect|reset high-speed" | tail -5' | sed 's/^/  guest: /'

# 7. status and power off
st=$(dpvm ctl --json u status) || rig_fail "u: ctl status failed"
kbd=$(echo "$st" | grep -o '{"name":"kbd2"[^}]*}')
echo "$kbd" | grep -q '"backing":"emulated"' && echo "$kbd" | grep -q '"migratable":true' ||
	rig_fail "u: ctl status does not show the keyboard as an emulated, migratable USB device: $kbd"
dpvm ctl u usb list | sed 's/^/  usb list: /' | head -40
vm_send u poweroff
st=$(vm_wait_exit u 120)
[ "$st" = 0 ] || rig_fail "u: after poweroff dpvm exited with status $st"
sync
rig_log "usb: keyboard (sendkey, type), tablet (VNC pointer), storage (ext4, 8 MiB), hot unplug and plug: ok"
