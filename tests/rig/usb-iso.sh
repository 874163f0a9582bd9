#!/usr/bin/env bash
# Isochronous transfers with a real device in the rig (scenario
# guest-tests/rig/usb-iso.sh): QEMU gives the inner host a usb-audio on a
# qemu-xhci, its output a WAV file here; a nested guest gets the device
# through backing "host" (libusb) and its own snd-usb-audio plays 0.5 s of
# a 1 kHz square wave.  Here: the WAV holds that wave (runs of 24 samples
# of one sign at 48 kHz, both channels), as much of it as the guest played.
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
PY=$(command -v /usr/bin/python3 || command -v python3) || skip "python3 not found; run scripts/install-deps"

wav=$T/usb-audio.wav
rig_quiet usb-iso "guest:|host usb list:|ctl usb list:" --timeout 900 \
	--qemu-dev qemu-xhci,id=xhci \
	--qemu-dev "-audiodev wav,id=snd0,path=$wav,out.frequency=48000,out.channels=2,out.format=s16" \
	--qemu-dev usb-audio,bus=xhci.0,audiodev=snd0
log=$RIG_LOG
frames=$(tr -d '\r' <"$log" | sed -n 's/^RIG-USB-ISO \([0-9]*\).*/\1/p' | tail -n 1)
[ -n "$frames" ] || fail "the scenario printed no RIG-USB-ISO line"
[ -s "$wav" ] || fail "QEMU wrote no $wav"

# the square wave in the WAV: frames with both channels equal and loud,
# and the lengths of the runs of one sign
"$PY" - "$wav" "$frames" <<'PYEOF' || fail "the WAV file does not hold what the guest played"
import statistics, struct, sys, wave
w = wave.open(sys.argv[1])
played = int(sys.argv[2])
assert w.getnchannels() == 2 and w.getsampwidth() == 2 and w.getframerate() == 48000, \
    f"unexpected WAV format {w.getparams()}"
raw = w.readframes(w.getnframes())
s = struct.unpack(f"<{len(raw) // 2}h", raw)
frames = list(zip(s[0::2], s[1::2]))
loud = [l for l, r in frames if abs(l) > 1000 and l == r]
runs, cur, sign = [], 0, 0
for v in loud:
    sg = 1 if v > 0 else -1
    if sg == sign:
        cur += 1
    else:
        if cur:
            runs.append(cur)
        cur, sign = 1, sg
print(f"  WAV: {len(frames)} frames, {len(loud)} loud with both channels equal "
      f"(the guest played {played}); runs of one sign: median {statistics.median(runs) if runs else 0}")
assert len(loud) >= played // 2, "less than half of the frames the guest played reached the device"
assert runs and 22 <= statistics.median(runs) <= 26, "the runs are not those of a 1 kHz square wave"
PYEOF
echo "  ok: the 1 kHz square wave the guest played is in QEMU's WAV output"
echo PASS
