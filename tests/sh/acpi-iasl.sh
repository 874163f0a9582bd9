#!/usr/bin/env bash
# dpvm's ACPI tables through ACPICA's own tools (acpica-tools), the code
# Linux runs on them:
#  - build/tests/test-acpi dumps the tables of a 2-vCPU VM (DPVM_ACPI_DUMP);
#  - iasl -d disassembles every table, with no error or warning (for the
#    FADT it also runs ACPICA's FADT conversion, which prints Linux's
#    "ACPI BIOS Warning" lines);
#  - iasl recompiles each disassembly and the result must equal our table
#    byte for byte, except the checksum and creator fields iasl writes;
#    the RSDP (iasl cannot disassemble a bare RSDP) is compiled from its
#    fields and must equal ours, checksums included;
#  - acpiexec loads our FADT and DSDT, evaluates every predefined name with
#    ACPICA's return-value checks, and runs _OSC the way Linux does.
. "$(dirname "$0")/../lib.sh"

command -v iasl >/dev/null || skip "iasl not installed (apt-get install acpica-tools)"
command -v acpiexec >/dev/null || skip "acpiexec not installed (apt-get install acpica-tools)"
bin=$DPVM_TOP/build/tests/test-acpi
[ -x "$bin" ] || fail "$bin is missing; run 'make unit-tests' first"

D=$T/tables
mkdir -p "$D/dis" "$D/rc"
DPVM_ACPI_DUMP=$D "$bin" >"$T/unit.log" 2>&1 || { cat "$T/unit.log"; fail "test-acpi failed"; }
for t in RSDP XSDT FACP FACS APIC MCFG DSDT; do
	[ -s "$D/$t.dat" ] || fail "test-acpi did not dump $t.dat"
done

# clean LOG WHAT: no error or warning in an iasl/acpiexec log
clean() {
	local bad
	bad=$(grep -Ei 'error|warning|exception|firmware|bios bug' "$1" |
	      grep -Ev '^Compilation successful\. 0 Errors, 0 Warnings,')
	if [ -n "$bad" ]; then
		cat "$1"
		fail "$2: $(echo "$bad" | head -n 3)"
	fi
}

bytes() { od -An -v -tu1 "$1" | tr -s ' ' '\n' | grep -v '^$'; }

# same OURS THEIRS: equal but for the checksum (offset 9) and the creator
# id and revision (28..35), which iasl sets to its own
same() {
	local diffs
	[ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] ||
		fail "$(basename "$1"): $(stat -c %s "$1") bytes, iasl's recompilation $(stat -c %s "$2")"
	diffs=$(cmp -l "$1" "$2" | awk '$1 != 10 && ($1 < 29 || $1 > 36) { print $1 - 1 }' | head -n 5)
	[ -z "$diffs" ] || fail "$(basename "$1") differs from iasl's recompilation at offsets $diffs"
}

checksum_ok() { bytes "$1" | awk '{ s += $1 } END { exit s % 256 }'; }

tables=(XSDT FACP FACS APIC MCFG DSDT)
for t in "${tables[@]}"; do
	cp "$D/$t.dat" "$D/dis/"
	(cd "$D/dis" && iasl -d "$t.dat") >"$T/dis-$t.log" 2>&1 ||
		{ cat "$T/dis-$t.log"; fail "iasl -d $t.dat failed"; }
	clean "$T/dis-$t.log" "iasl -d $t.dat"
	[ -s "$D/dis/$t.dsl" ] || fail "iasl -d wrote no $t.dsl"
	cp "$D/dis/$t.dsl" "$D/rc/"
	# -on: keep name paths as written (it would shorten \_SB to _SB)
	(cd "$D/rc" && iasl -on "$t.dsl") >"$T/rc-$t.log" 2>&1 ||
		{ cat "$T/rc-$t.log"; fail "iasl could not recompile the disassembled $t"; }
	clean "$T/rc-$t.log" "iasl $t.dsl"
	same "$D/$t.dat" "$D/rc/$t.aml"
	[ "$t" = FACS ] || checksum_ok "$D/$t.dat" || fail "$t: bad checksum"
	echo "ok: $t disassembles cleanly and recompiles to the same bytes"
done
grep -q 'Method (_OSC, 4, Serialized)' "$D/dis/DSDT.dsl" || fail "no _OSC in the DSDT"
grep -q 'Name (_PRT, Package (0x80)' "$D/dis/DSDT.dsl" || fail "no 128-entry _PRT in the DSDT"

# RSDP: compile it from its fields with iasl, which computes both checksums
field() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
le() { echo "$1" | sed 's/../& /g' | awk '{ for (i = NF; i > 0; i--) printf "%s", toupper($i) }'; }
r=$D/RSDP.dat
cat >"$D/rc/rsdp.asl" <<EOF
[0008]                          Signature : "RSD PTR "
[0001]                           Checksum : 00
[0006]                             Oem ID : "$(dd if="$r" bs=1 skip=9 count=6 2>/dev/null)"
[0001]                           Revision : $(le "$(field "$r" 15 1)")
[0004]                       RSDT Address : $(le "$(field "$r" 16 4)")
[0004]                             Length : $(le "$(field "$r" 20 4)")
[0008]                       XSDT Address : $(le "$(field "$r" 24 8)")
[0001]                  Extended Checksum : 00
[0003]                           Reserved : 000000
EOF
(cd "$D/rc" && iasl rsdp.asl) >"$T/rc-RSDP.log" 2>&1 ||
	{ cat "$T/rc-RSDP.log"; fail "iasl could not compile the RSDP's fields"; }
clean "$T/rc-RSDP.log" "iasl rsdp.asl"
cmp "$r" "$D/rc/rsdp.aml" || { cat "$D/rc/rsdp.asl"; fail "RSDP differs from iasl's (checksums?)"; }
echo "ok: RSDP equals iasl's compilation of its fields, checksums included"

# acpiexec: our FADT and DSDT in ACPICA; evaluate every predefined name.
# acpiexec's own interface tests expect its built-in FADT's PM2 block and
# GPE numbers, which we do not have: their "Unexpected" lines are not ours.
acpiexec -b 'test predefined' "$D/FACP.dat" "$D/DSDT.dat" >"$T/exec.log" 2>&1 ||
	{ cat "$T/exec.log"; fail "acpiexec failed on FACP.dat DSDT.dat"; }
grep -Ev '^Unexpected AE_BAD_(ADDRESS|PARAMETER) from Acpi(WriteBitRegister|ReadBitRegister|InstallGpeHandler|EnableGpe|DisableGpe) \(aetests-[0-9]+\)$' \
	"$T/exec.log" >"$T/exec-ours.log"
clean "$T/exec-ours.log" "acpiexec test predefined"
grep -q 'FACP .*(v06 DPVM   DPVMACPI' "$T/exec.log" || { cat "$T/exec.log"; fail "acpiexec did not use our FADT"; }
grep -q 'GPE 00 to 0F .* on interrupt 0x9 (SCI)' "$T/exec.log" ||
	{ cat "$T/exec.log"; fail "ACPICA did not set up GPE0 (16 GPEs) on SCI 9 from our FADT"; }
n=$(grep -c 'returned AE_OK' "$T/exec.log")
grep -E '^\\' "$T/exec.log" | grep -v 'returned AE_OK' && fail "a predefined name did not evaluate"
grep -q "Evaluated $n predefined names" "$T/exec.log" || { cat "$T/exec.log"; fail "acpiexec: not every predefined name returned AE_OK"; }
[ "$n" -ge 20 ] || fail "acpiexec evaluated only $n predefined names"
echo "ok: ACPICA loads our FADT and DSDT and evaluates all $n predefined names cleanly"

# _OSC as Linux calls it (query, then request), and its error answers
cat >"$D/rc/osc.asl" <<'EOF'
DefinitionBlock ("", "SSDT", 2, "DPVM  ", "OSCTEST", 1)
{
    External (\_SB.PCI0._OSC, MethodObj)

    Method (OSCT, 0, NotSerialized)
    {
        Local1 = Zero
        /* query: support 0x1F, control: hotplug, SHPC, PME, AER, PCIe cap, LTR, DPC */
        Local0 = \_SB.PCI0._OSC (ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"), One, 3,
            Buffer () {0x01, 0, 0, 0, 0x1F, 0, 0, 0, 0xBF, 0, 0, 0})
        If (Local0 != Buffer () {0x01, 0, 0, 0, 0x1F, 0, 0, 0, 0xBF, 0, 0, 0}) { Local1 |= 1 }
        Local0 = \_SB.PCI0._OSC (ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"), One, 3,
            Buffer () {0x00, 0, 0, 0, 0x1F, 0, 0, 0, 0xBF, 0, 0, 0})
        If (Local0 != Buffer () {0x00, 0, 0, 0, 0x1F, 0, 0, 0, 0xBF, 0, 0, 0}) { Local1 |= 2 }
        /* another UUID: "unrecognized UUID" */
        Local0 = \_SB.PCI0._OSC (ToUUID ("0811b06e-4a27-44f9-8d60-3cbbc22e7b48"), One, 2,
            Buffer () {0x00, 0, 0, 0, 0xFF, 0, 0, 0})
        If (Local0 != Buffer () {0x04, 0, 0, 0, 0xFF, 0, 0, 0}) { Local1 |= 4 }
        /* revision 2: "unrecognized revision" */
        Local0 = \_SB.PCI0._OSC (ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"), 2, 3,
            Buffer () {0x00, 0, 0, 0, 0x1F, 0, 0, 0, 0x1D, 0, 0, 0})
        If (Local0 != Buffer () {0x08, 0, 0, 0, 0x1F, 0, 0, 0, 0x1D, 0, 0, 0}) { Local1 |= 8 }
        Return (Local1)
    }
}
EOF
(cd "$D/rc" && iasl osc.asl) >"$T/osc.log" 2>&1 || { cat "$T/osc.log"; fail "iasl osc.asl"; }
acpiexec -b 'evaluate \OSCT' "$D/FACP.dat" "$D/DSDT.dat" "$D/rc/osc.aml" >"$T/osc-exec.log" 2>&1 ||
	{ cat "$T/osc-exec.log"; fail "acpiexec failed running the _OSC checks"; }
grep -Ev '\(aetests-[0-9]+\)$' "$T/osc-exec.log" >"$T/osc-ours.log"
clean "$T/osc-ours.log" "acpiexec _OSC"
grep -q '\[Integer\] = 0000000000000000' "$T/osc-exec.log" ||
	{ cat "$T/osc-exec.log"; fail "_OSC answered wrongly (bit 1: query, 2: request, 4: UUID, 8: revision)"; }
echo "ok: _OSC grants what Linux asks and rejects an unknown UUID and revision"
echo "PASS: ACPI tables are clean under iasl and acpiexec"
