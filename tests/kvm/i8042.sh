#!/usr/bin/env bash
# The 8042 keyboard controller from a guest program (guest-tests/i8042.c):
# self-test, interface tests, command byte, keyboard reset and identify,
# scan code sets, LEDs, the mouse through 0xD4, IRQ 1 and 12; a checked
# status-read loop (the trap benchmark's keyboard-controller case); the
# reset line (0xFE, and an output port write) resets the VM; typed keys
# (`dpvm ctl NAME sendkey` and `type`) arrive as set 1 scan codes.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest i8042
expect_pass
expect_out '^ok: controller self-test \(0xAA\): 55 '
expect_out '^ok: keyboard reset \(0xFF\): ACK, BAT passed: fa aa '
expect_out '^ok: identify \(0xF2\), translated: fa ab 41 '
expect_out '^ok: identify, untranslated: fa ab 83 '
expect_out '^ok: mouse reset through 0xD4: ACK, BAT, id 0: fa/aux aa/aux 00/aux '
expect_out '^ok: IRQ 1 through IOAPIC pin 1 brought 0x42 \(1 interrupts, 1 bytes\)$'
expect_out '^ok: identify by interrupts: 4 interrupts, 4 bytes$'
expect_out '^ok: IRQ 12 through IOAPIC pin 12 for aux data \(1\)$'

# the status-read loop: every read answered, and a figure
num='[1-9][0-9]*'
run_guest i8042 --cmdline status=20000
expect_pass
expect_out '^ok: every one of 20000 status reads answered 0x1c \(0 differed\)$'
expect_out "^RESULT i8042-status reads=20000 ns_per_read=$num reads_per_sec=$num tsc_khz=$num\$"
grep '^RESULT' "$out"

# the reset line: with --on-reboot exit, a reset ends dpvm with status 4
run_guest i8042 --on-reboot exit --cmdline action=reset
expect_exit 4
expect_out '^pulsing the reset line \(0xFE\)$'
expect_no_out 'still running'
run_guest i8042 --on-reboot exit --cmdline action=outport
expect_exit 4
# and without it the VM restarts in place: the program runs again (and
# again, until timeout stops it)
need_guest i8042
timeout -k 5 8 "$DPVM" run --kernel "$GUEST_DIR/i8042.elf" --exit-port 0xf4 --api none \
	--console "file:$T/restart.raw" --powerdown-timeout 1 --cmdline action=reset \
	</dev/null 2>"$T/restart.err"
n=$(grep -c '^pulsing the reset line' "$T/restart.raw")
echo "  the program ran $n times in 8 s with --on-reboot restart"
[ "$n" -ge 2 ] || fail "after 0xFE with --on-reboot restart the program did not run again"

# keys typed through the management API reach the guest, in order
need_guest i8042
name=i8042-keys-$$
"$DPVM" run --name "$name" --kernel "$GUEST_DIR/i8042.elf" --exit-port 0xf4 \
	--console "file:$T/keys.raw" --powerdown-timeout 1 \
	--cmdline "keys=20 timeout_ms=30000" </dev/null 2>"$T/keys.err" &
pid=$!
for _ in $(seq 200); do
	grep -q KEYS-READY "$T/keys.raw" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
grep -q KEYS-READY "$T/keys.raw" || { cat "$T/keys.err"; fail "the guest never listened for keys"; }
"$DPVM" ctl "$name" sendkey ctrl-alt-delete >/dev/null || fail "ctl sendkey ctrl-alt-delete failed"
"$DPVM" ctl "$name" type 'Hi!\n' >/dev/null || fail "ctl type failed"
# errors name the problem
msg=$("$DPVM" ctl "$name" sendkey ctrl-nosuch 2>&1) && fail "sendkey accepted a key named 'nosuch'"
echo "$msg" | grep -q "'nosuch' is not a key name" || fail "sendkey ctrl-nosuch said: $msg"
msg=$("$DPVM" ctl "$name" type "$(printf 'caf\xc3\xa9')" 2>&1) && fail "type accepted non-ASCII text"
echo "$msg" | grep -q "cannot be typed" || fail "type with non-ASCII said: $msg"
wait $pid
st=$?
tr -d '\r' <"$T/keys.raw" >"$out"
sed 's/^/  | /' "$out"
[ $st -eq 1 ] || { cat "$T/keys.err"; fail "dpvm exited $st, expected 1 (the program passed)"; }
# ctrl alt delete down, then up in reverse; Shift+h i Shift+1 Enter
want="1d 38 e0 53 e0 d3 b8 9d 2a 23 a3 aa 17 97 2a 02 82 aa 1c 9c"
got=$(sed -n 's/^scancode 0x//p' "$out" | head -20 | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "scan codes '$got', want '$want'"
echo PASS
