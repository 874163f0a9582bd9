#!/usr/bin/env bash
# Hostile VNC viewers against the console, with a guest program running
# (guest-tests/i8042.c keys=N): garbage handshakes, truncated and unknown
# RFB messages, a bogus pixel format, out-of-range update requests and
# pointer positions, thousands of unknown keysyms, huge cut text, a viewer
# that never reads while asking for full screens, a connection flood, and
# wrong passwords in a row.  dpvm logs and carries on: it stays up, the
# guest keeps getting keys (ctl type), a real viewer (vncsnapshot) still
# gets the screen, and dpvm's memory stays bounded.
. "$(dirname "$0")/../lib.sh"
need_kvm
command -v vncsnapshot >/dev/null || skip "vncsnapshot not found; run scripts/install-deps"
command -v vncpasswd >/dev/null || skip "vncpasswd (tigervnc-tools) not found; run scripts/install-deps"
PY=$(command -v /usr/bin/python3 || command -v python3)
GUEST=$DPVM_TOP/build/guest-tests/i8042.elf
[ -f "$GUEST" ] || fail "$GUEST is missing; run make guest-programs"

pids=()
names=()
cleanup() {
	local p n
	for n in "${names[@]}"; do "$DPVM" ctl "$n" quit >/dev/null 2>&1; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_vm() { # NAME PORT CONSOLE ERR [flags]
	local n=$1 p=$2 c=$3 e=$4
	shift 4
	"$DPVM" run --name "$n" --kernel "$GUEST" --exit-port 0xf4 --mem 64M --console "file:$c" \
		--powerdown-timeout 1 --vnc "127.0.0.1:$p" "$@" \
		--cmdline "keys=100000 timeout_ms=600000" </dev/null 2>"$e" &
	pids+=($!)
	names+=("$n")
	for _ in $(seq 300); do
		grep -q KEYS-READY "$c" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$e"
	fail "$n: the guest never listened for keys"
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

port=$(free_port)
name=vnc-bad-$$
start_vm "$name" "$port" "$T/console.raw" "$T/dpvm.err"
dpvm_pid=$(pgrep -f -n -- "--name $name ")
[ -n "$dpvm_pid" ] || fail "cannot find dpvm's pid"
rss0=$(rss_kb "$dpvm_pid")

"$PY" - "$port" <<'EOF' || fail "the hostile client script failed"
import random, socket, struct, sys, time

port = int(sys.argv[1])

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def handshake(shared=1):
    s = conn()
    assert s.recv(12) == b"RFB 003.008\n"
    s.sendall(b"RFB 003.008\n")
    n = s.recv(1)[0]
    types = s.recv(n)
    assert 1 in types, types          # no password on this console
    s.sendall(b"\x01")
    assert s.recv(4) == b"\0\0\0\0"
    s.sendall(bytes([shared]))
    hdr = b""
    while len(hdr) < 24:
        hdr += s.recv(24 - len(hdr))
    w, h = struct.unpack(">HH", hdr[:4])
    nlen = struct.unpack(">I", hdr[20:24])[0]
    name = b""
    while len(name) < nlen:
        name += s.recv(nlen - len(name))
    return s, w, h

def closed(s, t=10):
    """true if the server closes the connection within t seconds"""
    s.settimeout(t)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

def step(msg):
    print("  " + msg, flush=True)

# a viewer that sends garbage for its version
s = conn(); s.recv(12); s.sendall(b"HELLO WORLD!\n" * 4)
assert closed(s), "garbage version: still connected"
step("garbage instead of the protocol version: dropped")

# one that hangs up in the middle of the handshake
s = conn(); s.recv(12); s.sendall(b"RFB 003.0"); s.close()
step("a handshake cut short")

# an unknown message type
s, w, h = handshake()
s.sendall(b"\xff" + b"\0" * 16)
assert closed(s), "unknown message type: still connected"
step("an unknown message type: dropped")

# SetEncodings that promises 65535 encodings and sends two
s, w, h = handshake()
s.sendall(struct.pack(">BBH", 2, 0, 65535) + struct.pack(">ii", 0, 7))
s.close()
step("a truncated SetEncodings")

# a pixel format no one can use
s, w, h = handshake()
s.sendall(struct.pack(">BBBB", 0, 0, 0, 0) + struct.pack(">BBBBHHHBBB", 7, 99, 1, 0, 0, 0, 0, 40, 40, 40) + b"\0" * 3)
s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 16, 16))
closed(s, 3)
step("SetPixelFormat with 7 bits a pixel")

# update requests far outside the screen, pointer events outside it
s, w, h = handshake()
assert (w, h) == (1024, 768), (w, h)
for x, y, ww, hh in [(65535, 65535, 65535, 65535), (1000, 700, 65535, 1), (0, 0, 0, 0)]:
    s.sendall(struct.pack(">BBHHHH", 3, 1, x, y, ww, hh))
for _ in range(2000):
    s.sendall(struct.pack(">BBHH", 5, random.randrange(256), random.randrange(65536), random.randrange(65536)))
step("update requests outside the screen, 2000 pointer events anywhere")

# thousands of keysyms no keyboard has (Unicode keysyms, unused ranges)
for i in range(5000):
    ks = random.choice([0x1000000 + random.randrange(0x10ffff), 0xfe00 + random.randrange(0x50), 0x20ac, 0xffffffff])
    s.sendall(struct.pack(">BBHI", 4, i & 1, 0, ks))
step("5000 unknown keysyms")

# cut text: one that claims 2 GiB, one of 1 MiB (taken, ignored)
s2, _, _ = handshake()
s2.sendall(struct.pack(">BBBBI", 6, 0, 0, 0, 0x7fffffff) + b"x" * 1000)
assert closed(s2), "2 GiB of cut text: still connected"
s2, _, _ = handshake()
s2.sendall(struct.pack(">BBBBI", 6, 0, 0, 0, 1 << 20) + b"y" * (1 << 20))
s2.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 8, 8))
s2.settimeout(10)
assert s2.recv(1) == b"\0", "no update after 1 MiB of cut text"
s2.close()
step("cut text of 2 GiB refused, of 1 MiB ignored")
s.close()

# a viewer that asks for the whole screen again and again and never reads
lazy, _, _ = handshake()
lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
req = struct.pack(">BBHHHH", 3, 0, 0, 0, 1024, 768)
lazy.settimeout(0.5)
sent = 0
t0 = time.time()
try:
    while sent < 3000 and time.time() - t0 < 20:
        lazy.sendall(req)
        sent += 1
except (socket.timeout, BrokenPipeError, ConnectionResetError):
    pass
step("a viewer that never reads asked for %d full screens" % sent)
# the server gives up on it within its 5 s wait; others are served after
t0 = time.time()
ok = False
while time.time() - t0 < 30:
    try:
        s, _, _ = handshake()
        s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 16, 16))
        s.settimeout(10)
        if s.recv(1) == b"\0":
            ok = True
            s.close()
            break
    except (socket.timeout, OSError):
        pass
    time.sleep(0.5)
assert ok, "no other viewer served after the one that never reads"
step("another viewer was served %.1f s later" % (time.time() - t0))
lazy.close()

# a flood of connections: 16 at most are kept
socks = []
for _ in range(24):
    try:
        c = conn()
        socks.append(c)
    except OSError:
        pass
time.sleep(1)
# libvncserver greets every connection, then closes the refused ones
alive = 0
for c in socks:
    c.settimeout(2)
    try:
        if c.recv(12) != b"RFB 003.008\n":
            continue
        c.settimeout(1)
        alive += c.recv(1) != b""
    except socket.timeout:
        alive += 1
    except OSError:
        pass
for c in socks:
    c.close()
assert alive == 16, alive
step("24 connections at once: 16 kept, the rest closed")
EOF

sleep 1
kill -0 "$dpvm_pid" 2>/dev/null || { cat "$T/dpvm.err"; fail "dpvm died"; }
grep -q "refused: 16 viewers are connected already" "$T/dpvm.err" || fail "dpvm did not say it refused viewers"
grep -q "keysym 0x" "$T/dpvm.err" || fail "dpvm did not log an unknown keysym"
n=$(grep -c "keysym 0x" "$T/dpvm.err")
[ "$n" -le 16 ] || fail "$n lines about unknown keysyms: the log is not rate-limited"
echo "  dpvm logged $(wc -l <"$T/dpvm.err") lines; e.g.:"
grep -m 3 -E "keysym|refused|vnc: viewer" "$T/dpvm.err" | sed 's/^/    /'

# the guest still gets keys, a real viewer still gets the screen
before=$(grep -c '^scancode' "$T/console.raw")
"$DPVM" ctl "$name" type 'ok' >/dev/null || fail "ctl type failed after the hostile viewers"
for _ in $(seq 100); do
	[ "$(grep -c '^scancode' "$T/console.raw")" -ge $((before + 4)) ] && break
	sleep 0.1
done
[ "$(grep -c '^scancode' "$T/console.raw")" -ge $((before + 4)) ] ||
	fail "the guest got no keys after the hostile viewers"
vncsnapshot -quiet -allowblank -nojpeg "127.0.0.1::$port" "$T/after.jpg" >/dev/null 2>&1 </dev/null ||
	fail "vncsnapshot failed after the hostile viewers"
rss1=$(rss_kb "$dpvm_pid")
echo "  dpvm's resident memory: $rss0 KiB before, $rss1 KiB after"
[ $((rss1 - rss0)) -lt 65536 ] || fail "dpvm grew by $((rss1 - rss0)) KiB"
grep -E "Sanitizer|Segmentation|double free" "$T/dpvm.err" && fail "dpvm reported memory errors"

# wrong passwords in a row: a pause, then the right one works again
printf 'pw\n' >"$T/pw"
chmod 600 "$T/pw"
printf 'pw\n' | vncpasswd -f >"$T/good.vnc"
printf 'nope\n' | vncpasswd -f >"$T/bad.vnc"
port2=$(free_port)
start_vm "$name-pw" "$port2" "$T/console2.raw" "$T/dpvm2.err" --vnc-password-file "$T/pw"
for _ in 1 2 3 4 5; do
	vncsnapshot -quiet -allowblank -passwd "$T/bad.vnc" -nojpeg "127.0.0.1::$port2" "$T/x.jpg" >/dev/null 2>&1 </dev/null &&
		fail "a wrong password was accepted"
done
vncsnapshot -quiet -allowblank -passwd "$T/good.vnc" -nojpeg "127.0.0.1::$port2" "$T/x.jpg" >/dev/null 2>&1 </dev/null &&
	fail "right after 5 wrong passwords a viewer was let in"
grep -q "5 wrong passwords in a row; no new viewers for 10 s" "$T/dpvm2.err" ||
	{ cat "$T/dpvm2.err"; fail "no pause after 5 wrong passwords"; }
sleep 10
vncsnapshot -quiet -allowblank -passwd "$T/good.vnc" -nojpeg "127.0.0.1::$port2" "$T/x.jpg" >/dev/null 2>&1 </dev/null ||
	fail "the right password is refused after the pause"
echo "  ok: 5 wrong passwords pause new viewers for 10 s; then the right one works"
echo PASS
