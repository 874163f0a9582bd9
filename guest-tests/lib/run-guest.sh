# Helpers for tests/kvm/*.sh: run a guest program under dpvm and check its
# exit status and serial output.  Source tests/lib.sh first, then this.
#
#   run_guest NAME [dpvm run flags...]   sets $status; the output is in $out
#   expect_exit N                        the status must be N
#   expect_out REGEX                     a line of the output must match
#   expect_no_out REGEX                  no line may match
#   expect_pass                          status 1 (exit code 0), "PASS", no "FAIL"
GUEST_DIR=$DPVM_TOP/build/guest-tests
GUEST_TIMEOUT=${GUEST_TIMEOUT:-60}
status=0
out=$T/guest.out

need_guest() { # NAME...
	local n
	[ -x "$DPVM" ] || fail "$DPVM is missing; run make"
	for n in "$@"; do
		[ -f "$GUEST_DIR/$n.elf" ] || fail "$GUEST_DIR/$n.elf is missing; run make guest-programs"
	done
}

# The guest's COM1 goes to a file (--console file:), dpvm's own messages to
# $T/dpvm.err; both are printed for the log.  A hung guest is stopped by
# timeout (dpvm then waits --powerdown-timeout for an ACPI power-off the
# programs never do).
run_guest() { # NAME [flags...]
	local name=$1; shift
	need_guest "$name"
	rm -f "$T/console.raw"
	echo "+ dpvm run --kernel $name.elf --exit-port 0xf4 $*"
	timeout -k 10 "$GUEST_TIMEOUT" "$DPVM" run --kernel "$GUEST_DIR/$name.elf" \
		--exit-port 0xf4 --console "file:$T/console.raw" --api none \
		--powerdown-timeout 1 "$@" </dev/null 2>"$T/dpvm.err"
	status=$?
	tr -d '\r' <"$T/console.raw" >"$out" 2>/dev/null || : >"$out"
	sed 's/^/  | /' "$out"
	[ -s "$T/dpvm.err" ] && sed 's/^/  dpvm: /' "$T/dpvm.err"
	echo "  exit status $status"
	[ $status -ne 124 ] || fail "$name did not finish within ${GUEST_TIMEOUT}s"
}

expect_exit() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1"
}

expect_out() {
	grep -qE -- "$1" "$out" || fail "no output line matches '$1'"
}

expect_no_out() {
	! grep -qE -- "$1" "$out" || fail "an output line matches '$1': $(grep -m1 -E -- "$1" "$out")"
}

expect_pass() {
	expect_exit 1
	expect_out '^PASS$'
	expect_no_out '^FAIL'
}
