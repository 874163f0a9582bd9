#!/usr/bin/env bash
# The rig itself (scripts/rig, scenario guest-tests/rig/selftest.sh):
# --hostfwd reaches the inner host, a failing scenario's status and reason
# come back, --timeout stops a hung inner host without leaving QEMU, and a
# stopped heartbeat is reported as a stall (exit 75).
. "$(dirname "$0")/../lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found; run scripts/install-deps"
RIG=$DPVM_TOP/scripts/rig
# a port unlikely to be taken: 20000 + (PID % 10000)
port=$((20000 + $$ % 10000))

# 1. serve: connect through --hostfwd, then the deliberate failure
"$RIG" run selftest --append rig.selftest=serve --hostfwd "tcp::$port-:8080" \
	--timeout 200 >"$T/serve.out" 2>&1 &
rig_pid=$!
got=
for _ in $(seq 1 600); do
	sleep 0.25
	kill -0 $rig_pid 2>/dev/null || break
	grep -q "listening on port 8080" "$T/serve.out" || continue
	got=$(timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && cat <&3" 2>/dev/null) || true
	break
done
wait $rig_pid
st=$?
cat "$T/serve.out"
[ -n "$got" ] || fail "nothing came through --hostfwd tcp::$port-:8080"
echo "through --hostfwd: $got"
[[ $got == "rig-selftest "* ]] || fail "--hostfwd gave '$got', expected 'rig-selftest KERNEL'"
[ $st -eq 1 ] || fail "a failing scenario made scripts/rig exit $st, expected 1"
grep -q "rig: selftest: FAIL deliberate failure after serving (exit 1)" "$T/serve.out" ||
	fail "scripts/rig did not report the scenario's reason"

# 2. hang: the timeout stops QEMU, exit 124, no QEMU left behind
start=$(date +%s)
# rig.timeout=0 (last wins): no in-guest timeout, so scripts/rig must stop QEMU
"$RIG" run selftest --append "rig.selftest=hang rig.timeout=0" --timeout 25 >"$T/hang.out" 2>&1
st=$?
took=$(( $(date +%s) - start ))
cat "$T/hang.out"
[ $st -eq 124 ] || fail "a hung scenario made scripts/rig exit $st, expected 124 (timeout)"
[ $took -lt 60 ] || fail "--timeout 25 took $took s"
grep -q "hanging until scripts/rig stops QEMU" "$T/hang.out" || fail "the hang scenario did not start"
sleep 1
if pgrep -f "rig.selftest=hang" >/dev/null; then
	pgrep -af "rig.selftest=hang"
	fail "QEMU is still running after the timeout"
fi
echo "timeout after $took s, no QEMU left"

# 3. stall: the inner host's heartbeat stops (as when QEMU's TCG stops its
# timer interrupt): STALLED, exit 75, long before the timeout
start=$(date +%s)
RIG_STALL_S=15 "$RIG" run selftest --append "rig.selftest=stall rig.timeout=0" --timeout 200 >"$T/stall.out" 2>&1
st=$?
took=$(( $(date +%s) - start ))
cat "$T/stall.out"
[ $st -eq 75 ] || fail "a stopped heartbeat made scripts/rig exit $st, expected 75 (stalled)"
grep -q "heartbeat stopped; hanging" "$T/stall.out" || fail "the stall scenario did not start"
grep -q "STALLED: the inner host's heartbeat stopped 15 s ago" "$T/stall.out" ||
	fail "scripts/rig did not say why it stopped QEMU"
[ $took -lt 100 ] || fail "RIG_STALL_S=15 took $took s to notice"
echo "stall noticed after $took s"
