#!/usr/bin/env bash
# The guest programs are plain multiboot ELFs: the same binaries run under
# QEMU (TCG) with its isa-debug-exit device, and print the same checks.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
need_guest hello smp

qemu() { # NAME SMP APPEND
	echo "+ qemu-system-x86_64 -accel tcg -smp $2 -kernel $1.elf -append '$3'"
	timeout -k 10 120 qemu-system-x86_64 -accel tcg -smp "$2" -m 128 \
		-kernel "$GUEST_DIR/$1.elf" -append "$3" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-serial "file:$T/console.raw" -display none -monitor none -nodefaults \
		</dev/null 2>"$T/qemu.err"
	status=$?
	tr -d '\r' <"$T/console.raw" >"$out"
	sed 's/^/  | /' "$out"
	[ -s "$T/qemu.err" ] && sed 's/^/  qemu: /' "$T/qemu.err"
	echo "  exit status $status"
}

qemu hello 1 ""
expect_pass
expect_out '^hello from a guest program \(loader qemu\)$'

qemu smp 4 "cpus=4"
expect_pass
expect_out '^ok: 3 of 3 AP\(s\) arrived'
expect_out '^ok: the APs. locked additions total 3000 \(want 3000\)$'

# QEMU's -smp 2 with cpus=4: the same failure as under dpvm
qemu smp 2 "cpus=4 timeout_ms=100"
expect_exit 3
expect_out '^FAIL: 1 of 3 AP\(s\) arrived'
echo PASS
