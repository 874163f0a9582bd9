# Scenario "passthru-limits" (tests/rig/passthru-limits.sh): ten QEMU edu
# devices, each in its own IOMMU group, plus two edu functions sharing one
# slot (functions 0 and 1).  The VMs run a guest program that halts (a
# multiboot ELF; fast to start) since only dpvm's claims and limits are
# under test here:
#   - a VM with 7 devices is refused (at most 6 per VM)
#   - VMs holding 6 + 2 devices leave the host at its limit (8): a 9th is
#     refused, naming the limit
#   - the two functions of one host slot keep their function numbers in the
#     guest (00:NN.0 and 00:NN.1)
#   - bad input: a malformed address, an absent device, a device not bound
#     to vfio-pci: one clear line each, nothing changed on the host
. /rig/lib.sh

edus=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && edus="$edus ${d##*/}"
done
set -- $edus
[ $# -ge 12 ] || rig_fail "expected 12 edu functions in the inner host, found $#"
rig_log "edu functions: $*"
for b in "$@"; do
	case $b in *.1) ;; *) dpvm host passthru enable "$b" >/dev/null || rig_fail "enable $b failed" ;; esac
done
# the multifunction slot: its two functions share a group; enable both together
mf0=$(for b in "$@"; do case $b in *.1) echo "${b%.1}.0";; esac; done)
mf1=${mf0%.0}.1
dpvm host passthru enable --group "$mf0" >/dev/null || rig_fail "enable --group $mf0 failed"
singles=$(for b in "$@"; do case $b in "${mf0%.0}".*) ;; *) echo "$b";; esac; done)
set -- $singles
prog=$GUEST_PROGS/hello.elf
pt() { for b in "$@"; do printf -- '--passthru %s,allow-no-reset ' "$b"; done; }

# 7 in one VM: refused before anything exists
# shellcheck disable=SC2046
if dpvm run --name seven --kernel "$prog" --mem 128M --mem-reserve full --api none \
	--console none $(pt "$1" "$2" "$3" "$4" "$5" "$6" "$7") 2>/tmp/err; then
	rig_fail "a VM with 7 passthrough devices started"
fi
rig_log "7 in one VM: $(cat /tmp/err)"
grep -q 'at most 6' /tmp/err || rig_fail "the refusal does not give the limit: $(cat /tmp/err)"

# 6 + 2 = the host's 8
# shellcheck disable=SC2046
vm_start six --kernel "$prog" --mem 128M --mem-reserve full $(pt "$1" "$2" "$3" "$4" "$5" "$6")
vm_wait six "hello from a guest program" 120
vm_start mf --kernel "$prog" --mem 128M --mem-reserve full $(pt "$mf0" "$mf1")
vm_wait mf "hello from a guest program" 120
dpvm ctl --json mf status >/tmp/st || rig_fail "ctl status failed"
g0=$(sed -n 's/.*"host":"'"$mf0"'","pci":"\([^"]*\)".*/\1/p' /tmp/st)
g1=$(sed -n 's/.*"host":"'"$mf1"'","pci":"\([^"]*\)".*/\1/p' /tmp/st)
rig_log "multifunction: $mf0 -> guest $g0, $mf1 -> guest $g1"
[ -n "$g0" ] && [ "${g0%.0}" = "${g1%.1}" ] && [ "${g0##*.}" = 0 ] && [ "${g1##*.}" = 1 ] ||
	rig_fail "the functions of one slot do not keep their numbers: $mf0 -> '$g0', $mf1 -> '$g1'"

# the 9th on the host: refused, naming the limit
if dpvm run --name ninth --kernel "$prog" --mem 128M --mem-reserve full --api none \
	--console none $(pt "$7") 2>/tmp/err; then
	rig_fail "a 9th passthrough device was powered on"
fi
rig_log "the 9th on the host: $(cat /tmp/err)"
grep -q '8' /tmp/err || rig_fail "the refusal does not give the host's limit: $(cat /tmp/err)"

# bad input: one line each, nothing changed
before=$(for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(basename "$(readlink "$d/driver" 2>/dev/null)")"; done)
bad() { # ARGS...: must fail with one line
	if dpvm run --kernel "$prog" --mem 128M --mem-reserve full --api none --console none "$@" 2>/tmp/err; then
		rig_fail "dpvm run $* started"
	fi
	[ "$(wc -l </tmp/err)" = 1 ] || rig_fail "dpvm run $*: not one line: $(cat /tmp/err)"
	rig_log "bad input $*: $(cat /tmp/err)"
}
bad --passthru 3:0.0
bad --passthru 0000:0f:1f.7,allow-no-reset
host_dev=
for d in /sys/bus/pci/devices/*; do
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)")
	[ -n "$drv" ] && [ "$drv" != vfio-pci ] && [ "$drv" != pcieport ] && host_dev=${d##*/} && break
done
[ -n "$host_dev" ] || rig_fail "no device on a host driver to try"
bad --passthru "$host_dev"
after=$(for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(basename "$(readlink "$d/driver" 2>/dev/null)")"; done)
[ "$before" = "$after" ] || rig_fail "a refused run changed driver bindings"

vm_kill six
vm_kill mf
