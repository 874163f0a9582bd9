# Scenario "scsi-bench" (scripts/bench-scsi): fio on one LUN of the inner
# host (QEMU's scsi-hd, /dev/sdX) three ways:
#
#   native   fio in the inner host on /dev/sdX
#   dpvm     fio in a nested guest under dpvm, on a scsi-disk backed by
#            /dev/sdX (O_DIRECT) and on a physical RDM of the same LUN (/dev/sgN)
#   qemu     the same guest under QEMU in the inner host (virtio-scsi-pci with
#            scsi-hd and scsi-block on /dev/sdX), if the inner host has QEMU
#
# Workloads (fio, libaio, O_DIRECT): 4 KiB random read and write (iodepth 32),
# 1 MiB sequential read and write (iodepth 8), S s each (rig.bench_runtime=S
# on the kernel command line, default 15), each run N times in a row
# (rig.bench_runs=N, default 1).  Every result is one line
#
#   BENCH <where> <device> <workload> <iops> <KiB/s>
#
# which scripts/bench-scsi collects.
. /rig/lib.sh

RT=15
RUNS=1
for arg in $(cat /proc/cmdline); do
	case $arg in
	rig.bench_runtime=*) RT=${arg#rig.bench_runtime=} ;;
	rig.bench_runs=*) RUNS=${arg#rig.bench_runs=} ;;
	esac
done
T=/tools/bin

modprobe virtio_pci && modprobe virtio_blk && modprobe virtio_scsi && modprobe sd_mod &&
	modprobe sg && modprobe ext4 || rig_fail "cannot load the SCSI and virtio modules"
tools=
for i in $(seq 1 20); do
	tools=$(ls /sys/bus/pci/devices/0000:00:10.0/virtio*/block 2>/dev/null | head -n 1)
	[ -n "$tools" ] && break
	sleep 0.5
done
[ -n "$tools" ] || rig_fail "no tools disk at 00:10.0"
mkdir -p /tools && mount -t ext4 -o ro "/dev/$tools" /tools || rig_fail "cannot mount the tools disk"
lun=
for i in $(seq 1 40); do
	for d in /sys/bus/scsi/devices/*:*:*:*; do
		[ "$(cat "$d/model" 2>/dev/null | tr -d ' ')" = QEMUHARDDISK ] && lun=${d##*/}
	done
	[ -n "$lun" ] && break
	sleep 0.5
done
[ -n "$lun" ] || rig_fail "no QEMU scsi-hd LUN in the inner host"
sd=/dev/$(ls /sys/bus/scsi/devices/$lun/block | head -n 1)
sg=/dev/$(ls /sys/bus/scsi/devices/$lun/scsi_generic | head -n 1)
rig_log "bench: the LUN is $lun ($sd, $sg); $RT s per workload"

WORKLOADS="randread:4k:32 randwrite:4k:32 read:1M:8 write:1M:8"
fio_args() { # RW BS DEPTH DEV
	echo "--name=b --filename=$4 --rw=$1 --bs=$2 --iodepth=$3 --ioengine=libaio --direct=1" \
	     "--time_based --runtime=$RT --ramp_time=2 --size=192M --norandommap" \
	     "--output-format=terse --terse-version=3"
}
# report WHERE DEV RW < terse output: one BENCH line
report() {
	awk -F';' -v where="$1" -v dev="$2" -v rw="$3" '
		$1 == 3 {
			r = (rw ~ /read/)
			iops = r ? $8 : $49; bw = r ? $7 : $48
			printf "BENCH %s %s %s %d %d\n", where, dev, rw, iops, bw
			found = 1
		}
		END { if (!found) print "BENCH " where " " dev " " rw " 0 0" }'
}

# ---- native ----
for w in $WORKLOADS; do
	set -- $(echo "$w" | tr ':' ' ')
	for i in $(seq 1 "$RUNS"); do
		$T/fio $(fio_args "$1" "$2" "$3" "$sd") 2>/dev/null | report native lun "$1-$2"
	done
done

# ---- dpvm: a scsi-disk on the LUN's block device and a physical RDM ----
cat >/tmp/bench.json <<EOF
{
  "devices": [
    {"type": "scsi-disk", "id": "vdisk", "target": 0,
     "backing": {"type": "file", "path": "$sd", "direct": true}},
    {"type": "scsi-rdm", "id": "prdm", "target": 1,
     "backing": {"type": "rdm", "mode": "physical", "device": "$sg"}}
  ]
}
EOF
vm_guest bench --mem 512M --config /tmp/bench.json --disk "/dev/$tools,ro"
vm_wait bench DPVM-GUEST-READY 240
vm_cmd bench 'sh /tests/scsi.sh tools && export PATH=/tools/bin:$PATH && sh /tests/scsi.sh wait 2 60' >/dev/null ||
	rig_fail "bench: the guest does not see its LUNs"
for t in "0 scsi-disk" "1 rdm-physical"; do
	tgt=${t% *} name=${t#* }
	gdev=$(vm_cmd bench "sh /tests/scsi.sh sd $tgt 0") || rig_fail "bench: no device for target $tgt"
	for w in $WORKLOADS; do
		set -- $(echo "$w" | tr ':' ' ')
		for i in $(seq 1 "$RUNS"); do
			vm_cmd bench "fio $(fio_args "$1" "$2" "$3" "$gdev") 2>/dev/null" $((RT + 120)) |
				report dpvm "$name" "$1-$2"
		done
	done
done
vm_send bench poweroff
vm_wait_exit bench 90 >/dev/null

# ---- QEMU in the inner host, on the same LUN ----
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "BENCH-NOTE qemu: the inner host has no qemu-system-x86_64; the QEMU column is left out"
	exit 0
fi
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
		-drive "file=/dev/$tools,if=none,id=tools,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=tools \
		-device virtio-scsi-pci,id=scsi0 \
		-drive "file=$sd,if=none,id=hd,format=raw,cache=none,aio=native,file.locking=off" \
		-device scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=hd \
		-drive "file=$sd,if=none,id=blk,format=raw,cache=none,aio=native,file.locking=off" \
		-device scsi-block,bus=scsi0.0,scsi-id=1,lun=0,drive=blk <"$d/in" &
	echo $! >"$d/pid"
	wait $!
	echo $? >"$d/status"
) 2>&1 | tee -a "$d/out" &
vm_wait qemu DPVM-GUEST-READY 300
vm_cmd qemu 'sh /tests/scsi.sh tools && export PATH=/tools/bin:$PATH && sh /tests/scsi.sh wait 2 60' >/dev/null ||
	rig_fail "qemu: the guest does not see its LUNs"
for t in "0 scsi-hd" "1 scsi-block"; do
	tgt=${t% *} name=${t#* }
	gdev=$(vm_cmd qemu "sh /tests/scsi.sh sd $tgt 0") || rig_fail "qemu: no device for target $tgt"
	for w in $WORKLOADS; do
		set -- $(echo "$w" | tr ':' ' ')
		for i in $(seq 1 "$RUNS"); do
			vm_cmd qemu "fio $(fio_args "$1" "$2" "$3" "$gdev") 2>/dev/null" $((RT + 120)) |
				report qemu "$name" "$1-$2"
		done
	done
done
vm_send qemu poweroff
vm_wait_exit qemu 90 >/dev/null
