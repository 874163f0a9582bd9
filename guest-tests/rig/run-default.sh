# Scenario "run-default" (make run RIG=1, scripts/run-default --rig): the
# default guest under dpvm with its serial console on the inner host's
# console, which scripts/rig --interactive puts on the user's terminal.
. /rig/lib.sh
rig_log "booting the default guest: dpvm run --kernel $GUEST_KERNEL --initrd $GUEST_INITRD --mem 512M --console stdio"
dpvm run --name default --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --mem 512M \
	--cmdline "$GUEST_CMDLINE" --console stdio
st=$?
rig_log "dpvm exited with status $st; powering the inner host off"
exit $st
