# Scenario "usb-bench" (scripts/bench-usb): USB mass-storage throughput in a
# nested guest through each of dpvm's backings, against QEMU's usb-host on
# the same device in the same inner host, and the HID path's interrupt
# latency.  QEMU gives the inner host a qemu-xhci with a usb-storage on a
# raw image (46f4:0001).  Each run reads and writes rig.bench_mib MiB
# (default 32) with O_DIRECT dd at 1 MiB blocks, timed in the guest,
# rig.bench_runs times (default 1):
#
#   BENCH native read|write MBPS          the inner host on its own usb-storage
#   BENCH host|remote-client|remote-host|emulated read|write MBPS   dpvm
#   BENCH qemu-usb-host read|write MBPS   QEMU's usb-host in the inner host
#   BENCH hid latency-us-avg N | latency-us-max N | reports N
. /rig/lib.sh

mib=$(sed -n 's/.*rig\.bench_mib=\([0-9]*\).*/\1/p' /proc/cmdline)
mib=${mib:-32}
runs=$(sed -n 's/.*rig\.bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=${runs:-1}
ip link set lo up
modprobe xhci_pci
modprobe usb_storage
modprobe sd_mod
modprobe usbip_host

qdev() { # the QEMU disk's sysfs directory
	local d
	for d in /sys/bus/usb/devices/*; do
		[ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = 46f4:0001 ] &&
			{ echo "$d"; return 0; }
	done
	return 1
}
for i in $(seq 60); do qdev >/dev/null && break; sleep 0.5; done
dir=$(qdev) || rig_fail "no QEMU usb-storage (46f4:0001) in the inner host"
hp=${dir##*/}
sd=
for i in $(seq 60); do
	for b in "$dir"/*/host*/target*/*/block/*; do [ -e "$b" ] && sd=/dev/${b##*/}; done
	[ -n "$sd" ] && break
	sleep 0.5
done
[ -n "$sd" ] || rig_fail "no block device for the QEMU usb-storage"

# the guest-side (and native) measurement: DEV: "read MBPS" and "write MBPS"
MEASURE='m() { t0=$(cut -d" " -f1 /proc/uptime); dd if=$2 of=$3 bs=1M count='"$mib"' $4 2>/dev/null || { echo "$1 failed"; return 1; }; t1=$(cut -d" " -f1 /proc/uptime); awk -v a=$t0 -v b=$t1 -v n='"$mib"' -v w=$1 "BEGIN { printf \"%s %.1f\\n\", w, n / (b - a) }"; }'
measure() { # NAME VM|native DEV: $runs times
	local out i
	for i in $(seq "$runs"); do
		if [ "$2" = native ]; then
			out=$(sh -c "$MEASURE; m read $3 /dev/null iflag=direct && m write /dev/zero $3 oflag=direct")
		else
			out=$(vm_cmd "$2" "$MEASURE; m read $3 /dev/null iflag=direct && m write /dev/zero $3 oflag=direct" 900)
		fi
		out=$(echo "$out" | grep -E '^(read|write) ')
		echo "$out" | sed "s/^/BENCH $1 /"
		echo "$out" | grep -q "^write " || rig_fail "$1: the measurement failed: $out"
	done
}

# (dpvm's own messages share the console: keep the device's line)
gdisk() { vm_cmd "$1" "sh /tests/usb.sh wait-disk 46f4:0001 90" 150 | grep -m1 '^/dev/sd'; }

rebind() {
	[ -e "/sys/bus/usb/devices/$hp/$hp:1.0/driver" ] ||
		echo "$hp:1.0" >/sys/bus/usb/drivers/usb-storage/bind 2>/dev/null
	sleep 2
}

measure native native "$sd"

vm_guest b1 --mem 512M --usb host,device=46f4:0001 --usb keyboard,id=kbd
vm_wait b1 DPVM-GUEST-READY 300
d=$(gdisk b1) || rig_fail "b1: no disk"
measure host b1 "$d"
# the HID path: 40 key presses and releases, one at a time
vm_cmd b1 'sh /tests/usb.sh record "USB Keyboard" /tmp/k' >/dev/null
for i in $(seq 20); do dpvm ctl b1 sendkey a 20 >/dev/null; done
sleep 2
lat=$(dpvm ctl --json b1 usb list | grep -o '{"name":"kbd"[^}]*}')
for k in latency-us-avg latency-us-max reports-read; do
	echo "BENCH hid $k $(echo "$lat" | sed -n "s/.*\"$k\":\([0-9]*\).*/\1/p")"
done
vm_send b1 poweroff
vm_wait_exit b1 120 >/dev/null
rebind

vm_guest b2 --mem 512M --usb remote-client,listen=127.0.0.1:7700
vm_wait b2 DPVM-GUEST-READY 300
usbredirect --device 46f4:0001 --to 127.0.0.1:7700 >/tmp/redir.log 2>&1 &
redir=$!
d=$(gdisk b2) || rig_fail "b2: no disk over usbredir"
measure remote-client b2 "$d"
vm_send b2 poweroff
vm_wait_exit b2 120 >/dev/null
kill "$redir" 2>/dev/null
wait "$redir" 2>/dev/null
rebind

usbipd -D
usbip bind -b "$hp" >/dev/null || rig_fail "usbip bind failed"
vm_guest b3 --mem 512M --usb "remote-host,server=127.0.0.1,busid=$hp"
vm_wait b3 DPVM-GUEST-READY 300
d=$(gdisk b3) || rig_fail "b3: no disk over USB/IP"
measure remote-host b3 "$d"
vm_send b3 poweroff
vm_wait_exit b3 120 >/dev/null
usbip unbind -b "$hp" >/dev/null 2>&1
rebind

dd if=/dev/zero of=/tmp/emu.img bs=1M count=$((mib + 8)) 2>/dev/null
vm_guest b4 --mem 512M --usb storage,path=/tmp/emu.img
vm_wait b4 DPVM-GUEST-READY 300
d=$(vm_cmd b4 "sh /tests/usb.sh wait-disk 1209:0003 90" 150 | grep -m1 '^/dev/sd') || rig_fail "b4: no disk"
measure emulated b4 "$d"
vm_send b4 poweroff
vm_wait_exit b4 120 >/dev/null
rm -f /tmp/emu.img

# QEMU's usb-host on the same device
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "BENCH-NOTE qemu: the inner host has no qemu-system-x86_64; the QEMU column is left out"
	exit 0
fi
bus=$(cat "$dir/busnum")
addr=$(cat "$dir/devnum")
d=/tmp/vm-qemu
rm -rf "$d"
mkdir -p "$d"
mkfifo "$d/in"
: >"$d/out"
rig_now >"$d/t0"
sleep 2147483647 >"$d/in" &
echo $! >"$d/holder"
(
	qemu-system-x86_64 -enable-kvm -cpu host -smp 1 -m 512M -nographic -nodefaults \
		-serial stdio -no-reboot \
		-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "console=ttyS0 $GUEST_CMDLINE" \
		-device qemu-xhci,id=xhci -device "usb-host,bus=xhci.0,hostbus=$bus,hostaddr=$addr" <"$d/in" &
	echo $! >"$d/pid"
	wait $!
	echo $? >"$d/status"
) 2>&1 | tee -a "$d/out" &
vm_wait qemu DPVM-GUEST-READY 300
d=$(gdisk qemu) || rig_fail "qemu: no disk through usb-host"
measure qemu-usb-host qemu "$d"
vm_send qemu poweroff
vm_wait_exit qemu 120 >/dev/null
