# Scenario "scsi" (tests/rig/scsi.sh): dpvm's virtio-scsi controller against
# real LUNs of the inner host.  QEMU gives the inner host a virtio-scsi
# controller with two scsi-hd disks (serial= and wwn=) and a scsi-cd with an
# ISO, a virtio-blk disk with sg3-utils and fio (scripts/guest-tools) and one
# with ISO images (media.img); the inner host loads scsi_debug with two LUNs
# (two hosts) that return MEDIUM ERROR at sectors 4660..4669.  dpvm gives
# one nested guest:
#
#   0:0  scsi-disk   a file (/tmp/vdisk.img)            serial, WWN from the config
#   0:1  scsi-cdrom  an ISO image (insert/eject through dpvm ctl)
#   1:0  scsi-rdm    physical: QEMU disk 1 (/dev/sgN)
#   2:0  scsi-rdm    virtual:  QEMU disk 2 (/dev/sdX)
#   3:0  scsi-rdm    physical: scsi_debug host 1
#   6:0  scsi-rdm    virtual:  scsi_debug host 2
#   5:0  scsi-cdrom  the host drive (QEMU's scsi-cd), SG_IO
#
# and checks, with sg3-utils on both sides: each physical RDM answers the
# guest exactly as the inner host (sg_inq, sg_vpd -p di, sg_readcap -l,
# sg_luns, sg_turs); each virtual RDM shows the real LUN's serial and
# designators; data the guest writes is read back in the inner host with the
# same checksum; scsi_debug's medium error reaches the guest as MEDIUM ERROR
# (physical and virtual) and the guest's kernel logs it; the guest mounts
# both CDs and their files' checksums match; eject and insert are seen by
# the guest, and `dpvm ctl status` shows every LUN's identity.
. /rig/lib.sh

T=/tools/bin
modprobe virtio_pci && modprobe virtio_blk && modprobe virtio_scsi && modprobe sd_mod &&
	modprobe sr_mod && modprobe sg && modprobe ext4 && modprobe isofs ||
	rig_fail "cannot load the SCSI and virtio modules"
# busybox modprobe loads scsi_debug along with the SCSI modules, without
# parameters: reload it with them
modprobe crc-t10dif || rig_fail "cannot load crc-t10dif (for scsi_debug)"
grep -q "^scsi_debug " /proc/modules && { rmmod scsi_debug || rig_fail "cannot unload scsi_debug"; }
insmod "$(find /lib/modules/$(uname -r) -name 'scsi_debug.ko*' | head -n 1)" dev_size_mb=8 \
	add_host=2 num_tgts=1 max_luns=1 opts=2 medium_error_start=4660 medium_error_count=10 ||
	rig_fail "cannot load scsi_debug"

# the two virtio-blk disks, by their PCI address (tests/rig/scsi.sh pins them)
vdisk_at() { # SLOT
	local b
	for i in $(seq 1 20); do
		b=$(ls /sys/bus/pci/devices/0000:00:$1.0/virtio*/block 2>/dev/null | head -n 1)
		[ -n "$b" ] && { echo "/dev/$b"; return 0; }
		sleep 0.5
	done
	return 1
}
tools=$(vdisk_at 10) && media=$(vdisk_at 11) ||
	rig_fail "no tools (00:10.0) or media (00:11.0) virtio-blk disk in the inner host"
mkdir -p /tools /media
mount -t ext4 -o ro "$tools" /tools && mount -t ext4 -o ro "$media" /media ||
	rig_fail "cannot mount the tools and media disks"
$T/sg_inq --version >/dev/null 2>&1 || rig_fail "the tools image's sg_inq does not run in the inner host"

# the inner host's LUNs: by vendor, model, serial
hd1= hd2= cd= dbg0= dbg1=
for i in $(seq 1 40); do
	for d in /sys/bus/scsi/devices/*:*:*:*; do
		[ -e "$d/type" ] || continue
		sn=$(tail -c +5 "$d/vpd_pg80" 2>/dev/null | tr -d '\0 ')
		case "$(cat "$d/vendor" | tr -d ' ') $(cat "$d/model" | tr -d ' ') $sn" in
		"QEMU QEMUHARDDISK DPVMRIG-PHYS1") hd1=${d##*/} ;;
		"QEMU QEMUHARDDISK DPVMRIG-VIRT2") hd2=${d##*/} ;;
		QEMU\ QEMUCD-ROM*) cd=${d##*/} ;;
		Linux\ scsi_debug*) [ -z "$dbg0" ] || [ "$dbg0" = "${d##*/}" ] && dbg0=${d##*/} || dbg1=${d##*/} ;;
		esac
	done
	[ -n "$hd1" ] && [ -n "$hd2" ] && [ -n "$cd" ] && [ -n "$dbg0" ] && [ -n "$dbg1" ] && break
	sleep 0.5
done
[ -n "$hd1" ] && [ -n "$hd2" ] && [ -n "$cd" ] && [ -n "$dbg0" ] && [ -n "$dbg1" ] || {
	for d in /sys/bus/scsi/devices/*; do echo "  $d $(cat $d/vendor $d/model 2>/dev/null)"; done
	dmesg | grep -iE "scsi|sd |sr " | tail -n 20
	grep . /sys/module/scsi_debug/parameters/add_host /sys/module/scsi_debug/parameters/opts
	rig_fail "the inner host lacks a LUN: hd1=$hd1 hd2=$hd2 cd=$cd dbg0=$dbg0 dbg1=$dbg1"
}
node() { # CLASS H:C:T:L
	echo "/dev/$(ls /sys/bus/scsi/devices/$2/$1 | head -n 1)"
}
hd1_sg=$(node scsi_generic $hd1) hd1_sd=$(node block $hd1)
hd2_sg=$(node scsi_generic $hd2) hd2_sd=$(node block $hd2)
cd_sr=$(node block $cd)
dbg0_sg=$(node scsi_generic $dbg0) dbg1_sd=$(node block $dbg1) dbg1_sg=$(node scsi_generic $dbg1)
rig_log "inner host: hd1 $hd1 $hd1_sg, hd2 $hd2 $hd2_sd, cd $cd $cd_sr, scsi_debug $dbg0 $dbg0_sg, $dbg1 $dbg1_sd"

# what the inner host's sg3-utils say of each RDM LUN
ident() { # SGDEV PREFIX
	$T/sg_inq "$1" >"$2.inq" 2>&1
	$T/sg_vpd -p di "$1" >"$2.di" 2>&1
	$T/sg_vpd -p sn "$1" >"$2.sn" 2>&1
	$T/sg_readcap -l "$1" >"$2.cap" 2>&1
	$T/sg_luns "$1" >"$2.luns" 2>&1
	$T/sg_turs "$1" >"$2.turs" 2>&1
	echo "turs status $?" >>"$2.turs"
}
ident "$hd1_sg" /tmp/h-prdm
ident "$hd2_sg" /tmp/h-vrdm
ident "$dbg0_sg" /tmp/h-dbg0
ident "$dbg1_sg" /tmp/h-dbg1
grep -q "DPVMRIG-PHYS1" /tmp/h-prdm.sn || rig_fail "sg_vpd in the inner host does not show hd1's serial: $(cat /tmp/h-prdm.sn)"

# the emulated disk's file
dd if=/dev/zero of=/tmp/vdisk.img bs=1M count=64 2>/dev/null
cat >/tmp/scsi.json <<EOF
{
  "devices": [
    {"type": "scsi-disk", "id": "vdisk", "target": 0, "serial": "VDISK0001", "wwn": "0x5000c50000000001",
     "backing": {"type": "file", "path": "/tmp/vdisk.img"}},
    {"type": "scsi-rdm", "id": "prdm", "target": 1, "backing": {"type": "rdm", "mode": "physical", "device": "$hd1_sg"}},
    {"type": "scsi-rdm", "id": "vrdm", "target": 2, "backing": {"type": "rdm", "mode": "virtual", "device": "$hd2_sd"}},
    {"type": "scsi-rdm", "id": "dbg0", "target": 3, "lun": 0, "backing": {"type": "rdm", "mode": "physical", "device": "$dbg0_sg"}},
    {"type": "scsi-rdm", "id": "dbg1", "target": 6, "backing": {"type": "rdm", "mode": "virtual", "device": "$dbg1_sd"}},
    {"type": "scsi-cdrom", "id": "cdiso", "target": 0, "lun": 1, "backing": {"type": "file", "path": "/media/one.iso"}},
    {"type": "scsi-cdrom", "id": "cdhost", "target": 5, "backing": {"type": "host", "device": "$cd_sr"}}
  ]
}
EOF
vm_guest sg --mem 512M --config /tmp/scsi.json --disk "$tools,ro"
vm_wait sg DPVM-GUEST-READY 240
vm_cmd sg 'sh /tests/scsi.sh tools && export PATH=/tools/bin:$PATH' >/dev/null ||
	rig_fail "sg: mounting the tools image in the guest failed"
out=$(vm_cmd sg 'sh /tests/scsi.sh wait 7 60 && sh /tests/scsi.sh list') ||
	rig_fail "sg: the guest does not see 7 SCSI LUNs: $out"
rig_log "sg: the guest's LUNs:"
echo "$out" | sed 's/^/    /' >&2

# the guest's device names by target:lun
gsg() { vm_cmd sg "sh /tests/scsi.sh sg $1 $2"; }
gsd() { vm_cmd sg "sh /tests/scsi.sh sd $1 $2"; }
g_vdisk=$(gsd 0 0) g_vdisk_sg=$(gsg 0 0)
g_prdm=$(gsd 1 0) g_prdm_sg=$(gsg 1 0)
g_vrdm=$(gsd 2 0) g_vrdm_sg=$(gsg 2 0)
g_dbg0=$(gsd 3 0) g_dbg0_sg=$(gsg 3 0)
g_dbg1=$(gsd 6 0) g_dbg1_sg=$(gsg 6 0)
g_cdiso=$(gsd 0 1) g_cdhost=$(gsd 5 0)
rig_log "sg: guest devices: vdisk $g_vdisk prdm $g_prdm_sg vrdm $g_vrdm dbg0 $g_dbg0_sg dbg1 $g_dbg1 cd $g_cdiso $g_cdhost"

# ---- identity: physical RDM answers as the LUN itself ----
gident() { # SGDEV PREFIX
	vm_cmd sg "sg_inq $1 2>&1" >"$2.inq"
	vm_cmd sg "sg_vpd -p di $1 2>&1" >"$2.di"
	vm_cmd sg "sg_vpd -p sn $1 2>&1" >"$2.sn"
	vm_cmd sg "sg_readcap -l $1 2>&1" >"$2.cap"
	vm_cmd sg "sg_luns $1 2>&1" >"$2.luns"
	vm_cmd sg "sg_turs $1 2>&1; echo turs status \$?" >"$2.turs"
}
gident "$g_prdm_sg" /tmp/g-prdm
gident "$g_dbg0_sg" /tmp/g-dbg0
gident "$g_vrdm_sg" /tmp/g-vrdm
gident "$g_dbg1_sg" /tmp/g-dbg1
for lun in prdm dbg0; do
	for what in inq di sn cap luns turs; do
		cmp -s "/tmp/h-$lun.$what" "/tmp/g-$lun.$what" || {
			diff "/tmp/h-$lun.$what" "/tmp/g-$lun.$what" >&2
			rig_fail "sg: physical RDM $lun: the guest's $what differs from the inner host's"
		}
	done
	rig_log "sg: physical RDM $lun: sg_inq, sg_vpd -p di/sn, sg_readcap -l, sg_luns, sg_turs as in the inner host"
done
# ---- virtual RDM: the real LUN's serial, designators, vendor, capacity ----
for lun in vrdm dbg1; do
	for what in di sn; do
		cmp -s "/tmp/h-$lun.$what" "/tmp/g-$lun.$what" || {
			diff "/tmp/h-$lun.$what" "/tmp/g-$lun.$what" >&2
			rig_fail "sg: virtual RDM $lun: the guest's VPD ($what) differs from the inner host's"
		}
	done
	for f in "Vendor identification" "Product identification" "Product revision level"; do
		[ "$(grep "$f" /tmp/h-$lun.inq)" = "$(grep "$f" /tmp/g-$lun.inq)" ] ||
			rig_fail "sg: virtual RDM $lun: $f differs: host '$(grep "$f" /tmp/h-$lun.inq)', guest '$(grep "$f" /tmp/g-$lun.inq)'"
	done
	for f in "Last LBA" "Logical block length"; do
		[ "$(grep "$f" /tmp/h-$lun.cap)" = "$(grep "$f" /tmp/g-$lun.cap)" ] ||
			rig_fail "sg: virtual RDM $lun: $f differs"
	done
	rig_log "sg: virtual RDM $lun: serial, designators, vendor/product/revision and capacity as in the inner host"
done
grep -q DPVMRIG-VIRT2 /tmp/g-vrdm.sn || rig_fail "sg: the virtual RDM's serial is not the LUN's: $(cat /tmp/g-vrdm.sn)"

# ---- the emulated disk: identity, VPD pages, no complaints from sd ----
out=$(vm_cmd sg "sg_inq $g_vdisk_sg && sg_vpd -p sn $g_vdisk_sg && sg_vpd -p di $g_vdisk_sg && sg_readcap -l $g_vdisk_sg && sg_vpd -p bl $g_vdisk_sg && sg_vpd -p bdc $g_vdisk_sg && sg_vpd -p lbpv $g_vdisk_sg && sg_modes -p 8 $g_vdisk_sg && sg_turs $g_vdisk_sg && sg_luns $g_vdisk_sg && sg_opcodes $g_vdisk_sg 2>&1") ||
	rig_fail "sg: sg3-utils failed on the emulated disk: $(echo "$out" | tail -n 5)"
for want in "DPVM" "Virtual disk" "VDISK0001" "0x5000c50000000001" "Last LBA=131071" "Logical block length=512" \
	    "Maximum transfer length" "Non-rotating medium" "Unmap command supported (LBPU): 1" \
	    "Caching, page_control: current"; do
	echo "$out" | grep -q -- "$want" || rig_fail "sg: sg3-utils on the emulated disk do not show '$want'"
done
out=$(vm_cmd sg "cat /sys/class/scsi_disk/0:0:0:0/cache_type /sys/class/scsi_disk/0:0:0:0/FUA /sys/class/scsi_disk/0:0:0:0/provisioning_mode")
[ "$(echo $out)" = "write back 1 unmap" ] ||
	rig_fail "sg: the guest's sd sees the emulated disk's cache type, FUA, provisioning as '$(echo $out)', expected 'write back 1 unmap'"
rig_log "sg: emulated disk: INQUIRY, VPD 80/83/B0/B1/B2, READ CAPACITY, MODE SENSE, REPORT LUNS, RSOC answered; sd: $(echo $out)"
klog=$(vm_cmd sg "dmesg | grep -E 'sd 0:0:0:0|\\[${g_vdisk#/dev/}\\]' | grep -v 'Mode Sense:' | grep -iE 'warn|error|fail|unknown|not supported|unsupported|sense'")
[ -z "$klog" ] || rig_fail "sg: the guest's kernel complains about the emulated disk: $klog"

# ---- data: the guest writes, the inner host reads the same ----
for d in "$g_vdisk" "$g_prdm" "$g_vrdm"; do
	s=$(vm_cmd sg "dd if=/dev/urandom of=/tmp/d bs=1M count=4 2>/dev/null && dd if=/tmp/d of=$d bs=1M seek=1 oflag=direct conv=fsync 2>/dev/null && echo 3 >/proc/sys/vm/drop_caches && dd if=$d bs=1M skip=1 count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1 && sha256sum </tmp/d | cut -d' ' -f1") ||
		rig_fail "sg: writing 4 MiB to $d in the guest failed"
	set -- $s
	[ "$1" = "$2" ] || rig_fail "sg: $d read back $1 in the guest, wrote $2"
	eval "sum_${d#/dev/}=$1"
done
rig_log "sg: 4 MiB written to the emulated disk and both RDMs read back equal in the guest"

# ---- the emulated disk's file grows: the guest is told (a virtio-scsi
# parameter change event and CAPACITY DATA HAS CHANGED) and sees the size ----
truncate -s 96M /tmp/vdisk.img
vm_cmd sg "dd if=/dev/zero of=$g_vdisk bs=512 count=1 seek=8 oflag=direct conv=fsync 2>/dev/null" >/dev/null ||
	rig_fail "sg: a write after the disk's file grew failed"
size=
for i in $(seq 1 20); do
	size=$(vm_cmd sg "cat /sys/block/${g_vdisk#/dev/}/size")
	[ "$size" = 196608 ] && break
	sleep 1
done
[ "$size" = 196608 ] || {
	dpvm ctl sg status | tr -d ' \n' | grep -oE '"events":[0-9]+'
	vm_cmd sg "dmesg | tail -n 8"
	rig_fail "sg: the guest's ${g_vdisk#/dev/} has $size sectors after its file grew to 96 MiB, expected 196608"
}
rig_log "sg: the emulated disk's file grew to 96 MiB; the guest sees $size sectors"

# ---- medium errors from scsi_debug: physical and virtual RDM ----
out=$(vm_cmd sg "sg_raw -r 512 $g_dbg0_sg 28 00 00 00 12 34 00 00 01 00 2>&1")
echo "$out" | grep -qi "medium error" || rig_fail "sg: physical RDM: READ of LBA 4660 did not give MEDIUM ERROR: $out"
out=$(vm_cmd sg "sg_raw -r 512 $g_dbg1_sg 28 00 00 00 12 34 00 00 01 00 2>&1")
echo "$out" | grep -qi "medium error" || rig_fail "sg: virtual RDM: READ of LBA 4660 did not give MEDIUM ERROR: $out"
vm_cmd sg "dd if=$g_dbg0 of=/dev/null bs=512 skip=4660 count=1 iflag=direct 2>&1" >/dev/null &&
	rig_fail "sg: reading the bad sector of the physical RDM through the guest's sd succeeded"
vm_cmd sg "dd if=$g_dbg1 of=/dev/null bs=512 skip=4660 count=1 iflag=direct 2>&1" >/dev/null &&
	rig_fail "sg: reading the bad sector of the virtual RDM through the guest's sd succeeded"
out=$(vm_cmd sg "dmesg | grep -iE 'medium error|unrecovered read error' | grep -E '${g_dbg0#/dev/}|${g_dbg1#/dev/}'")
echo "$out" | grep -q "${g_dbg0#/dev/}" && echo "$out" | grep -q "${g_dbg1#/dev/}" ||
	rig_fail "sg: the guest's kernel did not log the medium errors of both RDMs: $out"
rig_log "sg: medium errors reach the guest (sense and kernel log) through physical and virtual RDM:"
echo "$out" | head -n 4 | sed 's/^/    /' >&2

# ---- CDs: the ISO image and the host drive ----
check_cd() { # DEV SUMSFILE WHAT
	local out
	out=$(vm_cmd sg "mkdir -p /mnt/cd && mount -t iso9660 -o ro $1 /mnt/cd && (cd /mnt/cd && sha256sum *) ; umount /mnt/cd")
	echo "$out" | sort >/tmp/g-cd.sums
	sort "$2" | cmp -s - /tmp/g-cd.sums ||
		rig_fail "sg: $3: the guest's checksums differ: $(echo $out)"
	rig_log "sg: $3: mounted in the guest, $(wc -l </tmp/g-cd.sums) files with the right checksums"
}
check_cd "$g_cdiso" /media/one.sums "the ISO image one.iso"
check_cd "$g_cdhost" /media/host.sums "the host drive (QEMU scsi-cd, SG_IO)"
out=$(vm_cmd sg "sg_inq $g_cdiso && sg_get_config -c $(echo $g_cdiso) 2>&1") || rig_fail "sg: sg3-utils on the CD failed: $out"
echo "$out" | grep -q "CD-ROM" || rig_fail "sg: GET CONFIGURATION shows no CD-ROM profile: $out"

# eject (dpvm ctl): the guest sees no medium; insert another: it sees that one
st=$(dpvm ctl sg cdrom eject id=cdiso 2>&1) || rig_fail "sg: dpvm ctl cdrom eject failed: $st"
out=$(vm_cmd sg "dd if=$g_cdiso of=/dev/null bs=2048 count=1 2>&1") &&
	rig_fail "sg: the guest read the CD after the eject: $out"
rig_log "sg: after 'cdrom eject' the guest reads: $(echo $out | cut -c1-80)"
st=$(dpvm ctl sg cdrom insert /media/two.iso id=cdiso 2>&1) || rig_fail "sg: dpvm ctl cdrom insert failed: $st"
check_cd "$g_cdiso" /media/two.sums "after 'cdrom insert two.iso'"
# the guest's own eject opens the tray
vm_cmd sg "sg_start --eject $g_cdiso" >/dev/null 2>&1 || rig_fail "sg: sg_start --eject in the guest failed"
dpvm ctl sg status | tr -d ' \n' | grep -q '"name":"cdiso".*"tray":"open"' ||
	rig_fail "sg: after the guest's eject, status does not show the tray open"

# the host drive: 'cdrom eject' reaches it (START STOP UNIT through SG_IO),
# 'insert' is refused with the reason
# (asked through the sg node: opening /dev/srN would close the tray again,
# as Linux does on open)
st=$(dpvm ctl sg cdrom eject id=cdhost 2>&1) || rig_fail "sg: dpvm ctl cdrom eject of the host drive failed: $st"
out=$(vm_cmd sg "sg_turs $(gsg 5 0) 2>&1") &&
	rig_fail "sg: the host drive is still ready after the eject: $out"
echo "$out" | grep -qiE "not present|not ready" || rig_fail "sg: after the eject the host drive says: $out"
st=$(dpvm ctl sg cdrom insert /media/two.iso id=cdhost 2>&1) &&
	rig_fail "sg: dpvm ctl cdrom insert on a host drive succeeded: $st"
echo "$st" | grep -q "host drive" || rig_fail "sg: insert on a host drive: unclear refusal '$st'"
rig_log "sg: the host drive ejected through dpvm ctl (guest: $(echo $out | cut -c1-60)); insert refused: $st"

# ---- identities in dpvm ctl status ----
st=$(dpvm ctl sg status | tr -d ' \n')
for want in '"serial":"VDISK0001","wwn":"5000c50000000001"' '"serial":"DPVMRIG-PHYS1","wwn":"5000c50015ea71ac"' \
	    '"serial":"DPVMRIG-VIRT2","wwn":"5000c50015ea71ad"' '"mode":"physical"' '"mode":"virtual"'; do
	echo "$st" | grep -q "$want" || rig_fail "sg: ctl status lacks $want"
done
rig_log "sg: ctl status shows every LUN's serial and WWN"

vm_send sg poweroff
st=$(vm_wait_exit sg 90)
[ "$st" = 0 ] || rig_fail "sg: after poweroff dpvm exited with status $st"

# the inner host reads what the guest wrote
h=$(dd if=/tmp/vdisk.img bs=1M skip=1 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$h" = "$(eval echo \$sum_${g_vdisk#/dev/})" ] || rig_fail "sg: /tmp/vdisk.img holds $h, the guest wrote $(eval echo \$sum_${g_vdisk#/dev/})"
h=$(dd if=$hd1_sd bs=1M skip=1 count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$h" = "$(eval echo \$sum_${g_prdm#/dev/})" ] || rig_fail "sg: the physical RDM's LUN holds $h, the guest wrote another"
h=$(dd if=$hd2_sd bs=1M skip=1 count=4 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$h" = "$(eval echo \$sum_${g_vrdm#/dev/})" ] || rig_fail "sg: the virtual RDM's LUN holds $h, the guest wrote another"
rig_log "sg: the inner host reads back what the guest wrote on all three disks"
