#!/bin/sh
# Guest side of the rig's "passthru-nic" scenario: an e1000e assigned by
# dpvm, driven by the guest's own e1000e driver.  Takes nic.ip=A.B.C.D and
# nic.peer=A.B.C.D from the kernel command line; prints
#   nic IFACE DRIVER
#   nic rom SIGNATURE SIZE   the first two bytes of the expansion ROM (55aa)
#   nic ping ok N            after pinging the peer (the inner host's NIC)
#   nic irq NAME COUNT TYPE  the driver's interrupts from /proc/interrupts
# then stays up 20 s so that the peer can ping it.
ip=$(sed -n 's/.*nic\.ip=\([0-9.]*\).*/\1/p' /proc/cmdline)
peer=$(sed -n 's/.*nic\.peer=\([0-9.]*\).*/\1/p' /proc/cmdline)
for i in /sys/class/net/*; do
	[ "$(basename "$(readlink "$i/device/driver" 2>/dev/null)")" = e1000e ] && ifc=${i##*/}
done
[ -n "$ifc" ] || { echo "no e1000e interface"; ls /sys/class/net; exit 1; }
echo "nic $ifc e1000e"
# the expansion ROM (iPXE's, from QEMU) reads through the ROM BAR
rom=/sys/class/net/$ifc/device/rom
if [ -e "$rom" ]; then
	echo 1 >"$rom"
	echo "nic rom $(head -c 2 "$rom" | od -An -tx1 | tr -d ' \n') $(wc -c <"$rom")"
	echo 0 >"$rom"
fi
ip link set "$ifc" up && ip addr add "$ip/24" dev "$ifc" || exit 1
# the link comes up after autonegotiation
for n in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null)" = 1 ] && break
	sleep 1
done
ping -c 3 -W 5 "$peer" >/tmp/ping || { cat /tmp/ping; echo "ping $peer failed"; exit 1; }
echo "nic ping ok $(grep -c 'bytes from' /tmp/ping)"
echo "nic up, waiting for the peer"
sleep 20
grep "$ifc" /proc/interrupts | awk '{ s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print "nic irq", $NF, s, $(NF-2) }'
