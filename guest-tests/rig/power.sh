# Scenario "power" (tests/rig/power.sh), one nested Linux guest with two
# vCPUs through its power states:
#   - the guest sees 2 CPUs (--cpus 2)
#   - its kernel log has no ACPI errors or warnings (dpvm's ACPI tables)
#   - `reboot` restarts it in place: the ready marker a second time
#   - `dpvm ctl NAME powerdown` (the ACPI power button, acpid in the guest)
#     powers it off cleanly: dpvm exits with status 0
. /rig/lib.sh

vm_guest pw --mem 512M --cpus 2
vm_wait pw DPVM-GUEST-READY 180

n=$(vm_cmd pw 'nproc; grep -c ^processor /proc/cpuinfo | tr "\n" " "') ||
	rig_fail "pw: nproc failed in the guest"
n=$(echo $n)
rig_log "pw: CPUs online, in /proc/cpuinfo: $n"
[ "$n" = "2 2" ] || rig_fail "pw: with --cpus 2 the guest has $n CPUs (nproc, /proc/cpuinfo), expected 2 2"

vm_cmd pw 'dmesg | grep -E "ACPI (BIOS )?(Error|Warning)|ACPI Exception" ; true' >/tmp/acpi-errors ||
	rig_fail "pw: dmesg failed in the guest"
if [ -s /tmp/acpi-errors ]; then
	cat /tmp/acpi-errors
	rig_fail "pw: the guest's kernel log has ACPI errors: $(head -n 1 /tmp/acpi-errors | tr -d '\r')"
fi
rig_log "pw: no ACPI errors or warnings in the guest's kernel log"

# a reboot restarts the same guest: the ready marker again, same dpvm
vm_send pw reboot
vm_wait_count pw DPVM-GUEST-READY 2 180
[ -e /tmp/vm-pw/status ] && rig_fail "pw: dpvm ended on reboot (status $(cat /tmp/vm-pw/status))"
n=$(vm_cmd pw nproc) || rig_fail "pw: no shell after the reboot"
[ "$n" = 2 ] || rig_fail "pw: after the reboot the guest has $n CPUs, expected 2"

# the ACPI power button: acpid in the guest powers it off
st=$(dpvm ctl pw powerdown 2>&1) || rig_fail "pw: dpvm ctl pw powerdown failed: $st"
rig_log "pw: dpvm ctl pw powerdown: $st"
vm_wait pw "power button pressed" 60
st=$(vm_wait_exit pw 60)
[ "$st" = 0 ] || rig_fail "pw: after the power button dpvm exited with status $st, expected 0"
