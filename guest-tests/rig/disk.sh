# Scenario "disk" (tests/rig/disk.sh): virtio-blk disks in a nested Linux
# guest (--disk FILE[,ro]):
#   - the guest sees /dev/vda (read-write) and /dev/vdb (read-only)
#   - 8 MiB the guest writes to /dev/vda reach the file: the inner host reads
#     them back with the same checksum after the guest powered off
#   - /dev/vdb holds what the inner host put there; the guest's kernel sees
#     it read-only, a write fails and the file stays unchanged
. /rig/lib.sh

dd if=/dev/zero of=/tmp/rw.img bs=1M count=16 2>/dev/null
dd if=/dev/urandom of=/tmp/ro.img bs=1M count=4 2>/dev/null
ro_sum=$(sha256sum </tmp/ro.img | cut -d' ' -f1)

vm_guest dk --mem 512M --disk /tmp/rw.img --disk /tmp/ro.img,ro
vm_wait dk DPVM-GUEST-READY 180

disks=$(vm_cmd dk 'cd /sys/block && for d in vd*; do echo "$d $(cat $d/size) $(cat $d/ro)"; done') ||
	rig_fail "dk: listing /sys/block failed in the guest"
rig_log "dk: the guest's disks (name, 512-byte sectors, ro): $(echo $disks)"
[ "$(echo $disks)" = "vda 32768 0 vdb 8192 1" ] ||
	rig_fail "dk: the guest sees disks '$(echo $disks)', expected 'vda 32768 0 vdb 8192 1'"

# write 8 MiB of random data to vda, read it back in the guest past its cache
g_sum=$(vm_cmd dk 'dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null && sha256sum </tmp/data | cut -d" " -f1') ||
	rig_fail "dk: making test data in the guest failed"
out=$(vm_cmd dk 'dd if=/tmp/data of=/dev/vda bs=1M conv=fsync 2>&1') ||
	rig_fail "dk: writing /dev/vda in the guest failed: $out"
back=$(vm_cmd dk 'echo 3 >/proc/sys/vm/drop_caches; dd if=/dev/vda bs=1M count=8 2>/dev/null | sha256sum | cut -d" " -f1') ||
	rig_fail "dk: reading /dev/vda in the guest failed"
[ "$back" = "$g_sum" ] || rig_fail "dk: the guest read back $back from /dev/vda, wrote $g_sum"

# the read-only disk: the inner host's data, and writes refused
g_ro=$(vm_cmd dk 'sha256sum </dev/vdb | cut -d" " -f1') || rig_fail "dk: reading /dev/vdb in the guest failed"
[ "$g_ro" = "$ro_sum" ] || rig_fail "dk: the guest reads $g_ro from /dev/vdb, the file has $ro_sum"
out=$(vm_cmd dk 'dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>&1') &&
	rig_fail "dk: writing the read-only /dev/vdb succeeded in the guest: $out"
rig_log "dk: writing /dev/vdb failed as it should: $(echo $out)"

vm_send dk poweroff
st=$(vm_wait_exit dk 60)
[ "$st" = 0 ] || rig_fail "dk: after poweroff dpvm exited with status $st, expected 0"

h_sum=$(dd if=/tmp/rw.img bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1)
rig_log "dk: the guest wrote $g_sum; the file has $h_sum"
[ "$h_sum" = "$g_sum" ] || rig_fail "dk: the file behind /dev/vda has $h_sum, the guest wrote $g_sum"
[ "$(sha256sum </tmp/ro.img | cut -d' ' -f1)" = "$ro_sum" ] ||
	rig_fail "dk: the read-only disk's file changed"
