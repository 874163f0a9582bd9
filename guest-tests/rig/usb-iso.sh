# Scenario "usb-iso" (tests/rig/usb-iso.sh): isochronous transfers through
# backing "host".  QEMU gives the inner host a qemu-xhci with a usb-audio
# (46f4:0002, a USB Audio Class 1 speaker with an isochronous OUT
# endpoint) whose sound goes to a WAV file on the outer host.
#   1. a nested guest gets the device with --usb host,device=46f4:0002: dpvm
#      claims it through libusb
#   2. the guest's own snd-usb-audio binds it and offers a playback PCM
#   3. pcm-play (guest-tests/linux/tools) plays 0.5 s of a 1 kHz square
#      wave and drains: every isochronous TD goes through dpvm's xHCI and
#      libusb to the inner host's xHCI and QEMU's device; the outer test
#      finds the wave in the WAV file
#   4. ctl usb list and status count the transfers; the guest powers off
#      and the inner host gets the device back
. /rig/lib.sh

FRAMES=24000
modprobe xhci_pci
# the inner host's view of QEMU's speaker
found=
for i in $(seq 1 60); do
	for d in /sys/bus/usb/devices/*; do
		[ "$(cat "$d/idVendor" 2>/dev/null):$(cat "$d/idProduct" 2>/dev/null)" = 46f4:0002 ] && found=${d##*/}
	done
	[ -n "$found" ] && break
	sleep 0.5
done
[ -n "$found" ] || rig_fail "the inner host has no QEMU usb-audio (46f4:0002)"
dpvm host usb list | grep -E "46f4:0002" | sed 's/^/  host usb list: /'
rig_log "inner host: QEMU's usb-audio is $found"

vm_guest a --mem 512M --usb host,device=46f4:0002,id=spk
vm_wait a DPVM-GUEST-READY 300
# a reset of QEMU's device that times out in a loaded inner host makes the
# inner host enumerate it again (a new address): dpvm then unplugs it from
# the guest, as it should; a user attaches it again, and so does this test
if vm_out a | grep -q "spk unplugged from the guest"; then
	rig_log "a: $(vm_out a | grep -m1 'spk unplugged from the guest' | tr -d '\r'); attaching it again"
	# the inner host takes a while to enumerate it again
	for i in $(seq 1 30); do
		err=$(dpvm ctl a usb attach host device=46f4:0002 id=spk2 2>&1) && break
		sleep 2
	done
	[ "$i" -lt 30 ] || rig_fail "a: ctl usb attach failed: $err"
	sleep 3
fi
out=$(vm_cmd a 'modprobe snd_usb_audio && for i in $(seq 1 100); do [ -e /dev/snd/pcmC0D0p ] && break; sleep 0.2; done; ls /dev/snd; cat /proc/asound/cards' 120) ||
	rig_fail "a: snd-usb-audio did not load: $out"
echo "$out" | sed 's/^/  guest: /'
echo "$out" | grep -q pcmC0D0p || rig_fail "a: the guest's snd-usb-audio offers no playback PCM"
t0=$(rig_now)
out=$(vm_cmd a "pcm-play /dev/snd/pcmC0D0p $FRAMES" 400) || {
	vm_cmd a 'dmesg | tail -20' | sed 's/^/  guest: /'
	rig_fail "a: pcm-play failed: $out"
}
echo "$out" | sed 's/^/  guest: /'
echo "$out" | grep -q "^pcm-play: $FRAMES frames" || rig_fail "a: pcm-play did not play $FRAMES frames"
rig_log "a: played $FRAMES frames through the isochronous endpoint in $(rig_since "$t0") s"
vm_cmd a 'cat /proc/asound/card0/stream0 2>/dev/null | head -12' | sed 's/^/  guest: /'
st=$(dpvm ctl --json a usb list)
echo "$st" | sed 's/^/  ctl usb list: /'
echo "$st" | grep -q '"backing":"host"' || rig_fail "a: ctl usb list does not show the host device"
vm_send a poweroff
[ "$(vm_wait_exit a 120)" = 0 ] || rig_fail "a: dpvm did not exit 0 after poweroff"
echo "RIG-USB-ISO $FRAMES"
