#!/bin/sh
# SCSI helpers in the nested guest, used by the rig scenario
# guest-tests/rig/scsi.sh (it types `sh /tests/scsi.sh CMD ...` at the shell):
#
#   scsi.sh tools        mount the tools image (the first virtio-blk disk,
#                        scripts/guest-tools) at /tools: sg3-utils and fio
#   scsi.sh list         one line per SCSI logical unit: H:C:T:L, peripheral
#                        type, vendor, model, block device, sg device
#   scsi.sh sd T L       the block device (/dev/sdX or /dev/srN) of target T, LUN L
#   scsi.sh sg T L       its SCSI generic device (/dev/sgN)
#   scsi.sh wait N [S]   wait (up to S seconds, default 30) for N logical units
#   scsi.sh klog DEV     the kernel's lines about DEV (sdX, srN) since boot
#
# Without a command (dpvm.test=scsi on the kernel command line) it lists the
# logical units and exits 0 if there is at least one.
export PATH=/tools/bin:$PATH

_dev() { # CLASS T L
	for d in /sys/bus/scsi/devices/*:0:"$2":"$3"/"$1"/*; do
		[ -e "$d" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 1
}

_luns() {
	for d in /sys/bus/scsi/devices/*:*:*:*; do
		[ -e "$d/type" ] && echo "$d"
	done
}

case ${1:-} in
tools)
	mkdir -p /tools
	grep -q " /tools " /proc/mounts || mount -t ext4 -o ro /dev/vda /tools ;;
list|"")
	n=0
	for d in $(_luns); do
		hctl=${d##*/}
		blk=$(ls "$d/block" 2>/dev/null | head -n 1)
		sg=$(ls "$d/scsi_generic" 2>/dev/null | head -n 1)
		echo "lun $hctl $(cat "$d/type") $(cat "$d/vendor" | tr -d ' ') $(cat "$d/model" | tr ' ' _ | sed 's/_*$//') ${blk:--} ${sg:--}"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] ;;
sd) _dev block "$2" "$3" ;;
sg) _dev scsi_generic "$2" "$3" ;;
wait)
	end=$(( $(cut -d. -f1 /proc/uptime) + ${3:-30} ))
	while [ "$(_luns | wc -l)" -lt "$2" ]; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { echo "only $(_luns | wc -l) of $2 LUNs"; exit 1; }
		sleep 0.5
	done
	# and their block and sg devices
	sleep 1 ;;
klog) dmesg | grep -E "\[${2#/dev/}\]|${2#/dev/}:" ;;
*) echo "scsi.sh: unknown command $1"; exit 2 ;;
esac
