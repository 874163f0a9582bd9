# Scenario "passthru-host" (tests/rig/passthru-host.sh): the host side of
# DirectPath I/O on a real kernel with an emulated Intel IOMMU.  The inner
# host has (tests/rig/passthru-host.sh sets the addresses):
#   00:03.0 VGA (the boot VGA: the console)     00:04.0 qemu-xhci + a USB disk
#   00:05.0 edu (no reset method)               00:06.0 edu + 00:06.1 virtio-net:
#   00:07.0 pcie-root-port, 01:00.0 e1000e           one slot, one IOMMU group
#   00:1f.0/.2/.3 q35's ISA bridge, AHCI (a SATA disk) and SMBus: one group
# It checks:
#   - `host pci list` (table and --json) against sysfs: ids, IOMMU groups and
#     their members, drivers; the reasons of bridges, the console, the boot
#     disk and boot USB controller (/boot and /boot/efi mounted from them), a
#     NIC whose interface is up, a group that is not viable, no reset
#   - `check`: edu's missing reset, e1000e's PM and bus resets
#   - enable / disable / apply round trips: e1000e -> vfio-pci -> e1000e,
#     edu: none -> vfio-pci -> none, --group on the multi-function slot
#   - bad input, each one line with nothing changed on the host: malformed
#     and absent addresses, a group that is not viable, the boot disk, boot
#     USB, console, an up NIC, a bridge, a held /dev/vfio group
. /rig/lib.sh

EDU=0000:00:05.0 NIC=0000:01:00.0 RP=0000:00:07.0 VGA=0000:00:03.0 XHCI=0000:00:04.0
MF0=0000:00:06.0 MF1=0000:00:06.1 LPC=0000:00:1f.0 SATA=0000:00:1f.2 SMBUS=0000:00:1f.3
CONF=/etc/dpvm/passthru.conf
S=/sys/bus/pci/devices

drv() { # BDF: its driver, "none" if unbound
	local l
	l=$(readlink "$S/$1/driver") && basename "$l" || echo none
}
group() { basename "$(readlink "$S/$1/iommu_group")"; }
ids() { echo "$(cut -c3- "$S/$1/vendor"):$(cut -c3- "$S/$1/device")"; }

# every function's driver and driver_override, and the conf: what a refused
# command must leave as it found it
state() {
	local d
	for d in "$S"/*; do
		echo "${d##*/} $(drv "${d##*/}") $(cat "$d/driver_override")"
	done
	cat "$CONF" 2>/dev/null || echo "no conf"
}

# refused STATUS NEEDLE ARGS...: `dpvm ARGS` exits STATUS with one error line
# containing NEEDLE, and changes nothing
refused() {
	local want=$1 needle=$2 st
	shift 2
	state >/tmp/before
	dpvm "$@" >/tmp/out 2>/tmp/err
	st=$?
	state >/tmp/after
	rig_log "dpvm $*: $(cat /tmp/err)"
	[ "$st" = "$want" ] || rig_fail "dpvm $*: exit $st, expected $want: $(cat /tmp/err)"
	[ "$(wc -l </tmp/err)" = 1 ] && grep -q '^dpvm: ' /tmp/err ||
		rig_fail "dpvm $*: expected one error line, got: $(cat /tmp/err)"
	grep -qF -- "$needle" /tmp/err || rig_fail "dpvm $*: the error does not say '$needle': $(cat /tmp/err)"
	cmp -s /tmp/before /tmp/after ||
		rig_fail "dpvm $*: the host changed: $(diff /tmp/before /tmp/after | grep '^[-+][^-+]' | tr '\n' ' ')"
}

# ok ARGS...: `dpvm ARGS` succeeds; its output in /tmp/out
ok() {
	dpvm "$@" >/tmp/out 2>/tmp/err || rig_fail "dpvm $*: failed: $(cat /tmp/err)"
	rig_log "dpvm $*: $(head -c 1500 /tmp/out | tr '\n' '|') $(cat /tmp/err)"
}

expect_drv() { # BDF DRIVER WHEN
	[ "$(drv "$1")" = "$2" ] || rig_fail "$1 is on $(drv "$1") $3, expected $2"
}

# table_has BDF TEXT: the `pci list` line of BDF says TEXT
table_has() {
	grep "^$1 " /tmp/list.txt | grep -qF -- "$2" ||
		rig_fail "pci list: the line of $1 does not say '$2': $(grep "^$1 " /tmp/list.txt)"
}

# ---- the devices ----
for m in e1000e virtio_pci ahci sd_mod xhci_pci usb_storage ext4 vfat nls_cp437 nls_ascii; do
	modprobe "$m" || rig_fail "modprobe $m failed"
done
for i in $(seq 1 100); do
	[ "$(drv $NIC)" = e1000e ] && [ "$(drv $MF1)" = virtio-pci ] && [ "$(drv $SATA)" = ahci ] &&
		ls /sys/block | grep -q sd && break
	sleep 0.2
done
[ "$(ids $EDU)" = 1234:11e8 ] && [ "$(ids $MF0)" = 1234:11e8 ] && [ "$(ids $NIC)" = 8086:10d3 ] &&
	[ "$(cut -c3- $S/$MF1/vendor)" = 1af4 ] && [ "$(ids $SATA)" = 8086:2922 ] ||
	rig_fail "the devices are not where tests/rig/passthru-host.sh put them: $(ls $S | tr '\n' ' ')"
expect_drv $NIC e1000e "after modprobe"
expect_drv $EDU none "at boot"
rig_log "groups: edu $(group $EDU), nic $(group $NIC), multi-function $(group $MF0)/$(group $MF1), sata $(group $SATA); resets: nic '$(cat $S/$NIC/reset_method)', edu '$(cat $S/$EDU/reset_method 2>/dev/null)'"
[ "$(group $MF0)" = "$(group $MF1)" ] || rig_fail "the multi-function slot's functions are in groups $(group $MF0) and $(group $MF1)"
[ "$(group $SATA)" = "$(group $SMBUS)" ] || rig_fail "q35's SATA and SMBus functions are in different groups"

# ---- `pci list` against sysfs ----
dpvm host pci list --json >/tmp/list.json || rig_fail "pci list --json failed"
awk '/^    "bdf": / { gsub(/[",]/, "", $2); b = $2 }
     /^    "id": / { gsub(/[",]/, "", $2); i = $2 }
     /^    "iommu_group": / { gsub(/,/, "", $2); g = $2 }
     /^    "driver": / { gsub(/[",]/, "", $2); print b, i, g, ($2 == "null" ? "none" : $2) }' \
	/tmp/list.json >/tmp/from-dpvm
for d in "$S"/*; do
	b=${d##*/}
	echo "$b $(ids "$b") $(group "$b") $(drv "$b")"
done >/tmp/from-sysfs
cmp -s /tmp/from-dpvm /tmp/from-sysfs ||
	rig_fail "pci list --json differs from sysfs: $(diff /tmp/from-sysfs /tmp/from-dpvm | grep '^[-+][^-+]' | tr '\n' ' ')"
rig_log "pci list --json matches sysfs for $(wc -l </tmp/from-sysfs) functions (id, group, driver)"
# the group's other members, as sysfs has them
others=$(ls /sys/kernel/iommu_groups/"$(group $SATA)"/devices | grep -v "^$SATA$" | tr '\n' ' ')
got=$(awk -v b="$SATA" '/^    "bdf": / { on = index($0, b) > 0 }
	on && /^    "group_others"/ { g = 1; next } g && /\]/ { g = 0 }
	on && g { gsub(/[" ,]/, ""); printf "%s ", $0 }' /tmp/list.json)
[ "$got" = "$others" ] || rig_fail "pci list --json: $SATA's group members are '$got', sysfs says '$others'"

# the host uses the SATA disk for /boot, the USB disk for /boot/efi, and the
# NIC's interface is up
sata_disk= usb_disk=
for b in /sys/block/sd*; do
	case $(readlink -f "$b") in
	*"$SATA"*) sata_disk=${b##*/} ;;
	*"$XHCI"*/usb*) usb_disk=${b##*/} ;;
	esac
done
[ -n "$sata_disk" ] && [ -n "$usb_disk" ] || rig_fail "no SATA or USB disk: $(ls /sys/block | tr '\n' ' ')"
mke2fs -q "/dev/$sata_disk" && mkdir -p /boot && mount -t ext4 "/dev/$sata_disk" /boot ||
	rig_fail "cannot mount /dev/$sata_disk on /boot"
mkdosfs "/dev/$usb_disk" >/dev/null && mkdir -p /boot/efi && mount -t vfat "/dev/$usb_disk" /boot/efi ||
	rig_fail "cannot mount /dev/$usb_disk on /boot/efi"
nif=$(ls "$S/$NIC/net")
ip link set "$nif" up || rig_fail "ip link set $nif up failed"

ok host pci list
cp /tmp/out /tmp/list.txt
[ "$(wc -l </tmp/list.txt)" = $(( $(ls $S | wc -l) + 1 )) ] || rig_fail "pci list: $(wc -l </tmp/list.txt) lines for $(ls $S | wc -l) functions"
cat /tmp/list.txt
table_has 0000:00:00.0 "a bridge (Host bridge)"
table_has $RP "a bridge (PCI bridge)"
table_has $LPC "a bridge (ISA bridge)"
table_has $VGA "the host's console (the boot VGA device)"
table_has $SATA "the host's boot disk (/boot is mounted from $sata_disk)"
table_has $XHCI "the USB controller the host boots from (/boot/efi is mounted from $usb_disk)"
table_has $NIC "in use by the host (network interface $nif is up)"
table_has $SMBUS "group $(group $SMBUS) not viable: 00:1f.2 is on ahci"
table_has $EDU "no reset method"
table_has $MF0 "group $(group $MF0) not viable: 00:06.1 is on virtio-pci"
table_has $SATA "$(group $SATA) "
table_has $SMBUS "00:1f.0,00:1f.2"

# ---- bad input: one line, nothing changed ----
refused 2 "1:0.0: not a PCI address" host passthru enable 1:0.0
refused 2 "0000:00:1e.0: no such PCI function" host passthru enable 00:1e.0
refused 2 "0000:00:1e.0: no such PCI function" host passthru check 0000:00:1e.0
refused 1 "$SMBUS: cannot be passed through: IOMMU group $(group $SMBUS) is not viable: $SATA is bound to ahci; pass it through too" host passthru enable $SMBUS
refused 1 "$SATA: cannot be passed through: it is the host's boot disk controller (/boot is mounted from $sata_disk)" host passthru enable $SATA
refused 1 "$SATA: cannot be passed through: it is the host's boot disk" host passthru enable --group $SMBUS
refused 1 "$XHCI: cannot be passed through: it is the USB controller the host boots from" host passthru enable 00:04.0
refused 1 "$VGA: cannot be passed through: it is the host's console (the boot VGA device)" host passthru enable $VGA
refused 1 "$NIC: cannot be passed through: it is in use by the host: network interface $nif is up" host passthru enable $NIC
refused 1 "$RP: cannot be passed through: it is a bridge (PCI bridge)" host passthru enable $RP
refused 1 "$EDU: not enabled for passthrough" host passthru disable $EDU
refused 1 "$NIC: cannot be passed through" host passthru enable $EDU $NIC
umount /boot/efi /boot || rig_fail "umount failed"
ip link set "$nif" down

# ---- check ----
dpvm host passthru check $EDU >/tmp/check; st=$?
cat /tmp/check
[ $st = 0 ] || rig_fail "check $EDU: exit $st"
grep -q '^warn  reset              none: no FLR, no PM reset, no bus reset' /tmp/check ||
	rig_fail "check $EDU does not report the missing reset"
grep -q "^verdict: $EDU can be passed through after .*, with allow-no-reset" /tmp/check ||
	rig_fail "check $EDU: $(grep verdict /tmp/check)"
dpvm host passthru check --mem 1G $NIC >/tmp/check; st=$?
cat /tmp/check
[ $st = 0 ] || rig_fail "check $NIC: exit $st"
grep -q "^ok    reset              $(cat $S/$NIC/reset_method) " /tmp/check ||
	rig_fail "check $NIC does not report its resets ($(cat $S/$NIC/reset_method)): $(grep reset /tmp/check)"
grep -q "^ok    bus-reset          possible: the kernel can reset bus 0000:01 (behind $RP)" /tmp/check ||
	rig_fail "check $NIC: no bus reset: $(grep bus-reset /tmp/check)"
grep -q '^ok    BARs ' /tmp/check || rig_fail "check $NIC: $(grep BARs /tmp/check)"
dpvm host passthru check $SMBUS >/tmp/check && rig_fail "check $SMBUS passed a group that is not viable"
grep -q "^fail  group              IOMMU group $(group $SMBUS) is not viable: $SATA is bound to ahci" /tmp/check ||
	rig_fail "check $SMBUS: $(grep group /tmp/check)"

# ---- enable, apply, disable ----
ok host passthru enable $NIC 00:05.0
expect_drv $NIC vfio-pci "after enable"
expect_drv $EDU vfio-pci "after enable"
[ -c /dev/vfio/"$(group $NIC)" ] && [ -c /dev/vfio/"$(group $EDU)" ] || rig_fail "no /dev/vfio/N after enable"
grep -q "^/device/$NIC/host-driver = \"e1000e\"$" $CONF && grep -q "^/device/$EDU/host-driver = \"\"$" $CONF &&
	grep -q "^/device/$NIC/id = \"8086:10d3\"$" $CONF || rig_fail "the conf: $(cat $CONF)"
ok host pci list
grep "^$NIC " /tmp/out | grep -q ' vfio-pci  *enabled ' || rig_fail "pci list after enable: $(grep "^$NIC " /tmp/out)"
dpvm host passthru check $NIC >/tmp/check || rig_fail "check $NIC after enable: $(grep -E '^fail|verdict' /tmp/check)"
grep -q "^ok    driver             vfio-pci (/dev/vfio/$(group $NIC))" /tmp/check || rig_fail "check: $(grep driver /tmp/check)"
grep -q "^verdict: $NIC can be passed through$" /tmp/check || rig_fail "check: $(grep verdict /tmp/check)"
refused 1 "$SMBUS: cannot be passed through: IOMMU group $(group $SMBUS)" host passthru enable $EDU $SMBUS

# a process holding the group: disable refuses instead of hanging
sleep 600 3<>/dev/vfio/"$(group $EDU)" &
holder=$!
sleep 0.5
refused 1 "$EDU: /dev/vfio/$(group $EDU) is open in process $holder (sleep)" host passthru disable $EDU
kill $holder
wait $holder 2>/dev/null

# "reboot": the kernel's drivers take the devices again; apply re-applies the conf
for b in $NIC $EDU; do
	echo > "$S/$b/driver_override"
	echo $b > "$S/$b/driver/unbind"
done
echo $NIC > /sys/bus/pci/drivers/e1000e/bind
expect_drv $NIC e1000e "after the simulated reboot"
expect_drv $EDU none "after the simulated reboot"
ok host passthru apply
grep -q "^applied 2 of 2 devices from $CONF" /tmp/out || rig_fail "apply: $(cat /tmp/out)"
expect_drv $NIC vfio-pci "after apply"
expect_drv $EDU vfio-pci "after apply"
ok host passthru apply
grep -q "^$NIC 8086:10d3: already on vfio-pci" /tmp/out || rig_fail "apply again: $(cat /tmp/out)"

# apply with a record of a device that is gone and one whose id changed
cp $CONF /tmp/conf.good
printf '/device/0000:00:1e.0/owner = "passthru"\n/device/0000:00:1e.0/id = "8086:10d3"\n' >>$CONF
sed -i "s|^/device/$EDU/id = .*|/device/$EDU/id = \"1234:0001\"|" $CONF
dpvm host passthru apply >/tmp/out 2>/tmp/err && rig_fail "apply with an absent device succeeded"
rig_log "apply: $(tr '\n' '|' </tmp/err) $(tr '\n' '|' </tmp/out)"
grep -q "0000:00:1e.0 (8086:10d3 in $CONF): no such PCI function now" /tmp/err &&
	grep -q "$EDU: $CONF records 1234:0001 but the slot now holds 1234:11e8" /tmp/err &&
	grep -q "^applied 1 of 3 devices" /tmp/out || rig_fail "apply: $(cat /tmp/err /tmp/out)"
ok host passthru disable 0000:00:1e.0
grep -q "0000:00:1e.0" $CONF && rig_fail "disable left the absent device's record"
cp /tmp/conf.good $CONF

ok host passthru disable $NIC $EDU
expect_drv $NIC e1000e "after disable"
expect_drv $EDU none "after disable"
grep -q "^/device/" $CONF && rig_fail "the conf still has devices: $(cat $CONF)"
[ -z "$(cat $S/$NIC/driver_override)" ] || [ "$(cat $S/$NIC/driver_override)" = "(null)" ] ||
	rig_fail "$NIC keeps driver_override $(cat $S/$NIC/driver_override)"
ip link set "$(ls $S/$NIC/net)" up || rig_fail "e1000e did not give $NIC an interface back"
ip link set "$(ls $S/$NIC/net)" down

# --group: the multi-function slot goes together, and comes back
refused 1 "$MF0: cannot be passed through: IOMMU group $(group $MF0) is not viable: $MF1 is bound to virtio-pci" host passthru enable $MF0
ok host passthru enable --group $MF0
expect_drv $MF0 vfio-pci "after enable --group"
expect_drv $MF1 vfio-pci "after enable --group"
ok host passthru disable $MF0 $MF1
expect_drv $MF0 none "after disable"
expect_drv $MF1 virtio-pci "after disable"
rig_log "round trips done: e1000e -> vfio-pci -> e1000e, edu none -> vfio-pci -> none, --group (edu + virtio-pci)"
