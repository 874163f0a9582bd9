# Scenario "selftest" (tests/rig/rig.sh): the rig itself.  By the kernel
# parameter rig.selftest= (scripts/rig run --append):
#   serve   answer one connection on port 8080 (reached through --hostfwd),
#           then fail on purpose with a known reason
#   hang    never finish (scripts/rig's timeout must stop QEMU)
#   stall   stop the heartbeat, as a stopped clock would, and never finish
#           (scripts/rig must say STALLED and exit 75)
. /rig/lib.sh
mode=
for arg in $(cat /proc/cmdline); do
	case $arg in rig.selftest=*) mode=${arg#rig.selftest=} ;; esac
done
case $mode in
serve)
	echo "rig-selftest $(uname -r)" >/tmp/answer
	timeout 120 nc -l -p 8080 </tmp/answer &
	nc=$!
	sleep 1
	# the test connects only after this line (the NIC must be up first)
	rig_log "listening on port 8080"
	wait $nc || rig_fail "no connection to port 8080 within 120 s"
	rig_fail "deliberate failure after serving" ;;
hang)
	rig_log "hanging until scripts/rig stops QEMU"
	while :; do sleep 1000; done ;;
stall)
	kill "$(cat /run/rig-heartbeat.pid)" || rig_fail "no heartbeat to stop"
	rig_log "heartbeat stopped; hanging"
	while :; do sleep 1000; done ;;
*)
	rig_fail "unknown rig.selftest='$mode'" ;;
esac
