# Helpers for rig scenarios (guest-tests/rig/NAME.sh), which run in the rig's
# inner host under busybox sh:   . /rig/lib.sh
#
# The inner host has: dpvm (/usr/bin/dpvm), the default guest
# ($GUEST_KERNEL, $GUEST_INITRD), the guest programs of build/guest-tests/
# in $GUEST_PROGS, /dev/kvm (nested SVM), VFIO and an emulated IOMMU.
#
# A scenario exits 0 on success; rig_fail REASON ends it with a failure
# whose reason scripts/rig reports.  Nested VMs:
#
#   vm_start NAME ARGS...     `dpvm run --name NAME ARGS...` in the background,
#                             console on stdio: input from vm_send, output to
#                             the inner host's console and /tmp/vm-NAME/out
#   vm_guest NAME ARGS...     vm_start with the default guest's kernel and
#                             initrd and "$GUEST_CMDLINE" (ARGS may add more)
#   vm_wait NAME TEXT [S]     wait for TEXT (a fixed string) in the output
#   vm_wait_count NAME TEXT N [S]   ... for N lines with TEXT
#   vm_send NAME LINE         type LINE and Enter on the guest's console
#   vm_cmd NAME CMD [S]       run a shell command in the guest (at its shell
#                             prompt); prints its output, returns its status
#   vm_wait_exit NAME [S]     wait for dpvm to end; prints its exit status
#   vm_kill NAME              kill dpvm (SIGKILL) if it still runs
#   vm_out NAME               the output so far
# S is a timeout in seconds (default 60; each nested step under TCG is slow).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
GUEST_KERNEL=/rig/guest/vmlinuz
GUEST_INITRD=/rig/guest/initrd.img
GUEST_PROGS=/rig/guest-tests
GUEST_CMDLINE="quiet"
RIG_REASON=/run/rig-fail-reason

rig_now() { cut -d' ' -f1 /proc/uptime; }
rig_log() { echo "rig[$(rig_now)]: $*" >&2; }

rig_fail() {
	echo "$*" >"$RIG_REASON"
	rig_log "FAIL: $*"
	vm_kill_all
	exit 1
}

# rig_since T0: seconds since T0 (a rig_now value), e.g. 4.21
rig_since() { awk -v t0="$1" '{ printf "%.2f\n", $1 - t0 }' /proc/uptime; }

_vm_dir() { echo "/tmp/vm-$1"; }

vm_start() {
	local name=$1 d
	shift
	d=$(_vm_dir "$name")
	rm -rf "$d"
	mkdir -p "$d"
	mkfifo "$d/in"
	: >"$d/out"
	rig_now >"$d/t0"
	# keeps the console input open between vm_send calls (no EOF to dpvm)
	sleep 2147483647 >"$d/in" &
	echo $! >"$d/holder"
	rig_log "$name: dpvm run --name $name $*"
	(
		dpvm run --name "$name" --console stdio "$@" <"$d/in" &
		echo $! >"$d/pid"
		wait $!
		echo $? >"$d/status"
	) 2>&1 | tee -a "$d/out" &
}

vm_guest() {
	local name=$1
	shift
	vm_start "$name" --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
		--cmdline "$GUEST_CMDLINE" "$@"
}

vm_out() { cat "$(_vm_dir "$1")/out"; }

# _vm_wait NAME WHAT TIMEOUT COND...: poll until COND succeeds
_vm_wait() {
	local name=$1 what=$2 timeout=$3 d end
	shift 3
	d=$(_vm_dir "$name")
	end=$(awk -v t="$timeout" '{ printf "%d\n", $1 + t }' /proc/uptime)
	while ! "$@"; do
		if [ -e "$d/status" ] && ! "$@"; then
			rig_fail "$name: dpvm exited with status $(cat "$d/status") before $what"
		fi
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] ||
			rig_fail "$name: no $what within $timeout s"
		sleep 0.2
	done
}

_vm_has() { grep -qF -- "$2" "$(_vm_dir "$1")/out"; }
_vm_count() { [ "$(grep -cF -- "$2" "$(_vm_dir "$1")/out")" -ge "$3" ]; }

vm_wait() {
	_vm_wait "$1" "'$2'" "${3:-60}" _vm_has "$1" "$2"
	rig_log "$1: '$2' after $(rig_since "$(cat "$(_vm_dir "$1")/t0")") s"
}

vm_wait_count() {
	_vm_wait "$1" "$3 x '$2'" "${4:-60}" _vm_count "$1" "$2" "$3"
	rig_log "$1: $3 x '$2' after $(rig_since "$(cat "$(_vm_dir "$1")/t0")") s"
}

vm_send() { printf '%s\n' "$2" >"$(_vm_dir "$1")/in"; }

# The command's output is framed by markers that the typed line itself (which
# the tty echoes) does not contain: '@@B''N@@' is printed as @@BN@@.
vm_cmd() {
	local name=$1 cmd=$2 timeout=${3:-60} d tag
	d=$(_vm_dir "$name")
	# a file, not a variable: vm_cmd often runs in a $(...) subshell
	tag=$(($(cat "$d/seq" 2>/dev/null || echo 0) + 1))
	echo "$tag" >"$d/seq"
	vm_send "$name" "echo '@@B''$tag@@'; $cmd; echo \"@@E\"\"$tag \$?@@\""
	_vm_wait "$name" "the output of '$cmd'" "$timeout" _vm_has "$name" "@@E$tag "
	tr -d '\r' <"$d/out" | awk -v b="@@B$tag@@" -v e="@@E$tag " '
		i = index($0, e) {
			# the output may not end with a newline: keep what precedes
			if (on && i > 1) print substr($0, 1, i - 1)
			st = substr($0, i + length(e)); sub(/@@.*/, "", st); exit
		}
		on { print }
		$0 == b { on = 1 }
		END { exit st }'
}

vm_wait_exit() {
	local name=$1 timeout=${2:-60} d
	d=$(_vm_dir "$name")
	_vm_wait "$name" "exit" "$timeout" test -e "$d/status"
	sleep 0.1 # let tee copy the last output
	rig_log "$name: dpvm exited with status $(cat "$d/status") after $(rig_since "$(cat "$d/t0")") s"
	cat "$d/status"
}

vm_kill() {
	local d
	d=$(_vm_dir "$1")
	[ -e "$d/pid" ] && [ ! -e "$d/status" ] && kill -KILL "$(cat "$d/pid")" 2>/dev/null
	[ -e "$d/holder" ] && kill "$(cat "$d/holder")" 2>/dev/null
	return 0
}

vm_kill_all() {
	local d
	for d in /tmp/vm-*; do
		[ -d "$d" ] && vm_kill "${d#/tmp/vm-}"
	done
	return 0
}

# guest_has_no NAME PATTERN WHAT: fail if the guest's output matches
guest_has_no() {
	if grep -E -- "$2" "$(_vm_dir "$1")/out" >/tmp/rig-match; then
		cat /tmp/rig-match
		rig_fail "$1: $3: $(head -n 1 /tmp/rig-match | tr -d '\r')"
	fi
}

# A writer that cannot end by itself, for "unplugged in the middle of a write":
# it rewrites 16 MiB of TARGET (from MiB SEEK, O_DIRECT) round after round
# until a write fails, so the unplug lands mid-write however fast the machine
# (a fixed-size write once finished before a 2 s unplug on a faster CI host).
# vm_writer_start returns once the first round is done (the writer is
# running); vm_writer_end waits for it to stop and fails unless it stopped on
# a write error.
vm_writer_start() {	# NAME TARGET SEEK_MIB
	vm_send "$1" "dmesg -n 1; n=0; while dd if=/dev/zero of=$2 bs=1M seek=$3 count=16 conv=notrunc oflag=direct 2>/tmp/dd.err; do n=\$((n + 1)); [ \$n = 1 ] && echo DD\"\"-GOING; done; echo DD\"\"-END \$n"
	vm_wait "$1" DD-GOING 300
}

vm_writer_end() {	# NAME TIMEOUT
	local err
	vm_wait "$1" DD-END "$2"
	err=$(vm_cmd "$1" 'cat /tmp/dd.err')
	echo "$err" | sed 's/^/  guest dd: /'
	echo "$err" | grep -qE "error (writing|opening)|can't open" ||
		rig_fail "$1: the writer stopped without a write error: $err"
}
