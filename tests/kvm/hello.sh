#!/usr/bin/env bash
# The smallest guest program: its line reaches the console (a file, and
# stdio), and the exit port ends dpvm with status (0 << 1) | 1.
. "$(dirname "$0")/../lib.sh"
. "$DPVM_TOP/guest-tests/lib/run-guest.sh"
need_kvm

run_guest hello
expect_pass
expect_out '^hello from a guest program \(loader dpvm\)$'
expect_out '^runtime: loader "dpvm", RAM top 0x20000000, cmdline ""$'

# --mem and --cmdline reach the multiboot information
run_guest hello --mem 256M --cmdline "a=1 b=two"
expect_pass
expect_out '^runtime: loader "dpvm", RAM top 0x10000000, cmdline "a=1 b=two"$'

# --console stdio: the same line on dpvm's standard output
need_guest hello
timeout -k 10 60 "$DPVM" run --kernel "$GUEST_DIR/hello.elf" --exit-port 0xf4 \
	--console stdio --api none </dev/null >"$T/stdio.out" 2>"$T/stdio.err"
st=$?
cat "$T/stdio.out" "$T/stdio.err"
[ $st -eq 1 ] || fail "with --console stdio: exit status $st, expected 1"
grep -q 'hello from a guest program' "$T/stdio.out" || fail "with --console stdio: no hello line on stdout"

# without --exit-port the write is dropped: the program reports it and halts

echo "+ without --exit-port (expect a timeout)"
timeout -k 5 3 "$DPVM" run --kernel "$GUEST_DIR/hello.elf" --console "file:$T/noexit.raw" \
	--api none --powerdown-timeout 1 </dev/null 2>"$T/noexit.err"
st=$?
tr -d '\r' <"$T/noexit.raw" | sed 's/^/  | /'
[ $st -eq 124 ] || fail "without --exit-port: exit status $st, expected a timeout (124)"
grep -q 'did not stop the VM; halting' "$T/noexit.raw" || fail "without --exit-port: no 'did not stop the VM' line"
echo PASS
