#!/bin/sh
# Smallest guest-side test: the guest runs a script and reports a few facts.
echo "kernel $(uname -r), $(nproc) CPU(s), $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB"
[ -e /proc/self ] || exit 1
