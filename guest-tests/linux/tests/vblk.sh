#!/bin/sh
# Guest side of the rig's "disk" scenario (guest-tests/rig/disk.sh), run by
# dpvm.test=vblk with two virtio-blk disks: vda read-write, vdb read-only.
# Prints what the inner host checks:
#   disk NAME SECTORS RO      for each virtio disk
#   wrote SHA256              8 MiB written to /dev/vda (and read back)
#   vdb SHA256                the whole of /dev/vdb
# and fails if the read-back differs or a write to vdb succeeds.
cd /sys/block || exit 1
for d in vd*; do
	echo "disk $d $(cat "$d/size") $(cat "$d/ro")"
done
[ -b /dev/vda ] && [ -b /dev/vdb ] || { echo "no /dev/vda and /dev/vdb"; exit 1; }

dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null || exit 1
sum=$(sha256sum </tmp/data | cut -d' ' -f1)
dd if=/tmp/data of=/dev/vda bs=1M conv=fsync 2>/dev/null || { echo "writing /dev/vda failed"; exit 1; }
# read back from the disk, not the page cache
echo 3 >/proc/sys/vm/drop_caches
back=$(dd if=/dev/vda bs=1M count=8 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$back" = "$sum" ] || { echo "/dev/vda read back $back, wrote $sum"; exit 1; }
echo "wrote $sum"

echo "vdb $(sha256sum </dev/vdb | cut -d' ' -f1)"
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/tmp/err; then
	echo "writing the read-only /dev/vdb succeeded"
	exit 1
fi
echo "writing /dev/vdb failed as it should: $(head -n 1 /tmp/err)"
