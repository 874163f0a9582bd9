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
