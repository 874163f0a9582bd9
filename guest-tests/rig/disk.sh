# Scenario "disk" (tests/rig/disk.sh): virtio-blk disks in a nested Linux
# guest (--disk FILE[,ro]), whose side runs as the guest test vblk
# (guest-tests/linux/tests/vblk.sh, dpvm.test=vblk; it powers off at the end):
#   - the guest sees /dev/vda (read-write) and /dev/vdb (read-only)
#   - 8 MiB the guest writes to /dev/vda reach the file: the inner host reads
#     them back with the same checksum after the guest powered off
#   - /dev/vdb holds what the inner host put there; the guest's kernel sees
#     it read-only, a write fails and the file stays unchanged
. /rig/lib.sh

dd if=/dev/zero of=/tmp/rw.img bs=1M count=16 2>/dev/null
dd if=/dev/urandom of=/tmp/ro.img bs=1M count=4 2>/dev/null
ro_sum=$(sha256sum </tmp/ro.img | cut -d' ' -f1)

GUEST_CMDLINE="$GUEST_CMDLINE dpvm.test=vblk"
vm_guest dk --mem 512M --disk /tmp/rw.img --disk /tmp/ro.img,ro
vm_wait dk "DPVM-TEST-EXIT vblk" 240
st=$(vm_wait_exit dk 60)
out=$(vm_out dk | tr -d '\r')
echo "$out" | grep -q "^DPVM-TEST-EXIT vblk 0$" ||
	rig_fail "dk: the guest test vblk failed: $(echo "$out" | grep -B1 '^DPVM-TEST-EXIT' | head -n 1)"
[ "$st" = 0 ] || rig_fail "dk: after the guest test powered off dpvm exited with status $st, expected 0"

disks=$(echo "$out" | sed -n 's/^disk //p' | tr '\n' ' ')
[ "$disks" = "vda 32768 0 vdb 8192 1 " ] ||
	rig_fail "dk: the guest sees disks (name, 512-byte sectors, ro) '$disks', expected 'vda 32768 0 vdb 8192 1'"
g_sum=$(echo "$out" | sed -n 's/^wrote //p')
h_sum=$(dd if=/tmp/rw.img bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1)
rig_log "dk: the guest wrote $g_sum to /dev/vda; the file has $h_sum"
[ -n "$g_sum" ] && [ "$h_sum" = "$g_sum" ] ||
	rig_fail "dk: the file behind /dev/vda has $h_sum, the guest wrote '$g_sum'"
g_ro=$(echo "$out" | sed -n 's/^vdb //p')
[ "$g_ro" = "$ro_sum" ] || rig_fail "dk: the guest read '$g_ro' from /dev/vdb, the file has $ro_sum"
[ "$(sha256sum </tmp/ro.img | cut -d' ' -f1)" = "$ro_sum" ] ||
	rig_fail "dk: the read-only disk's file changed"
