// SPDX-License-Identifier: GPL-2.0
/*
 * The ways a guest stops, by action= on the command line:
 *   s5      ACPI S5 through PM1a_CNT (SLP_TYP 5 | SLP_EN): dpvm status 0
 *   reset   the ACPI reset register (0x0e to 0x60c): status 4 with
 *           --on-reboot exit
 *   panic   pvpanic (1 to port 0x505): status 6
 *   triple  a triple fault (#UD with an empty IDT): status 8
 *   reboot  with --on-reboot restart: reset resets=N times (default 1),
 *           counting boots in RAM outside the image (at 0x500000, which
 *           dpvm keeps across a reset while it reloads the image); the
 *           last boot exits with EXIT_REBOOTED (status 35).  Each boot also
 *           checks that the image, the IOAPIC and the LAPIC were reset, and
 *           with cpus=N starts the APs again.
 */
#include "guest.h"

#define PM1A_CNT	0x604
#define SLP_TYP_S5	(5 << 10)
#define SLP_EN		(1 << 13)
#define ACPI_RESET	0x60c
#define ACPI_RESET_VAL	0x0e
#define PVPANIC		0x505

#define EXIT_REBOOTED	(EXIT_PROGRAM + 1)
#define BOOT_COUNTER	0x500000
#define BOOT_MAGIC	0x7e57b007

struct boot_counter {
	u32 magic;
	u32 boots;
};

static u32 data_word = 0x1234;	/* .data: reloaded with the image */

static void still_running(const char *what) __noreturn;
static void still_running(const char *what)
{
	udelay(100000);
	fail("the VM is still running 100 ms after %s", what);
}

static void ap(u32 apic_id)
{
	printf("AP with LAPIC id %u checked in\n", apic_id);
}

static void reboot(void)
{
	volatile struct boot_counter *c = (void *)BOOT_COUNTER;
	u32 resets = cmdline_uint("resets", 1), cpus = cmdline_uint("cpus", 1);
	u32 boot_no;

	if (boot.ram_top < BOOT_COUNTER + 0x1000)
		fail("the boot counter at %#x is not in RAM (RAM top %#llx)", BOOT_COUNTER,
		     boot.ram_top);
	if (c->magic != BOOT_MAGIC) {
		c->magic = BOOT_MAGIC;
		c->boots = 0;
	}
	boot_no = ++c->boots;
	printf("power: boot %u of %u\n", boot_no, resets + 1);

	check(data_word == 0x1234, "boot %u: .data holds its initial value (%#x)", boot_no, data_word);
	if (boot_no > 1) {
		u32 svr = lapic_read(LAPIC_SVR), red = ioapic_read(IOAPIC_REDTBL(4));

		check(!(svr & LAPIC_SVR_ENABLE), "boot %u: the LAPIC is disabled again (SVR %#x)",
		      boot_no, svr);
		check(red & IOAPIC_MASKED, "boot %u: IOAPIC pin 4 is masked again (%#x)", boot_no, red);
	}
	if (cpus > 1) {
		u32 n = smp_start(cpus, ap, 2000);

		check(n == cpus - 1, "boot %u: %u of %u AP(s) started", boot_no, n, cpus - 1);
	}
	if (checks_failed())
		exit_test(EXIT_FAIL);
	if (boot_no > resets) {
		c->magic = 0;
		printf("power: %u reset(s) done; exiting with code %u\n", resets, EXIT_REBOOTED);
		exit_test(EXIT_REBOOTED);
	}

	/* leave state behind that the reset must clear */
	data_word = 0x5678;
	lapic_enable();
	ioapic_route(4, 0x40, lapic_id(), 0);
	printf("power: resetting through the ACPI reset register\n");
	outb(ACPI_RESET, ACPI_RESET_VAL);
	still_running("the reset");
}

int main(void)
{
	char action[16] = "";

	if (!cmdline_str("action", action, sizeof(action))) {
		printf("FAIL: give action=s5|reset|panic|triple|reboot\n");
		return EXIT_USAGE;
	}
	if (!strcmp(action, "s5")) {
		printf("power: S5 through PM1a_CNT (port %#x)\n", PM1A_CNT);
		outw(PM1A_CNT, SLP_TYP_S5 | SLP_EN);
		still_running("S5");
	} else if (!strcmp(action, "reset")) {
		printf("power: reset through the ACPI reset register (port %#x)\n", ACPI_RESET);
		outb(ACPI_RESET, ACPI_RESET_VAL);
		still_running("the reset");
	} else if (!strcmp(action, "panic")) {
		u8 events = inb(PVPANIC);

		printf("power: pvpanic reports events %#x; writing 1 (panicked)\n", events);
		if (!(events & 1))
			fail("pvpanic does not offer the 'panicked' event");
		outb(PVPANIC, 1);
		still_running("the pvpanic write");
	} else if (!strcmp(action, "triple")) {
		static const struct {
			u16 limit;
			u32 base;
		} __packed empty = { 0, 0 };

		printf("power: triple fault (ud2 with an empty IDT)\n");
		asm volatile("lidt %0; ud2" : : "m"(empty));
		still_running("the triple fault");
	} else if (!strcmp(action, "reboot")) {
		reboot();
	}
	printf("FAIL: action=%s: give s5, reset, panic, triple or reboot\n", action);
	return EXIT_USAGE;
}
