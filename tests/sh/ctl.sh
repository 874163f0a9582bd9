#!/usr/bin/env bash
# The management API and `dpvm ctl`, against a guest that halts forever (a
# multiboot image: hlt; jmp back): status, help, errors, a malformed
# request on the raw socket, quit, the default socket path by --name, a
# second VM with the same name, and SIGTERM to a guest without ACPI.
. "$(dirname "$0")/../lib.sh"
need_kvm
command -v socat >/dev/null || skip "socat is not installed (scripts/install-deps)"
command -v python3 >/dev/null || skip "python3 is not installed (scripts/install-deps)"

# multiboot header (a.out kludge, load at 1 MiB), then hlt; jmp back
K=$T/spin.img
printf '\x02\xb0\xad\x1b\x00\x00\x01\x00\xfe\x4f\x51\xe4' >"$K"
printf '\x00\x00\x10\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x10\x00' >>"$K"
printf '\xf4\xeb\xfd' >>"$K"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# start_vm LOG ARGS...: dpvm in the background; $vm_pid
start_vm() {
	local log=$1; shift
	echo "+ dpvm run $*"
	"$DPVM" run --kernel "$K" "$@" </dev/null >"$log.out" 2>"$log.err" &
	vm_pid=$!
	pids+=("$vm_pid")
}

# wait_for_socket PATH: until the API answers (10 s)
wait_for_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && "$DPVM" ctl --timeout 2 "$1" status >/dev/null 2>&1 && return 0
		kill -0 "$vm_pid" 2>/dev/null || { cat "$T"/*.err; fail "dpvm died before its API came up"; }
		sleep 0.1
	done
	fail "no API socket at $1 after 10 s"
}

# seccomp_modes PID: the Seccomp: mode of each of its threads, one a line
seccomp_modes() {
	local s
	for s in /proc/"$1"/task/*/status; do
		echo "$(awk '/^Name:/ { print $2 }' "$s") $(awk '/^Seccomp:/ { print $2 }' "$s")"
	done
}

# wait_exit PID SECONDS: its exit status in $st (fails after SECONDS)
wait_exit() {
	local pid=$1 limit=$(( $2 * 10 ))
	for _ in $(seq "$limit"); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			st=$?
			return 0
		fi
		sleep 0.1
	done
	fail "dpvm $pid still running after $2 s"
}

# json_get FILE EXPR: python3 on the JSON in FILE
json_get() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

S=$T/api.sock
start_vm "$T/vm1" --api "unix:$S" --console "file:$T/log" --name ctl-one --cpus 2 --mem 128M \
	--usb controller
wait_for_socket "$S"
[ "$(stat -c %a "$S")" = 600 ] || fail "the API socket is mode $(stat -c %a "$S"), expected 600"

# every thread, both vCPUs included, runs under the seccomp filter (mode 2)
seccomp_modes "$vm_pid" | tee "$T/seccomp.txt"
grep -q "^vcpu1 2$" "$T/seccomp.txt" || fail "vcpu1 is not under the seccomp filter"
grep -v " 2$" "$T/seccomp.txt" && fail "threads of dpvm without the seccomp filter"

# KEY=VALUE: a value is JSON only when all of it is (46f4:0002 is a string,
# not the number 46 and the rest)
echo "+ dpvm ctl $S usb attach host device=46f4:0002"
out=$("$DPVM" ctl "$S" usb attach host device=46f4:0002 2>&1) && fail "attaching a host device this host has not worked"
echo "$out"
echo "$out" | grep -q "46f4:0002" || fail "usb attach did not get device=46f4:0002 as written: $out"
echo "+ dpvm ctl $S usb attach storage path=/nonexistent ro=true"
out=$("$DPVM" ctl "$S" usb attach storage path=/nonexistent ro=true 2>&1) && fail "attaching a missing file worked"
echo "$out"
echo "$out" | grep -q "/nonexistent" || fail "usb attach storage did not name the missing file: $out"

# status: JSON with the VM's name, vCPUs and memory
echo "+ dpvm ctl --json $S status"
"$DPVM" ctl --json "$S" status >"$T/status.json" || fail "ctl status failed"
cat "$T/status.json"
[ "$(json_get "$T/status.json" 'd["return"]["name"]')" = ctl-one ] || fail "status: wrong name"
[ "$(json_get "$T/status.json" 'd["return"]["cpus"]')" = 2 ] || fail "status: wrong cpus"
[ "$(json_get "$T/status.json" 'd["return"]["memory"]')" = $((128 << 20)) ] || fail "status: wrong memory"
[ "$(json_get "$T/status.json" 'd["return"]["state"]')" = running ] || fail "status: not running"
json_get "$T/status.json" '[x["name"] for x in d["return"]["devices"]]' | grep -q COM1 ||
	fail "status: COM1 is not among the devices"
# the human form too
"$DPVM" ctl "$S" status >"$T/status.txt" || fail "ctl status (human) failed"
grep -q '"name":"ctl-one"' "$T/status.txt" || grep -q '"name": *"ctl-one"' "$T/status.txt" ||
	fail "ctl status: no name in $(cat "$T/status.txt")"

# help lists the commands
echo "+ dpvm ctl $S help"
"$DPVM" ctl "$S" help >"$T/help.txt" || fail "ctl help failed"
cat "$T/help.txt"
for c in help status powerdown reset quit; do
	grep -qE "^  $c +" "$T/help.txt" || fail "help does not list $c"
done

# an unknown command: an error on stderr, exit status 1
echo "+ dpvm ctl $S nosuch"
"$DPVM" ctl "$S" nosuch >"$T/nosuch.out" 2>"$T/nosuch.err"
st=$?
cat "$T/nosuch.err"
[ $st -eq 1 ] || fail "an unknown command exited $st, expected 1"
grep -q 'no command "nosuch"' "$T/nosuch.err" || fail "the error does not name the command"
[ "$(wc -l <"$T/nosuch.err")" -eq 1 ] || fail "more than one error line"
# ctl's own usage errors are status 2
"$DPVM" ctl "$S" 2>/dev/null; [ $? -eq 2 ] || fail "ctl without a command: expected status 2"
"$DPVM" ctl --bogus "$S" status 2>/dev/null; [ $? -eq 2 ] || fail "ctl --bogus: expected status 2"
# no VM there: status 1 and a hint
"$DPVM" ctl "$T/none.sock" status 2>"$T/none.err"; st=$?
[ $st -eq 1 ] && grep -q 'no VM is running there' "$T/none.err" || fail "ctl to no VM: $st, $(cat "$T/none.err")"

# malformed requests on the raw socket: an error reply each, and the
# server keeps serving (this connection and new ones)
raw() { printf '%s\n' "$@" | socat -t 2 - "UNIX-CONNECT:$S"; }
echo "+ raw requests"
raw 'this is not json' '[1, 2]' '{"execute": 5}' '{"execute": "status", "bogus": 1}' \
    '{"execute": "status", "arguments": []}' '{}' '{"execute": "nosuch"}' \
    '{"execute": "help"}' >"$T/raw.out"
cat "$T/raw.out"
[ "$(wc -l <"$T/raw.out")" -eq 8 ] || fail "expected 8 replies, got $(wc -l <"$T/raw.out")"
[ "$(head -7 "$T/raw.out" | grep -c '"error"')" -eq 7 ] || fail "not every bad request got an error"
grep -q '"class":"InvalidRequest"' "$T/raw.out" || fail "no InvalidRequest class"
grep -q '"class":"CommandNotFound"' "$T/raw.out" || fail "no CommandNotFound class"
tail -1 "$T/raw.out" | grep -q '"return"' || fail "a good request after bad ones got no answer"
# a line too long to be a request: refused and dropped, the server lives on
python3 - "$S" >"$T/long.out" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
try:
    s.sendall(b'x' * 70000)
except (BrokenPipeError, ConnectionResetError):
    pass                        # the server hung up, as it should
reply = b''
try:
    while not reply.endswith(b'\n'):
        b = s.recv(4096)
        if not b:
            break
        reply += b
except ConnectionResetError:
    pass
sys.stdout.write(reply.decode())
EOF
cat "$T/long.out"
grep -q 'longer than 64 KiB' "$T/long.out" || fail "no error for an over-long request"
# a client that connects and goes away, and one that sends half a line
socat -u /dev/null "UNIX-CONNECT:$S"
printf '{"execute": "sta' | socat -t 1 - "UNIX-CONNECT:$S" >/dev/null
"$DPVM" ctl "$S" status >/dev/null || fail "the server stopped answering after malformed requests"
# 16 idle clients at most: the 17th is told so; once they go, all is well
python3 - "$S" "$DPVM" >"$T/busy.out" <<'EOF'
import socket, sys, time
idle = []
for i in range(16):
    c = socket.socket(socket.AF_UNIX)
    c.connect(sys.argv[1])
    c.sendall(b'{"execute": "help"}\n')
    c.settimeout(5)
    assert b'"return"' in c.recv(65536), 'client %d got no answer' % i
    idle.append(c)
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
c.settimeout(5)
reply = b''
while not reply.endswith(b'\n'):
    b = c.recv(4096)
    if not b:
        break
    reply += b
sys.stdout.write(reply.decode())
# and dpvm ctl says so too, while the 16 stay
import subprocess
r = subprocess.run([sys.argv[2], 'ctl', sys.argv[1], 'status'], capture_output=True, text=True)
sys.stdout.write('ctl: %d %s' % (r.returncode, r.stderr))
EOF
cat "$T/busy.out"
grep -q '^{"error":{"class":"Busy".*}$' "$T/busy.out" || fail "the 17th client was not told the server is busy, in one line"
grep -q '^ctl: 1 dpvm: .*too many API clients' "$T/busy.out" || fail "dpvm ctl did not report the busy server"
"$DPVM" ctl "$S" status >/dev/null || fail "the server stopped answering after 17 clients"

# quit: dpvm exits 0 and removes its socket
echo "+ dpvm ctl $S quit"
"$DPVM" ctl "$S" quit || fail "ctl quit failed"
wait_exit "$vm_pid" 10
[ $st -eq 0 ] || { cat "$T/vm1.err"; fail "after quit dpvm exited $st, expected 0"; }
[ -e "$S" ] && fail "the API socket is still there after quit"

# the default socket: $XDG_RUNTIME_DIR/dpvm/NAME.sock, found by name
export XDG_RUNTIME_DIR=$T/run
mkdir -p "$XDG_RUNTIME_DIR"
S2=$XDG_RUNTIME_DIR/dpvm/byname.sock
start_vm "$T/vm2" --name byname --console none --powerdown-timeout 1 --seccomp off
byname_pid=$vm_pid
wait_for_socket "$S2"
seccomp_modes "$vm_pid" | grep -v " 0$" && fail "--seccomp off: threads of dpvm under a filter"
[ "$(stat -c %a "$XDG_RUNTIME_DIR/dpvm")" = 700 ] || fail "the socket directory is not mode 700"
echo "+ dpvm ctl byname status"
"$DPVM" ctl --json byname status >"$T/byname.json" || fail "ctl by name failed"
[ "$(json_get "$T/byname.json" 'd["return"]["name"]')" = byname ] || fail "ctl by name: wrong VM"

# a second VM with the same name is refused, and leaves the first alone
echo "+ a second dpvm --name byname"
"$DPVM" run --kernel "$K" --name byname --console none </dev/null 2>"$T/dup.err"
st=$?
cat "$T/dup.err"
[ $st -eq 2 ] || fail "a second VM with the same name exited $st, expected 2"
grep -q 'already running' "$T/dup.err" || fail "the refusal does not say why"
[ "$(wc -l <"$T/dup.err")" -eq 1 ] || fail "more than one error line"
[ -S "$S2" ] || fail "the refused VM removed the first VM's socket"
"$DPVM" ctl byname status >/dev/null || fail "the first VM stopped answering"

# two VMs started at the same moment with one name: one gets the name, the
# other is refused (both pass the configuration check together)
echo "+ two dpvm --name race at once"
"$DPVM" run --kernel "$K" --name race --console none </dev/null 2>"$T/race1.err" &
r1=$!
"$DPVM" run --kernel "$K" --name race --console none </dev/null 2>"$T/race2.err" &
r2=$!
pids+=("$r1" "$r2")
vm_pid=$r1	# (for wait_for_socket's liveness check: either will do)
wait_for_socket "$XDG_RUNTIME_DIR/dpvm/race.sock"
sleep 0.5
alive=0
for p in $r1 $r2; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)) && winner=$p; done
cat "$T/race1.err" "$T/race2.err"
[ $alive -eq 1 ] || fail "$alive VMs named race are running, expected 1"
grep -q 'already running' "$T/race1.err" "$T/race2.err" || fail "the loser did not say why"
"$DPVM" ctl --json race status >"$T/race.json" || fail "the winner does not answer"
"$DPVM" ctl race quit >/dev/null
wait_exit "$winner" 10
[ $st -eq 0 ] || fail "the winner exited $st after quit"


# SIGTERM to a guest without ACPI: the power button goes unanswered, so
# dpvm waits --powerdown-timeout (1 s) and stops it: status 10
echo "+ SIGTERM, --powerdown-timeout 1"
vm_pid=$byname_pid
t0=$(date +%s%N)
kill -TERM "$vm_pid"
sleep 0.3
"$DPVM" ctl --json byname status >"$T/pd.json" 2>/dev/null &&
	{ [ "$(json_get "$T/pd.json" 'd["return"]["state"]')" = powering-down ] ||
	  fail "status during the powerdown wait: $(cat "$T/pd.json")"; }
wait_exit "$vm_pid" 10
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cat "$T/vm2.err"
[ $st -eq 10 ] || fail "after SIGTERM and the timeout dpvm exited $st, expected 10"
[ $ms -ge 900 ] || fail "dpvm stopped after $ms ms, before the 1 s powerdown timeout"
[ $ms -lt 5000 ] || fail "dpvm took $ms ms to stop after a 1 s powerdown timeout"
grep -q 'did not power down within 1000 ms' "$T/vm2.err" || fail "no line about the timeout"
[ -e "$S2" ] && fail "the socket is still there after the forced stop"

# a second SIGTERM forces the stop at once (the timeout is 60 s here)
start_vm "$T/vm3" --name twice --console none --powerdown-timeout 60
wait_for_socket "$XDG_RUNTIME_DIR/dpvm/twice.sock"
echo "+ SIGTERM twice"
kill -TERM "$vm_pid"
sleep 0.5
kill -0 "$vm_pid" 2>/dev/null || fail "dpvm stopped on the first SIGTERM"
t0=$(date +%s%N)
kill -TERM "$vm_pid"
wait_exit "$vm_pid" 5
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cat "$T/vm3.err"
[ $st -eq 10 ] || fail "after a second SIGTERM dpvm exited $st, expected 10"
[ $ms -lt 3000 ] || fail "the second SIGTERM took $ms ms to stop dpvm"
grep -q 'again: stopping the guest now' "$T/vm3.err" || fail "no line about the forced stop"
[ -e "$XDG_RUNTIME_DIR/dpvm/twice.sock" ] && fail "the socket is still there after the forced stop"

echo PASS
