# Scenario "boot" (tests/rig/boot.sh): dpvm boots nested guests in the inner
# host: a multiboot guest program, then the default Linux guest to its ready
# marker; a command typed on the serial console runs; `poweroff` ends dpvm
# with status 0.
. /rig/lib.sh

# a guest program: its line on the console, then the exit port
prog=$GUEST_PROGS/hello.elf
[ -e "$prog" ] || rig_fail "no $prog in the image; run 'make guest-programs' and rebuild the rig"
vm_start mb --kernel "$prog" --exit-port 0xf4 --api none
vm_wait mb "hello from a guest program" 60
st=$(vm_wait_exit mb 30)
[ "$st" = 1 ] || rig_fail "mb: dpvm exited with status $st, expected 1 (exit port, value 0)"

# the default Linux guest: ready marker, then its shell on the serial console
vm_guest linux --mem 512M
vm_wait linux DPVM-GUEST-READY 180
out=$(vm_cmd linux 'echo $((6 * 7)) $(uname -r)') || rig_fail "linux: the shell command failed: $out"
rig_log "linux: the guest's shell answered: $out"
[ "$out" = "42 $(uname -r)" ] ||
	rig_fail "linux: typed 'echo \$((6 * 7)) \$(uname -r)', read '$out', expected '42 $(uname -r)'"
vm_cmd linux 'false' >/dev/null && rig_fail "linux: 'false' in the guest reported success"

# poweroff in the guest (ACPI S5) ends dpvm with status 0
vm_send linux poweroff
st=$(vm_wait_exit linux 60)
[ "$st" = 0 ] || rig_fail "linux: after poweroff dpvm exited with status $st, expected 0"
