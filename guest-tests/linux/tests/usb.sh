#!/bin/sh
# USB helpers in the nested guest, used by the rig scenarios
# guest-tests/rig/usb*.sh (typed at the shell as `sh /tests/usb.sh CMD ...`):
#
#   usb.sh devices          one line per USB device: BUS-PORT VID:PID speed driver(s) product
#   usb.sh ev NAME          the /dev/input/eventN of the input device whose name has NAME
#   usb.sh record NAME F    record its input events into F (in the background)
#   usb.sh events F [N [S]] the recorded key, button and axis events: "TYPE CODE VALUE"
#                           (1 EV_KEY, 2 EV_REL, 3 EV_ABS), one a line; with N, it
#                           first waits up to S seconds (default 30) for N of them
#   usb.sh disk VID:PID     the block device (/dev/sdX) of that USB storage device
#   usb.sh wait-disk VID:PID [S]   wait up to S seconds (default 60) for it
#   usb.sh port-disk B-P [S]   the block device of the USB storage at bus-port B-P,
#                           waiting up to S seconds (default 60)
#   usb.sh gone ID [S]      wait up to S seconds (default 60) for the device to
#                           disappear; ID is VID:PID or a bus-port B-P
#
# Without a command (dpvm.test=usb) it lists the devices and exits 0 if the
# xHCI controller has any.
_ids() { # DIR: VID:PID of a USB device directory
	[ -e "$1/idVendor" ] && echo "$(cat "$1/idVendor"):$(cat "$1/idProduct")"
}

_find() { # VID:PID: the device's sysfs directory
	for d in /sys/bus/usb/devices/*; do
		[ "$(_ids "$d")" = "$1" ] && { echo "$d"; return 0; }
	done
	return 1
}

case ${1:-} in
devices|"")
	n=0
	for d in /sys/bus/usb/devices/*; do
		[ -e "$d/idVendor" ] || continue
		[ "$(cat "$d/bDeviceClass")" = 09 ] && continue	# the root hubs
		drv=$(for i in "$d"/*:*; do [ -e "$i/driver" ] && basename "$(readlink "$i/driver")"; done | sort -u | tr '\n' ,)
		echo "usb ${d##*/} $(_ids "$d") $(cat "$d/speed") ${drv%,} $(cat "$d/product" 2>/dev/null | tr ' ' _)"
		n=$((n + 1))
	done
	[ -n "${1:-}" ] || [ "$n" -gt 0 ] ;;
ev)
	for d in /sys/class/input/event*; do
		case $(cat "$d/device/name") in
		*"$2"*) echo "/dev/input/${d##*/}"; exit 0 ;;
		esac
	done
	exit 1 ;;
record)
	ev=$(sh "$0" ev "$2") || { echo "no input device '$2'"; exit 1; }
	# one 24-byte struct input_event per read
	dd if="$ev" of="$3" bs=24 2>/dev/null &
	echo $! >"$3.pid"
	echo "recording $ev" ;;
events)
	_events() {
		od -An -v -tu2 -w24 "$1" | awk '$9 >= 1 && $9 <= 3 {
			v = $11 + 65536 * $12; if (v >= 2147483648) v -= 4294967296
			print $9, $10, v }'
	}
	if [ -n "${3:-}" ]; then
		i=$((${4:-30} * 5))
		while [ "$(_events "$2" | wc -l)" -lt "$3" ] && [ $i -gt 0 ]; do
			sleep 0.2; i=$((i - 1))
		done
		sleep 0.5	# and a moment for any event that should not be there
	fi
	[ -e "$2.pid" ] && kill "$(cat "$2.pid")" 2>/dev/null
	sleep 0.2
	_events "$2" ;;
disk)
	d=$(_find "$2") || exit 1
	for b in "$d"/*/host*/target*/*/block/*; do
		[ -e "$b" ] && { echo "/dev/${b##*/}"; exit 0; }
	done
	exit 1 ;;
wait-disk)
	end=$(( $(cut -d. -f1 /proc/uptime) + ${3:-60} ))
	until sh "$0" disk "$2" >/dev/null; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { echo "no disk for $2"; exit 1; }
		sleep 0.5
	done
	sh "$0" disk "$2" ;;
port-disk)
	end=$(( $(cut -d. -f1 /proc/uptime) + ${3:-60} ))
	while :; do
		for b in /sys/bus/usb/devices/"$2"/*/host*/target*/*/block/*; do
			[ -e "$b" ] && { echo "/dev/${b##*/}"; exit 0; }
		done
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { echo "no disk at $2"; exit 1; }
		sleep 0.5
	done ;;
gone)
	end=$(( $(cut -d. -f1 /proc/uptime) + ${3:-60} ))
	while case $2 in *:*) _find "$2" >/dev/null ;; *) [ -e "/sys/bus/usb/devices/$2" ] ;; esac; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { echo "$2 is still there"; exit 1; }
		sleep 0.5
	done ;;
*) echo "usb.sh: unknown command $1"; exit 2 ;;
esac
