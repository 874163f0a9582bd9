# Scenario "bench" (scripts/bench; needs an image with QEMU: RIG_WITH_QEMU=1):
# side-by-side measurements in the inner host, dpvm against QEMU on the same
# nested KVM, the same kernel, initramfs, command line and memory.  Prints
# one line per sample:
#   RESULT boot VMM SECONDS        VMM start to the guest's init marker
#   RESULT rss VMM KIB             the VMM's own RSS after boot (guest RAM,
#                                  shared memory for both, not counted)
#   RESULT portio VMM TRIPS_PER_S  trapped port I/O round trips (guest program)
#   RESULT ptboot VMM MIB SECONDS  start to the first guest line with an
#                                  assigned device (edu), MIB of guest RAM
#   RESULT ptmap MIB GIB_PER_S     dpvm's pin+map rate
# BENCH_RUNS (default 5) samples each.
. /rig/lib.sh

RUNS=$(sed -n 's/.*bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
RUNS=${RUNS:-5}
CMD="console=ttyS0 panic=-1 no_timer_check 8250.nr_uarts=1 quiet"
Q=qemu-system-x86_64
command -v $Q >/dev/null || rig_fail "no QEMU in the inner host: build the rig with RIG_WITH_QEMU=1"

# run_until NAME MARKER TIMEOUT CMD...: start CMD with output to /tmp/b-NAME,
# wait for MARKER; sets SECS to the seconds it took and leaves $BPID running.
# Not for $(...): the command substitution would wait for the background
# process, which keeps the substitution's pipe open.
run_until() {
	local name=$1 marker=$2 timeout=$3 t0 end
	shift 3
	: >"/tmp/b-$name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@" </dev/null >"/tmp/b-$name" 2>&1 &
	BPID=$!
	end=$(awk -v t="$t0" -v d="$timeout" 'BEGIN { printf "%d\n", t + d }')
	while ! grep -qF -- "$marker" "/tmp/b-$name"; do
		kill -0 $BPID 2>/dev/null || { tail -n 5 "/tmp/b-$name"; rig_fail "$name exited before '$marker'"; }
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || { kill -9 $BPID; rig_fail "$name: no '$marker' in $timeout s"; }
		sleep 0.05
	done
	SECS=$(rig_since "$t0")
}

stop() { kill -9 "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null; }

# the VMM's RSS without guest RAM (a memfd for both: RssShmem)
rss() { awk '/^RssAnon:|^RssFile:/ { s += $2 } END { print s }' "/proc/$1/status"; }

# each execs the VMM, so that $BPID is the VMM, not a subshell
dpvm_boot() {
	exec dpvm run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --mem 512M \
		--no-default-cmdline --cmdline "$CMD" --console stdio --api none
}
q35_boot() {
	exec $Q -M q35,accel=kvm -cpu host -smp 1 -m 512 -nodefaults -nographic -no-reboot \
		-object memory-backend-memfd,id=ram,size=512M -machine memory-backend=ram \
		-serial stdio -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$CMD"
}
microvm_boot() {
	exec $Q -M microvm,accel=kvm -cpu host -smp 1 -m 512 -nodefaults -nographic -no-reboot \
		-object memory-backend-memfd,id=ram,size=512M -machine memory-backend=ram \
		-serial stdio -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$CMD"
}

i=0
while [ $i -lt "$RUNS" ]; do
	for vmm in dpvm microvm q35; do
		run_until "$vmm" DPVM-GUEST-READY 300 "${vmm}_boot"
		echo "RESULT boot $vmm $SECS"
		sleep 1	# let the boot settle before reading its memory
		echo "RESULT rss $vmm $(rss "$BPID")"
		stop
	done
	i=$((i + 1))
done

# trapped port I/O: the same guest program under both
prog=$GUEST_PROGS/portio-bench.elf
i=0
while [ $i -lt "$RUNS" ]; do
	dpvm run --kernel "$prog" --cmdline "iters=20000" --exit-port 0xf4 --console stdio \
		--api none >/tmp/b-pio 2>&1
	echo "RESULT portio dpvm $(sed -n 's/.*round_trips_per_sec=\([0-9]*\).*/\1/p' /tmp/b-pio)"
	$Q -M q35,accel=kvm -cpu host -m 128 -nodefaults -nographic -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$prog" -append "iters=20000" \
		>/tmp/b-pio 2>&1
	echo "RESULT portio qemu $(sed -n 's/.*round_trips_per_sec=\([0-9]*\).*/\1/p' /tmp/b-pio)"
	i=$((i + 1))
done

# power-on to the first guest instruction with an assigned device
bdf=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && bdf=${d##*/}
done
if [ -n "$bdf" ]; then
	dpvm host passthru enable "$bdf" >/dev/null || rig_fail "cannot enable $bdf"
	hello=$GUEST_PROGS/hello.elf
	for mib in 1024 2048; do
		i=0
		while [ $i -lt "$RUNS" ]; do
			run_until dpvm-pt "runtime: loader" 120 dpvm run --kernel "$hello" \
				--mem ${mib}M --mem-reserve full --passthru "$bdf,allow-no-reset" \
				--console stdio --api none
			echo "RESULT ptboot dpvm $mib $SECS"
			sed -n 's/.*mapped .* in \([0-9.]*\) s (\([0-9.]*\) GiB\/s).*/RESULT ptmap '"$mib"' \2/p' /tmp/b-dpvm-pt
			stop
			run_until qemu-pt "runtime: loader" 120 $Q -M q35,accel=kvm -cpu host \
				-m $mib -nodefaults -nographic -no-reboot -serial stdio \
				-device "vfio-pci,host=$bdf" -kernel "$hello"
			echo "RESULT ptboot qemu $mib $SECS"
			stop
			i=$((i + 1))
		done
	done
	dpvm host passthru disable "$bdf" >/dev/null
fi
