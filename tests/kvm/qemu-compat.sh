#!/usr/bin/env bash
# The guest programs are plain multiboot ELFs: the same binaries run under
# QEMU (TCG) with its isa-debug-exit device, and print the same checks.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
need_guest hello smp msi

qemu() { # NAME SMP APPEND [QEMU ARGS...]
	local name=$1 smp=$2 append=$3; shift 3
	echo "+ qemu-system-x86_64 -accel tcg -smp $smp -kernel $name.elf -append '$append' $*"
	timeout -k 10 120 qemu-system-x86_64 -accel tcg -smp "$smp" -m 128 \
		-kernel "$GUEST_DIR/$name.elf" -append "$append" "$@" \
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

# the msi program's virtio-blk driver against QEMU's virtio-blk: the same
# checks pass, so they test the virtio and MSI-X rules, not dpvm's reading
printf 'dpvm msi-x test: sector zero....' >"$T/disk.img"
truncate -s 1M "$T/disk.img"
qemu msi 1 "sectors=2048" -device virtio-blk-pci,drive=d0,disable-legacy=on \
	-drive "if=none,id=d0,file=$T/disk.img,format=raw"
expect_pass
expect_out '^msi: sector 0 begins "dpvm msi-x test: sector zero...."$'
expect_out '^ok: clearing the function mask delivers the pending interrupt$'
echo PASS
