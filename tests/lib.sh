# Helpers for the shell tests (tests/*/*.sh); source it.
set -u
DPVM=${DPVM:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dpvm}
DPVM_TOP=${DPVM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
T=$(mktemp -d /tmp/dpvm-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
need_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm"; }
# expect STATUS CMD...: run CMD, check its exit status
expect_status() {
	local want=$1; shift
	"$@"; local got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# rig_quiet NAME LINES RIG-ARGS...: run rig scenario NAME with -q, show the
# lines of its log (build/rig/NAME.log, in RIG_LOG) that match the extended
# regex LINES, and the rig's last words; skip when the rig cannot run, fail
# when the scenario does
rig_quiet() {
	local name=$1 lines=$2 st
	shift 2
	"$DPVM_TOP/scripts/rig" run "$name" -q "$@" >"$T/rig.out" 2>&1
	st=$?
	RIG_LOG=$DPVM_TOP/build/rig/$name.log
	tr -d '\r' <"$RIG_LOG" | grep -E "rig\[|RIG-|$lines" | tail -n 80
	tail -n 3 "$T/rig.out"
	[ $st -eq 77 ] && skip "$(grep -m1 SKIP "$T/rig.out")"
	[ $st -eq 0 ] || fail "the rig scenario failed (status $st)"
}
