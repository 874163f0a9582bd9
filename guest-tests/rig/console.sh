# Scenario "console" (tests/rig/console.sh): the trapped PS/2 keyboard and
# the VNC console with the default Linux guest.  The outer host drives real
# VNC viewers through the rig's --hostfwd: the inner host's port 5900 is
# dpvm's VNC console (password "dpvm-rig"), 5901 a signal port the outer
# host connects to when it has done its part of a step.  T is the outer
# host's token (console.token= on the inner host's command line).  Steps:
#   1. the guest's i8042 and atkbd drivers probe the controller with default
#      options (no i8042.* on the command line) and register an "AT
#      Translated Set 2 keyboard"; vesafb and fbcon take the framebuffer
#   2. the guest writes two lines on tty1 and prints its font's glyphs for
#      them (RIG-CONSOLE[T]-TEXT, -GLYPH), starts dpvm-console to
#      log key events, and says "RIG-CONSOLE[T]: TYPE": the outer host types
#      through TigerVNC's viewer and takes a vncsnapshot, then signals
#   3. the key events the guest read (RIG-CONSOLE[T]-KEYS) for the outer host
#      to compare; Caps Lock was among them: its LED is on in the guest and
#      in `dpvm ctl NAME status`; `ctl sendkey caps_lock` turns it off
#   4. `ctl type` reaches the guest's input layer as Shift, h, i
#   5. the guest writes what it got on tty1; "RIG-CONSOLE[T]: SNAP": the outer
#      host saves a screenshot, then signals
#   6. `ctl sendkey ctrl-alt-delete`: busybox init's ctrlaltdel action
#      reboots, the kernel (reboot=k) pulses the 8042's reset line, dpvm
#      restarts the VM in place: the ready marker a second time
#   7. the PS/2 mouse (ACPI PNP0F13 on IRQ 12) with Linux's psmouse and
#      default options, in a second guest: "RIG-CONSOLE[T]: POINT": the outer host moves
#      and clicks TigerVNC's pointer; the guest's pointer events
#      (RIG-CONSOLE[T]-POINTER) for it to compare
. /rig/lib.sh

VNC_PASSWORD=dpvm-rig
# the outer host's token (--append console.token=T) marks this run's lines
token=$(sed -n 's/.*console\.token=\([^ ]*\).*/\1/p' /proc/cmdline)
# (on a line of their own: the guest's prompt may be unfinished)
say() { printf '\nRIG-CONSOLE[%s]%s\n' "$token" "$*"; }
CMDLINE="console=tty0 console=ttyS0 panic=-1 no_timer_check 8250.nr_uarts=1 quiet reboot=k"

# wait for the outer host's signal on port 5901 (busybox nc); it goes on
# once it sees RIG-CONSOLE[T]: GOT
signal() { # WHAT TIMEOUT
	say ": $1"
	timeout "$2" nc -l -p 5901 </dev/null >/dev/null 2>&1 ||
		rig_fail "no signal from the outer host after '$1' within $2 s (is --hostfwd tcp::PORT-:5901 given?)"
	say ": GOT $1"
	rig_log "the outer host signalled after '$1'"
}

# the keyboard's caps lock LED as `dpvm ctl NAME status` reports it
ctl_caps() {
	dpvm ctl con status | awk -F: '/"caps-lock"/ { gsub(/[",[:space:]]/, "", $2); print $2; exit }'
}

printf '%s\n' "$VNC_PASSWORD" >/tmp/vncpw
chmod 600 /tmp/vncpw
vm_start con --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --no-default-cmdline \
	--cmdline "$CMDLINE" --mem 512M --vnc 0.0.0.0:5900 --vnc-password-file /tmp/vncpw
vm_wait con DPVM-GUEST-READY 240

# 1. the drivers, with default options
out=$(vm_cmd con 'cat /proc/cmdline; cat /sys/class/input/input*/name; dmesg | grep -E "i8042|serio|vesafb|frame buffer|Console: switching"') ||
	rig_fail "con: reading the guest's kernel log failed"
echo "$out" | sed 's/^/  guest: /'
echo "$out" | head -n 1 | grep -q 'i8042\.' && rig_fail "con: the guest's command line has i8042 options"
echo "$out" | grep -qx "AT Translated Set 2 keyboard" ||
	rig_fail "con: no 'AT Translated Set 2 keyboard' among the guest's input devices"
echo "$out" | grep -q "serio: i8042 KBD port at 0x60,0x64 irq 1" ||
	rig_fail "con: the guest's i8042 driver did not register the keyboard port"
echo "$out" | grep -q "vesafb: framebuffer at 0xfd000000" ||
	rig_fail "con: vesafb did not take the framebuffer at 0xfd000000"
echo "$out" | grep -q "Console: switching to colour frame buffer device 128x48" ||
	rig_fail "con: fbcon did not take the 1024x768 framebuffer"

# 2. text on tty1, its glyphs, the key logger
line0="dpvm VNC console: this text was written by the guest on tty1"
line1="keyboard: AT Translated Set 2 keyboard, screen: vesafb 1024x768x32 at 0xfd000000"
vm_cmd con "dmesg -n 1; printf '\\033[2J\\033[H\\033[?25l%s\\n%s\\n' '$line0' '$line1' >/dev/tty1" >/dev/null ||
	rig_fail "con: writing to tty1 failed"
say "-TEXT 0 $line0"
say "-TEXT 1 $line1"
glyphs=$(vm_cmd con "dpvm-console font '$line0$line1'") || rig_fail "con: dpvm-console font failed: $glyphs"
echo "$glyphs" | grep -q '^font 8 16$' || rig_fail "con: tty1's font is not 8x16: $(echo "$glyphs" | head -n 1)"
echo
echo "$glyphs" | sed -n "s/^glyph /RIG-CONSOLE[$token]-GLYPH /p"
nkeys=28
vm_cmd con "dpvm-console keys $nkeys 600 >/tmp/keys.txt 2>&1 & sleep 1; cat /tmp/keys.txt" >/tmp/keys-start ||
	rig_fail "con: starting dpvm-console keys failed"
grep -q KEYS-READY /tmp/keys-start || rig_fail "con: dpvm-console keys: $(head -n 1 /tmp/keys-start)"
sed 's/^/  guest: /' /tmp/keys-start
signal TYPE 600

# 3. what the guest read
keys=$(vm_cmd con 'for i in $(seq 100); do grep -q KEYS-DONE /tmp/keys.txt && break; sleep 0.2; done; cat /tmp/keys.txt' 60) ||
	rig_fail "con: reading the key events failed"
echo "$keys" | sed 's/^/  guest: /'
say "-KEYS: $(echo "$keys" | sed -n 's/^key //p' | tr '\n' ' ')"
echo "$keys" | grep -q "^KEYS-DONE $nkeys" || rig_fail "con: the guest read fewer than $nkeys key events"
leds=$(vm_cmd con 'dpvm-console leds')
caps=$(ctl_caps)
rig_log "con: after Caps Lock: guest '$leds', dpvm ctl status caps-lock: $caps"
[ "$leds" = "leds caps=1 num=0 scroll=0" ] || rig_fail "con: after Caps Lock the guest's LEDs are '$leds'"
[ "$caps" = true ] || rig_fail "con: after Caps Lock dpvm ctl status says caps-lock $caps"
dpvm ctl con sendkey caps_lock >/dev/null || rig_fail "con: ctl sendkey caps_lock failed"
sleep 2
leds=$(vm_cmd con 'dpvm-console leds')
caps=$(ctl_caps)
rig_log "con: after ctl sendkey caps_lock: guest '$leds', dpvm ctl status caps-lock: $caps"
[ "$leds" = "leds caps=0 num=0 scroll=0" ] || rig_fail "con: Caps Lock again: the guest's LEDs are '$leds'"
[ "$caps" = false ] || rig_fail "con: Caps Lock again: dpvm ctl status says caps-lock $caps"

# 4. ctl type
vm_cmd con "dpvm-console keys 6 120 >/tmp/typed.txt 2>&1 & sleep 1" >/dev/null
dpvm ctl con type 'Hi' >/dev/null || rig_fail "con: ctl type failed"
typed=$(vm_cmd con 'for i in $(seq 100); do grep -q KEYS-DONE /tmp/typed.txt && break; sleep 0.2; done; sed -n "s/^key //p" /tmp/typed.txt | tr "\n" " "' 60)
rig_log "con: ctl type 'Hi': the guest read: $typed"
[ "$typed" = "42 1 35 1 35 0 42 0 23 1 23 0 " ] ||
	rig_fail "con: ctl type 'Hi' gave key events '$typed', expected '42 1 35 1 35 0 42 0 23 1 23 0 '"

# 5. the screen, for the outer host's screenshot
vm_cmd con "{ echo; echo 'key events this guest read (Linux KEY_* code, 1 press, 0 release):'; sed -n 's/^key //p' /tmp/keys.txt | tr '\\n' ' ' | fold -w 120; echo; echo; echo 'Caps Lock LED after the viewer typed Caps Lock: on; after dpvm ctl sendkey caps_lock: off'; echo \"dpvm ctl type 'Hi': $typed\"; echo; uname -a; } >/dev/tty1" >/dev/null
signal SNAP 600

# 6. Ctrl+Alt+Delete reboots through the 8042's reset line
vm_cmd con 'echo "::ctrlaltdel:/sbin/reboot" >>/etc/inittab; kill -HUP 1' >/dev/null ||
	rig_fail "con: adding the ctrlaltdel action failed"
sleep 1
dpvm ctl con sendkey ctrl-alt-delete >/dev/null || rig_fail "con: ctl sendkey ctrl-alt-delete failed"
vm_wait con "i8042: the guest pulsed the reset line (command 0xfe)" 120
vm_wait_count con DPVM-GUEST-READY 2 240
[ -e /tmp/vm-con/status ] && rig_fail "con: dpvm ended on the reboot (status $(cat /tmp/vm-con/status))"
rig_log "con: Ctrl+Alt+Delete rebooted the guest through the 8042 reset line"
vm_send con poweroff
st=$(vm_wait_exit con 60)
[ "$st" = 0 ] || rig_fail "con: after poweroff dpvm exited with status $st, expected 0"

# 7. the mouse
vm_start mo --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --no-default-cmdline \
	--cmdline "$CMDLINE" --mem 512M --vnc 0.0.0.0:5900 --vnc-password-file /tmp/vncpw
vm_wait mo DPVM-GUEST-READY 240
mice=$(vm_cmd mo 'cat /sys/class/input/input*/name | grep -i mouse') || rig_fail "mo: no mouse in the guest"
rig_log "mo: the guest's mouse: $mice"
echo "$mice" | grep -q "^ImExPS/2 Generic Explorer Mouse$" ||
	rig_fail "mo: psmouse found '$mice', expected 'ImExPS/2 Generic Explorer Mouse'"
vm_cmd mo "dpvm-console pointer 8 600 >/tmp/ptr.txt 2>&1 & sleep 1; cat /tmp/ptr.txt" >/tmp/ptr-start ||
	rig_fail "mo: starting dpvm-console pointer failed"
grep -q POINTER-READY /tmp/ptr-start || rig_fail "mo: dpvm-console pointer: $(head -n 1 /tmp/ptr-start)"
signal POINT 600
ptr=$(vm_cmd mo 'for i in $(seq 100); do grep -q POINTER-DONE /tmp/ptr.txt && break; sleep 0.2; done; cat /tmp/ptr.txt' 60) ||
	rig_fail "mo: reading the pointer events failed"
echo "$ptr" | sed 's/^/  guest: /'
say "-POINTER: $(echo "$ptr" | grep -E '^(rel|btn) ' | tr '\n' ',')"
echo "$ptr" | grep -q "^POINTER-DONE 8" || rig_fail "mo: the guest read fewer than 8 button events"
vm_send mo poweroff
st=$(vm_wait_exit mo 60)
[ "$st" = 0 ] || rig_fail "mo: after poweroff dpvm exited with status $st, expected 0"
