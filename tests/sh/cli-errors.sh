#!/usr/bin/env bash
# Bad input gets a clear error and changes nothing: every case below must
# end `dpvm run` with status 2 and exactly one "dpvm: " line on stderr that
# names the thing and the fix, leave nothing on disk (no console file, no
# API socket or its directory), and fail before any KVM state exists
# (checked with strace when it is installed: no KVM_CREATE_VM).
. "$(dirname "$0")/../lib.sh"

[ -x "$DPVM" ] || fail "no dpvm binary at $DPVM; run make"
have_strace=false
command -v strace >/dev/null && have_strace=true

# a multiboot (a.out kludge) image at 1 MiB: hlt; jmp back
mk_multiboot() {
	printf '\x02\xb0\xad\x1b\x00\x00\x01\x00\xfe\x4f\x51\xe4' >"$1"	# magic, flags, checksum
	printf '\x00\x00\x10\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x00\x10\x00' >>"$1"
	printf '\xf4\xeb\xfd' >>"$1"
}

# a bzImage header (protocol 2.15, 64-bit) on a zero payload of $2 bytes
mk_bzimage() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
size = int(sys.argv[2])
b = bytearray(size)
b[0x1f1] = 4                                       # setup_sects
struct.pack_into('<I', b, 0x1f4, (size - 2560 + 15) // 16)   # syssize
struct.pack_into('<H', b, 0x1fe, 0xaa55)
b[0x200:0x202] = b'\xeb\x66'
b[0x202:0x206] = b'HdrS'
struct.pack_into('<H', b, 0x206, 0x20f)            # version
b[0x211] = 1                                       # loadflags: LOADED_HIGH
struct.pack_into('<I', b, 0x22c, 0x7fffffff)       # initrd_addr_max
struct.pack_into('<H', b, 0x236, 1)                # xloadflags: XLF_KERNEL_64
struct.pack_into('<I', b, 0x238, 2047)             # cmdline_size
struct.pack_into('<I', b, 0x260, 4 << 20)          # init_size
open(sys.argv[1], 'wb').write(b)
EOF
}

K=$T/kernel.elf
mk_multiboot "$K"
mk_bzimage "$T/bzImage" 65536
head -c 3000 "$T/bzImage" >"$T/bz-truncated"
: >"$T/empty"
printf '#!/bin/sh\necho hello\n' >"$T/script"
head -c 100000 /dev/urandom >"$T/random"
truncate -s 1G "$T/big-initrd"
mkdir -p "$T/dir" "$T/run"
printf '{\n  "mem": "1G",\n  "cpus": ,\n}\n' >"$T/bad-syntax.json"
printf '{"memory": "1G"}\n' >"$T/unknown-key.json"
printf '{"cpus": "two"}\n' >"$T/bad-value.json"
printf '{"devices": [{"type": "floppy"}]}\n' >"$T/bad-device.json"
host_mib=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 ))
n=0

# bad EXPECTED... -- ARGS...: the run is refused as described above, and its
# one line contains every EXPECTED string
bad() {
	local want=() args=() out err st lines
	while [ "$1" != "--" ]; do want+=("$1"); shift; done
	shift
	args=("$@")
	n=$((n + 1))
	out=$T/out.$n err=$T/err.$n
	echo "+ dpvm run ${args[*]}"
	rm -f "$T/console.log" "$T/strace.$n"
	local t0=$(date +%s%N)
	if $have_strace; then
		XDG_RUNTIME_DIR=${XDG:-$T/run} timeout -k 5 20 strace -f -qq -o "$T/strace.$n" \
			-e trace=ioctl,bind,mkdir "$DPVM" run "${args[@]}" </dev/null >"$out" 2>"$err"
	else
		XDG_RUNTIME_DIR=${XDG:-$T/run} timeout -k 5 20 "$DPVM" run "${args[@]}" </dev/null >"$out" 2>"$err"
	fi
	st=$?
	local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	sed 's/^/  | /' "$err"
	[ $st -eq 2 ] || fail "exit status $st, expected 2"
	lines=$(wc -l <"$err")
	[ "$lines" -eq 1 ] || fail "$lines lines on stderr, expected exactly one"
	grep -q '^dpvm: ' "$err" || fail "the error line does not start with 'dpvm: '"
	[ -s "$out" ] && fail "something on stdout: $(head -c 200 "$out")"
	for w in "${want[@]}"; do
		grep -qF -- "$w" "$err" || fail "the error does not say '$w'"
	done
	# nothing created: no console file, no socket, no socket directory
	[ -e "$T/console.log" ] && fail "the console file was created"
	[ -z "$(ls -A "$T/run")" ] || fail "created in XDG_RUNTIME_DIR: $(ls -AR "$T/run")"
	[ -e "$T/nodir" ] && fail "created $T/nodir"
	if $have_strace; then
		grep -q 'KVM_CREATE_VM' "$T/strace.$n" && fail "a VM was created (KVM_CREATE_VM)"
		grep -E '^[0-9]+ +(bind|mkdir)\(' "$T/strace.$n" && fail "a socket or directory was made"
	elif [ $ms -gt 2000 ]; then
		fail "took $ms ms: the error should come before anything starts"
	fi
	return 0
}

C="--console file:$T/console.log"

# --kernel: missing, absent, empty, a directory, not a kernel, truncated
bad "no kernel" "--kernel FILE" -- $C
bad "--kernel $T/nope" "No such file" "check the path" -- --kernel "$T/nope" $C
bad "--kernel $T/empty" "empty" "give a kernel image" -- --kernel "$T/empty" $C
bad "--kernel $T/dir" "not a regular file" "give the path" -- --kernel "$T/dir" $C
bad "--kernel $T/script" "not a kernel" "give a bzImage or a multiboot ELF" -- -k "$T/script" $C
bad "--kernel $T/random" "not a kernel" -- -k "$T/random" $C
bad "--kernel $T/bz-truncated" "truncated" -- -k "$T/bz-truncated" $C
mkfifo "$T/fifo"
bad "--kernel $T/fifo" "not a regular file" -- --kernel "$T/fifo" $C
bad "--initrd $T/fifo" "not a regular file" -- -k "$K" --initrd "$T/fifo" $C
bad "fifo:1:" "not valid JSON" -- -k "$K" --config "$T/fifo" $C
bad "--kernel" "needs a value" -- $C --kernel
bad "--kernel" "is empty; give a file path" -- $C --kernel ""

# --initrd: absent, larger than fits (bzImage and multiboot)
bad "--initrd $T/nope" "No such file" -- -k "$K" -i "$T/nope" $C
bad "--initrd $T/big-initrd" "does not fit" "more --mem" -- -k "$T/bzImage" -i "$T/big-initrd" -m 64M $C
bad "--initrd $T/big-initrd" "does not fit" "more --mem" -- -k "$K" -i "$T/big-initrd" -m 256M $C

# --mem
bad "--mem" "'0'" "give at least 64M" -- -k "$K" --mem 0 $C
bad "--mem" "'12X'" "use e.g. 512M or 2G" -- -k "$K" --mem 12X $C
bad "--mem" "'63M'" "give at least 64M" -- -k "$K" --mem 63M $C
bad "--mem" "'-1'" -- -k "$K" --mem -1 $C
bad "--mem" "'99999999999999999999'" "too large" -- -k "$K" --mem 99999999999999999999 $C
bad "--mem" "the host has only" "give the VM less" -- -k "$K" --mem $((host_mib * 2 + 1024))M $C

# --cpus
bad "--cpus" "'0'" "give at least 1" -- -k "$K" --cpus 0 $C
bad "--cpus" "'two'" "give e.g. 2" -- -k "$K" --cpus two $C
bad "--cpus" "'256'" "give fewer" -- -k "$K" --cpus 256 $C
bad "--cpus" "'100000'" -- -k "$K" --cpus 100000 $C

# --console: a missing directory, a directory, a bad kind
bad "--console file:$T/nodir/log" "does not exist" "create it or pick another path" -- \
	-k "$K" --console "file:$T/nodir/log"
bad "--console file:$T/dir" "is not a file" "pick another" -- -k "$K" --console "file:$T/dir"
bad "--console unix:$T/dir" "is not a socket" "pick another" -- -k "$K" --console "unix:$T/dir"
bad "--console" "'tcp:4444'" "use stdio, pty, none, unix:PATH or file:PATH" -- -k "$K" --console tcp:4444
bad "--console unix:$T/$(printf 'x%.0s' {1..120})" "too long" -- \
	-k "$K" --console "unix:$T/$(printf 'x%.0s' {1..120})"

# --api and --name
bad "--api unix:$T/dir" "is not a socket" -- -k "$K" --api "unix:$T/dir" $C
bad "--api" "'/tmp/x'" "use unix:PATH or none" -- -k "$K" --api /tmp/x $C
bad "--name" "'a/b'" "may contain only" -- -k "$K" --name a/b $C
bad "--api unix:$T/nodir/a/api.sock" "$T/nodir does not exist" "create it" -- \
	-k "$K" --api "unix:$T/nodir/a/api.sock" $C
bad "--api unix:$K/api.sock" "is not a directory" -- -k "$K" --api "unix:$K/api.sock" $C
XDG=$T/nodir bad "--api unix:$T/nodir/dpvm/vm.sock" "does not exist" "set XDG_RUNTIME_DIR" -- \
	-k "$K" --name vm $C

# the config file: absent, malformed (with the line), unknown keys, bad values
bad "--config $T/nope.json" "No such file" "check the path" -- -k "$K" --config "$T/nope.json" $C
bad "bad-syntax.json:3:" "not valid JSON" -- -k "$K" --config "$T/bad-syntax.json" $C
bad "unknown-key.json: memory: unknown key" "see 'dpvm run --help'" -- \
	-k "$K" --config "$T/unknown-key.json" $C
bad "bad-value.json: cpus" "'two'" -- -k "$K" --config "$T/bad-value.json" $C
bad "bad-device.json: devices[0].type" "unknown device type 'floppy'" "the types are" -- \
	-k "$K" --config "$T/bad-device.json" $C
printf '{"mem": "128M"}\n' >"$T/good.json"
bad "--config" "given twice" -- -k "$K" --config "$T/good.json" --config "$T/good.json" $C

# flags: unknown, missing value, stray arguments
bad "--bogus" "unknown option" "see 'dpvm run --help'" -- -k "$K" --bogus $C
bad "--mem" "needs a value" -- -k "$K" $C --mem
bad "--hugepages" "takes no value" -- -k "$K" --hugepages=1 $C
bad "'stray'" "unexpected argument" -- -k "$K" stray $C

# conflicting options
bad "--mem 65 MiB" "--hugepages" "multiple of 2 MiB" -- -k "$K" --hugepages --mem 65M $C
bad "--exit-port 0x3f8" "COM1" "pick a free port" -- -k "$K" --exit-port 0x3f8 $C
bad "--exit-port 0x70" "RTC" "pick a free port" -- -k "$K" --exit-port 0x70 $C
bad "--exit-port 0xcf8" "PCI configuration" -- -k "$K" --exit-port 0xcf8 $C
bad "--exit-port 0x604" "ACPI" -- -k "$K" --exit-port 0x604 $C
bad "--exit-port" "'0x10000'" -- -k "$K" --exit-port 0x10000 $C
bad "--console file:$K" "that is the --kernel file" "a path of its own" -- -k "$K" --console "file:$K"
bad "--console unix:$T/s.sock" "that is the --api socket" -- \
	-k "$K" --console "unix:$T/s.sock" --api "unix:$T/s.sock"
bad "--on-reboot" "'reboot'" "use restart or exit" -- -k "$K" --on-reboot reboot $C
bad "--mem-reserve" "'some'" "use full or none" -- -k "$K" --mem-reserve some $C
bad "--seccomp" "'strict'" "use on, log or off" -- -k "$K" --seccomp strict $C
bad "--powerdown-timeout" "'1h'" -- -k "$K" --powerdown-timeout 1h $C

# the kernel file is untouched by all of this
cmp -s "$K" <(mk_multiboot /dev/stdout) || fail "the kernel file changed"
echo "PASS: $n refused runs"
