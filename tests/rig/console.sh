#!/usr/bin/env bash
# The trapped keyboard and the VNC console with a Linux guest in the rig
# (scenario guest-tests/rig/console.sh), driven from this host with real
# viewers no one here wrote, through the rig's port forwarding:
#   - the guest's i8042/atkbd drivers probe with default options ("AT
#     Translated Set 2 keyboard"); vesafb and fbcon take the framebuffer
#   - TigerVNC's viewer under Xvfb, driven by xdotool, types Shift+a,
#     Ctrl+c, the four arrows, keypad Home, +, Enter and *, Return and Caps
#     Lock: the guest's /dev/input reads exactly those Linux key codes, in
#     order, press and release
#   - vncsnapshot captures the screen: the two lines the guest wrote on tty1
#     are there, pixel for pixel as its own font draws them (the guest
#     prints the glyph bitmaps; this test renders the lines with them and
#     compares every pixel of the 8x16 cells, and that the rest of the rows
#     is blank); the capture is kept as build/rig/console.png
#   - Caps Lock's LED: on in the guest and in `dpvm ctl NAME status`, off
#     after `ctl sendkey caps_lock`; `ctl type` arrives as key events
#   - `ctl sendkey ctrl-alt-delete` reboots the guest through the 8042's
#     reset line
#   - TigerVNC's pointer moves and clicks: Linux's psmouse, with default
#     options, reads the exact relative motion and buttons
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
for c in Xvfb xtigervncviewer xdotool vncsnapshot vncpasswd; do
	command -v $c >/dev/null || skip "$c not found; run scripts/install-deps"
done
PY=$(command -v /usr/bin/python3 || command -v python3)
"$PY" -c 'import PIL' 2>/dev/null || skip "python3-pil not found; run scripts/install-deps"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
vport=$(free_port)
sport=$(free_port)
while [ "$sport" = "$vport" ]; do sport=$(free_port); done

# the scenario marks its lines with this run's token
token=$$
"$DPVM_TOP/scripts/rig" run console --hostfwd "tcp::$vport-:5900" --hostfwd "tcp::$sport-:5901" \
	--append "console.token=$token" --timeout 900 -q >"$T/rig.out" 2>&1 &
rig=$!
pids+=($rig)
# the inner host's console: build/rig/console.log, or console.PID.log when
# another run of the scenario holds that one
mark="RIG-CONSOLE[$token]"
logs() { cat "$DPVM_TOP/build/rig/console.log" "$DPVM_TOP/build/rig/console.$rig.log" 2>/dev/null | tr -d '\r'; }

# wait_log TEXT SECONDS: until the inner host's console says TEXT
wait_log() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		logs | grep -qF -- "$1" && return 0
		if ! kill -0 $rig 2>/dev/null; then
			wait $rig
			cat "$T/rig.out"
			logs | tail -n 40
			fail "the rig ended before '$1'"
		fi
		sleep 0.2
	done
	logs | tail -n 40
	fail "no '$1' from the rig within $2 s"
}

# signal STEP: connect to the scenario's signal port until it got it
signal() {
	local i
	for i in $(seq 20); do
		"$PY" -c "import socket; socket.create_connection(('127.0.0.1', $sport), timeout=5).close()" 2>/dev/null
		for _ in $(seq 15); do
			logs | grep -qF "$mark: GOT $1" && return 0
			sleep 0.2
		done
	done
	fail "the scenario did not get the signal for '$1'"
}

wait_log "$mark: TYPE" 600
echo "  the guest is up and logging key events"

# ---- TigerVNC's viewer types ----
printf 'dpvm-rig\n' | vncpasswd -f >"$T/pw.vnc"
exec 5>"$T/xvfb.display"
Xvfb -displayfd 5 -screen 0 1280x1024x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/xvfb.display" ] && break; sleep 0.1; done
[ -s "$T/xvfb.display" ] || fail "Xvfb did not start: $(cat "$T/xvfb.log")"
export DISPLAY=:$(head -n 1 "$T/xvfb.display")
xtigervncviewer -passwd "$T/pw.vnc" -MenuKey= -Shared=1 -RemoteResize=0 \
	"127.0.0.1::$vport" >"$T/viewer.log" 2>&1 &
pids+=($!)
w=$(timeout 60 xdotool search --sync --name "dpvm con" | head -n 1)
[ -n "$w" ] || fail "the viewer's window did not appear: $(cat "$T/viewer.log")"
xdotool windowfocus --sync "$w"
sleep 1
down() { xdotool keydown "$1"; sleep 0.1; }
up() { xdotool keyup "$1"; sleep 0.1; }
press() { local k; for k in "$@"; do down "$k"; up "$k"; done; }
down shift; press a; up shift
down ctrl; press c; up ctrl
press Up Left Down Right KP_Home KP_Add KP_Enter KP_Multiply Return Caps_Lock
echo "  typed through TigerVNC's viewer"

# ---- the screen ----
sleep 3
vncsnapshot -quiet -allowblank -nojpeg -passwd "$T/pw.vnc" "127.0.0.1::$vport" "$T/text.jpg" \
	>/dev/null 2>&1 </dev/null || fail "vncsnapshot failed"
logs >"$T/log.txt"
"$PY" - "$T/text.jpg" "$T/log.txt" "$mark" <<'EOF' || fail "the text the guest wrote is not on the captured screen"
import sys
from PIL import Image

im = Image.open(sys.argv[1]).convert("L")
assert im.size == (1024, 768), im.size
lines, glyphs = {}, {}
mark = sys.argv[3]
for l in open(sys.argv[2], errors="replace"):
    l = l.rstrip("\n")
    # a line of the scenario's may follow the guest's prompt
    if mark + "-TEXT " in l:
        _, row, text = l[l.index(mark):].split(" ", 2)
        lines[int(row)] = text
    elif mark + "-GLYPH " in l:
        _, ch, rows = l[l.index(mark):].split(" ")
        glyphs[int(ch, 16)] = bytes.fromhex(rows)
assert lines and glyphs, "no text or glyphs in the rig's log"
bad = lit = 0
for row, text in lines.items():
    for col in range(128):
        g = glyphs[ord(text[col])] if col < len(text) else bytes(16)
        for y in range(16):
            for x in range(8):
                want = bool(g[y] & (0x80 >> x))
                got = im.getpixel((col * 8 + x, row * 16 + y)) > 0x55
                bad += want != got
                lit += got
assert bad == 0, "%d of %d pixels differ from the guest's font" % (bad, len(lines) * 128 * 128)
print("  ok: %d rows of text, %d lit pixels, every pixel of the 8x16 cells as the guest's font draws them"
      % (len(lines), lit))
EOF
signal TYPE

# ---- what the guest read ----
wait_log "$mark-KEYS:" 300
got=$(logs | grep -F "$mark-KEYS: " | tail -n 1 | sed 's/.*-KEYS: //; s/ *$//')
#      Shift  a    a    Shift Ctrl  c    c    Ctrl  Up     Left   Down   Right
want="42 1 30 1 30 0 42 0 29 1 46 1 46 0 29 0 103 1 103 0 105 1 105 0 108 1 108 0 106 1 106 0"
#      KP7  KP+  KPEnter KP*  Enter CapsLock
want+=" 71 1 71 0 78 1 78 0 96 1 96 0 55 1 55 0 28 1 28 0 58 1 58 0"
echo "  typed:     $want"
echo "  the guest: $got"
[ "$got" = "$want" ] || fail "the guest read other key events than the viewer typed"

# ---- a screenshot of the console ----
wait_log "$mark: SNAP" 300
sleep 3
vncsnapshot -quiet -allowblank -nojpeg -passwd "$T/pw.vnc" "127.0.0.1::$vport" "$T/shot.jpg" \
	>/dev/null 2>&1 </dev/null || fail "vncsnapshot for the screenshot failed"
"$PY" -c "from PIL import Image; Image.open('$T/shot.jpg').convert('RGB').save('$DPVM_TOP/build/rig/console.png')" ||
	fail "cannot save the screenshot"
echo "  the screenshot is build/rig/console.png"
signal SNAP

# ---- the pointer, in the second guest ----
wait_log "$mark: POINT" 600
xtigervncviewer -passwd "$T/pw.vnc" -MenuKey= -Shared=1 -RemoteResize=0 \
	"127.0.0.1::$vport" >"$T/viewer2.log" 2>&1 &
pids+=($!)
w=$(timeout 60 xdotool search --sync --name "dpvm mo" | head -n 1)
[ -n "$w" ] || fail "the viewer's window for the second guest did not appear: $(cat "$T/viewer2.log")"
xdotool windowfocus --sync "$w"
sleep 1
# the viewer sends motion once it has seen a click in its window; then
# (+100, -100) and (+30, -10) on the screen, a right click, (-230, +190), a
# middle click; a left click first and last
xdotool mousemove --window "$w" 200 200; sleep 0.5; xdotool click 1; sleep 0.5
xdotool mousemove --window "$w" 300 100; sleep 0.5
xdotool mousemove --window "$w" 330 90; sleep 0.5
xdotool click 3; sleep 0.5
xdotool mousemove --window "$w" 100 280; sleep 0.5
xdotool click 2; sleep 0.5
xdotool click 1
echo "  moved and clicked TigerVNC's pointer"
signal POINT
wait_log "$mark-POINTER:" 300
got=$(logs | grep -F "$mark-POINTER: " | tail -n 1 | sed 's/.*-POINTER: //; s/,$//')
# from the first click's release: REL_X 0, REL_Y 1 (screen y, down), BTN_LEFT 272,
# BTN_RIGHT 273, BTN_MIDDLE 274
got=${got#*btn 272 0,}
want="rel 0 100,rel 1 -100,rel 0 30,rel 1 -10,btn 273 1,btn 273 0,rel 0 -230,rel 1 190,btn 274 1,btn 274 0,btn 272 1,btn 272 0"
echo "  moved:     $want"
echo "  the guest: $got"
[ "$got" = "$want" ] || fail "the guest's mouse events differ from the viewer's pointer"

wait $rig
st=$?
cat "$T/rig.out" | tail -n 3
[ $st -eq 0 ] || { logs | tail -n 40; fail "the rig scenario failed (status $st)"; }
logs | grep -F "rig[" | grep -E "con: (after|ctl type|Ctrl)" | sed 's/^/  /'
echo PASS
