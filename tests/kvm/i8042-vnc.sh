#!/usr/bin/env bash
# The VNC console with real viewers that no one here wrote, on a guest
# program (guest-tests/i8042.c keys=N draw=1) on this host's KVM:
#   - --vnc and --vnc-password-file errors name the fix;
#   - a wrong password is refused (vncsnapshot), the right one accepted;
#   - vncsnapshot sees the pattern the guest drew (pixel colours);
#   - TigerVNC's viewer under Xvfb, driven by xdotool, types Shift, Ctrl,
#     arrows and keypad keys: the guest reads exactly those set 1 scan
#     codes, in order, make and break; a second viewer types too;
#   - the guest draws a square per byte it got: a snapshot after typing
#     has them all (only the changed rows were sent, by the dirty log);
#   - `ctl status` counts the viewers and says the console has a password.
. "$(dirname "$0")/../lib.sh"
need_kvm
for c in Xvfb xtigervncviewer xdotool vncsnapshot vncpasswd; do
	command -v $c >/dev/null || skip "$c not found; run scripts/install-deps"
done
PY=$(command -v /usr/bin/python3 || command -v python3)
"$PY" -c 'import PIL' 2>/dev/null || skip "python3-pil not found; run scripts/install-deps"
GUEST=$DPVM_TOP/build/guest-tests/i8042.elf
[ -f "$GUEST" ] || fail "$GUEST is missing; run make guest-programs"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${name:-}" ] && "$DPVM" ctl "$name" quit >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- configuration errors: one line naming the fix, status 2 ----
bad_flags() { # WANT-STATUS WANT-TEXT FLAGS...
	local want=$1 text=$2 st
	shift 2
	"$DPVM" run --kernel "$GUEST" --api none --console none "$@" </dev/null >"$T/bad.out" 2>&1
	st=$?
	[ $st -eq "$want" ] || { cat "$T/bad.out"; fail "'$*' exited $st, expected $want"; }
	grep -qF -- "$text" "$T/bad.out" || { cat "$T/bad.out"; fail "'$*' did not say '$text'"; }
	echo "  ok: $* -> $st: $(head -n 1 "$T/bad.out")"
}
printf 's3cret\n' >"$T/pw"
chmod 600 "$T/pw"
printf '123456789\n' >"$T/pw-long"
: >"$T/pw-empty"
bad_flags 2 "'1.2.3' is not an IPv4 address" --vnc 1.2.3:5900
bad_flags 2 "is not a TCP port" --vnc 127.0.0.1:0
bad_flags 2 "is not a TCP port" --vnc 127.0.0.1:65536
bad_flags 2 "is not a screen size" --vnc :5900,size=10x10
bad_flags 2 "is not an option" --vnc :5900,bogus=1
bad_flags 2 "a second VNC console" --vnc :5900 --vnc :5901
bad_flags 2 "No such file" --vnc :5900 --vnc-password-file "$T/nonexistent"
bad_flags 2 "at most 8, so the rest would be ignored" --vnc :5900 --vnc-password-file "$T/pw-long"
bad_flags 2 "the first line is empty" --vnc-password-file "$T/pw-empty" --vnc :5900
bad_flags 2 "the password is given twice" --vnc ":5900,password-file=$T/pw" --vnc-password-file "$T/pw"
bad_flags 1 "there is no VNC console to protect" --vnc-password-file "$T/pw"
port=$(free_port)
"$PY" -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$port)); s.listen(); time.sleep(30)" &
pids+=($!)
sleep 0.5
bad_flags 1 "cannot listen: Address already in use" --vnc "127.0.0.1:$port"

# ---- a VM with a password-protected console ----
port=$(free_port)
name=i8042-vnc-$$
printf 's3cret\n' | vncpasswd -f >"$T/good.vnc"
printf 'wrong\n' | vncpasswd -f >"$T/bad.vnc"
nbytes=40	# typed 38, then Escape (01 81) from `ctl sendkey` ends the program
"$DPVM" run --name "$name" --kernel "$GUEST" --exit-port 0xf4 --console "file:$T/console.raw" \
	--powerdown-timeout 1 --vnc "127.0.0.1:$port" --vnc-password-file "$T/pw" \
	--cmdline "keys=$nbytes draw=1 timeout_ms=60000" </dev/null 2>"$T/dpvm.err" &
dpvm_pid=$!
pids+=($dpvm_pid)
for _ in $(seq 300); do
	grep -q KEYS-READY "$T/console.raw" 2>/dev/null && break
	kill -0 $dpvm_pid 2>/dev/null || break
	sleep 0.1
done
grep -q KEYS-READY "$T/console.raw" || { cat "$T/dpvm.err"; fail "the guest never listened for keys"; }

# a wrong password is refused
vncsnapshot -quiet -allowblank -passwd "$T/bad.vnc" -nojpeg "127.0.0.1::$port" "$T/bad.jpg" >"$T/snap-bad.out" 2>&1 &&
	fail "vncsnapshot with a wrong password got a picture"
grep -q "authentication failed" "$T/snap-bad.out" || grep -qi "failed" "$T/snap-bad.out" ||
	{ cat "$T/snap-bad.out"; fail "vncsnapshot with a wrong password: no refusal"; }
grep -q "gave a wrong password" "$T/dpvm.err" || { cat "$T/dpvm.err"; fail "dpvm did not log the wrong password"; }
echo "  ok: a wrong password is refused"

# the right one: the four squares the guest drew, black elsewhere
vncsnapshot -quiet -allowblank -passwd "$T/good.vnc" -nojpeg "127.0.0.1::$port" "$T/pattern.jpg" >/dev/null 2>&1 ||
	fail "vncsnapshot with the right password failed"
"$PY" - "$T/pattern.jpg" <<'EOF' || fail "the snapshot does not show the guest's pattern"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
assert im.size == (1024, 768), im.size
want = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
for i, w in enumerate(want):
    for (x, y) in [(64 * i + 8, 8), (64 * i + 32, 32), (64 * i + 56, 56)]:
        p = im.getpixel((x, y))
        assert all(abs(a - b) < 40 for a, b in zip(p, w)), (x, y, p, w)
for (x, y) in [(300, 32), (512, 384), (1000, 700), (32, 100)]:
    assert max(im.getpixel((x, y))) < 40, (x, y, im.getpixel((x, y)))
print("  ok: the snapshot has red, green, blue and white squares at the top left, black elsewhere")
EOF

# ---- TigerVNC's viewer under Xvfb, typing with xdotool ----
exec 5>"$T/xvfb.display"
Xvfb -displayfd 5 -screen 0 1280x1024x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/xvfb.display" ] && break; sleep 0.1; done
[ -s "$T/xvfb.display" ] || fail "Xvfb did not start: $(cat "$T/xvfb.log")"
export DISPLAY=:$(head -n 1 "$T/xvfb.display")
viewer() { # LOG
	xtigervncviewer -passwd "$T/good.vnc" -MenuKey= -Shared=1 -RemoteResize=0 \
		"127.0.0.1::$port" >"$1" 2>&1 &
	pids+=($!)
}
viewer "$T/viewer1.log"
w1=$(timeout 20 xdotool search --sync --name "dpvm $name" | head -n 1)
[ -n "$w1" ] || fail "the viewer's window did not appear: $(cat "$T/viewer1.log")"
viewer "$T/viewer2.log"
for _ in $(seq 100); do
	[ "$(xdotool search --name "dpvm $name" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
w2=$(xdotool search --name "dpvm $name" | grep -v "^$w1\$" | head -n 1)
[ -n "$w2" ] || fail "the second viewer's window did not appear: $(cat "$T/viewer2.log")"
"$DPVM" ctl --json "$name" status >"$T/status.json" || fail "ctl status failed"
"$PY" - "$T/status.json" <<'EOF' || fail "ctl status does not show the console as expected"
import json, sys
d = json.load(open(sys.argv[1]))
st = d.get("return", d)
vnc = [d for d in st["devices"] if d["name"] == "vnc"][0]
assert vnc["viewers"] == 2, vnc
assert vnc["password"] is True, vnc
assert vnc["width"] == 1024 and vnc["height"] == 768, vnc
print("  ok: ctl status: %d viewers, password, %dx%d, dirty log %s" %
      (vnc["viewers"], vnc["width"], vnc["height"], vnc["dirty-log"]))
EOF

press() { # KEY...: each key down and up, in order, to the focused window
	local k
	for k in "$@"; do
		xdotool keydown "$k"
		sleep 0.05
		xdotool keyup "$k"
		sleep 0.05
	done
}
xdotool windowfocus --sync "$w1"
# Shift+a and Ctrl+c, held the way a typist does; arrows; keypad
xdotool keydown shift; sleep 0.05; xdotool keydown a; sleep 0.05; xdotool keyup a; sleep 0.05
xdotool keyup shift; sleep 0.05
xdotool keydown ctrl; sleep 0.05; xdotool keydown c; sleep 0.05; xdotool keyup c; sleep 0.05
xdotool keyup ctrl; sleep 0.05
press Up Left Down Right KP_Home KP_Add KP_Enter KP_Multiply Return
# the second viewer types too
xdotool windowfocus --sync "$w2"
press z

for _ in $(seq 100); do
	[ "$(grep -c '^scancode' "$T/console.raw")" -ge 38 ] && break
	kill -0 $dpvm_pid 2>/dev/null || break
	sleep 0.1
done
tr -d '\r' <"$T/console.raw" >"$T/console.txt"
want="2a 1e 9e aa 1d 2e ae 9d e0 48 e0 c8 e0 4b e0 cb e0 50 e0 d0 e0 4d e0 cd 47 c7 4e ce e0 1c e0 9c 37 b7 1c 9c 2c ac"
got=$(sed -n 's/^scancode 0x//p' "$T/console.txt" | tr '\n' ' ' | sed 's/ $//')
echo "  typed:    $want"
echo "  received: $got"
[ "$got" = "$want" ] || { cat "$T/dpvm.err"; fail "the guest received other scan codes than were typed"; }

# a square per byte: the rows the guest changed reached the viewer
vncsnapshot -quiet -allowblank -passwd "$T/good.vnc" -nojpeg "127.0.0.1::$port" "$T/typed.jpg" >/dev/null 2>&1 ||
	fail "vncsnapshot after typing failed"
"$PY" - "$T/typed.jpg" 38 <<'EOF' || fail "the snapshot after typing lacks the squares"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
n = 0
for i in range(64):
    r, g, b = im.getpixel((16 * i + 8, 768 - 8))
    n += r > 200 and g > 200 and b < 60
assert n == int(sys.argv[2]), (n, sys.argv[2])
print("  ok: %d yellow squares, one per byte the guest received" % n)
EOF
"$DPVM" ctl "$name" sendkey esc >/dev/null || fail "ctl sendkey esc failed"
for _ in $(seq 100); do
	grep -q "KEYS-DONE $nbytes" "$T/console.raw" && break
	sleep 0.1
done
grep -q "KEYS-DONE $nbytes" "$T/console.raw" || fail "the guest did not get Escape from ctl sendkey"

wait $dpvm_pid
st=$?
[ $st -eq 1 ] || { cat "$T/dpvm.err"; fail "dpvm exited $st, expected 1 (the program passed)"; }

# ---- the viewer's pointer moves the PS/2 mouse ----
name=$name-mouse
"$DPVM" run --name "$name" --kernel "$GUEST" --exit-port 0xf4 --console "file:$T/mouse.raw" \
	--powerdown-timeout 1 --vnc "127.0.0.1:$port" --vnc-password-file "$T/pw" \
	--cmdline "mouse=100 timeout_ms=60000" </dev/null 2>"$T/mouse.err" &
dpvm_pid=$!
pids+=($dpvm_pid)
for _ in $(seq 300); do
	grep -q MOUSE-READY "$T/mouse.raw" 2>/dev/null && break
	kill -0 $dpvm_pid 2>/dev/null || break
	sleep 0.1
done
grep -q MOUSE-READY "$T/mouse.raw" || { cat "$T/mouse.err"; fail "the guest never listened to the mouse"; }
viewer "$T/viewer3.log"
w3=$(timeout 20 xdotool search --sync --name "dpvm $name" | head -n 1)
[ -n "$w3" ] || fail "the viewer's window did not appear: $(cat "$T/viewer3.log")"
xdotool windowfocus --sync "$w3"
# the viewer sends motion once it has seen a click in its window
xdotool mousemove --window "$w3" 200 200; sleep 0.3; xdotool click 1; sleep 0.3
# then: +100 right and up, +30 right and 10 up, a right click, back by
# (-230, +190) in one packet, and a middle click that ends the program
xdotool mousemove --window "$w3" 300 100; sleep 0.3
xdotool mousemove --window "$w3" 330 90; sleep 0.3
xdotool click 3; sleep 0.3
xdotool mousemove --window "$w3" 100 280; sleep 0.3
xdotool click 2
wait $dpvm_pid
st=$?
tr -d '\r' <"$T/mouse.raw" >"$T/mouse.txt"
[ $st -eq 1 ] || { cat "$T/mouse.txt" "$T/mouse.err"; fail "dpvm exited $st, expected 1 (the mouse program passed)"; }
got=$(sed -n 's/^packet //p' "$T/mouse.txt" | tail -n 7 | tr '\n' ',' | sed 's/,$//')
want="0 100 100,0 30 10,2 0 0,0 0 0,0 -230 -190,4 0 0,0 0 0"
echo "  pointer packets: $got"
[ "$got" = "$want" ] || { cat "$T/mouse.txt"; fail "PS/2 packets '$got', want '$want'"; }
echo "  ok: the viewer's pointer arrives as PS/2 mouse packets (buttons, dx, dy with y up)"
name=
grep -c "vnc: viewer .* connected" "$T/dpvm.err" | sed 's/^/  viewers connected: /'
echo PASS
