// SPDX-License-Identifier: GPL-2.0
/*
 * The 8042 keyboard controller from the guest's side.
 *
 *   (default)          the controller as a BIOS and Linux drive it: status
 *                      bits, self-test (0xAA -> 0x55), interface tests, the
 *                      command byte, disabling the keyboard interface,
 *                      keyboard reset (ACK, BAT 0xAA), identify with and
 *                      without translation, echo, scan code sets, LEDs,
 *                      the output buffer writes 0xD2/0xD3, the mouse's
 *                      reset through 0xD4, and IRQ 1 and IRQ 12 through
 *                      the IOAPIC
 *   status=N           N status reads (inb 0x64) in a tight loop, each
 *                      checked; the last line is
 *                      RESULT i8042-status reads=N ns_per_read=T reads_per_sec=R
 *   keys=N             print every byte the keyboard sends, by IRQ 1, as
 *                      "scancode 0x1e", until N bytes came (timeout_ms=T,
 *                      default 60000); prints "KEYS-READY" when it listens
 *   draw=1             with keys=N: first paint four 64x64 squares (red,
 *                      green, blue, white) at the top left of the
 *                      framebuffer at fb=ADDR (width=W height=H, 32 bits a
 *                      pixel), then a yellow 16x16 square per byte received
 *                      along the bottom
 *   mouse=N            enable the PS/2 mouse (reset, stream mode, reporting)
 *                      and print every movement packet, by IRQ 12, as
 *                      "packet BUTTONS DX DY" (signed, y up), until N came
 *                      or the middle button went down and up (timeout_ms=T);
 *                      prints "MOUSE-READY" when it listens
 *   action=reset       pulse the reset line (0xFE): with --on-reboot exit,
 *                      dpvm ends with status 4
 *   action=outport     write the output port with its reset bit clear
 */
#include "guest.h"

#define DATA		0x60
#define STATUS		0x64
#define CMD		0x64

#define STR_OBF		0x01
#define STR_IBF		0x02
#define STR_SYS		0x04
#define STR_CMD		0x08
#define STR_UNLOCKED	0x10
#define STR_AUXDATA	0x20

#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40

#define KBD_PIN		1
#define AUX_PIN		12
#define KBD_VECTOR	0x31
#define AUX_VECTOR	0x3c

static void wait_write(void)
{
	for (u32 i = 0; i < 100000 && (inb(STATUS) & STR_IBF); i++)
		cpu_relax();
}

static void cmd(u8 c)
{
	wait_write();
	outb(CMD, c);
}

static void data(u8 b)
{
	wait_write();
	outb(DATA, b);
}

/* the next byte, or -1 if none comes; *aux: from the mouse side */
static int rd(bool *aux)
{
	for (u32 i = 0; i < 100000; i++) {
		u8 st = inb(STATUS);

		if (st & STR_OBF) {
			if (aux)
				*aux = st & STR_AUXDATA;
			return inb(DATA);
		}
		cpu_relax();
	}
	return -1;
}

static void flush(void)
{
	for (int i = 0; i < 64 && (inb(STATUS) & STR_OBF); i++)
		inb(DATA);
}

/* read n bytes and compare with want[]; names the step */
static void expect(const char *what, const u8 *want, unsigned int n, bool aux_want)
{
	char got[96] = "", exp[64] = "";
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		bool aux = false;
		int b = rd(&aux);

		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%02x ", want[i]);
		if (b < 0) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "-- ");
			ok = false;
			break;
		}
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x%s ", b, aux ? "/aux" : "");
		ok &= b == want[i] && aux == aux_want;
	}
	ok &= !(inb(STATUS) & STR_OBF);
	check(ok, "%s: %s(want %s%s)", what, got, exp, aux_want ? "from aux" : "");
}

#define EXPECT(what, aux, ...) do {				\
		static const u8 w_[] = { __VA_ARGS__ };		\
		expect(what, w_, sizeof(w_), aux);		\
	} while (0)

static u8 read_ctr(void)
{
	cmd(0x20);
	return rd(NULL);
}

static void write_ctr(u8 v)
{
	cmd(0x60);
	data(v);
}

/* ---- interrupts ---- */

static volatile u32 kbd_irqs, aux_irqs;
static volatile u8 ring[4096];
static volatile u32 ring_head;

static void kbd_irq(struct irq_frame *f)
{
	(void)f;
	if (inb(STATUS) & STR_OBF) {
		ring[ring_head % sizeof(ring)] = inb(DATA);
		ring_head++;
	}
	kbd_irqs++;
	lapic_eoi();
}

static volatile u8 aux_ring[4096];
static volatile u32 aux_head;

static void aux_irq(struct irq_frame *f)
{
	(void)f;
	if (inb(STATUS) & STR_OBF) {
		aux_ring[aux_head % sizeof(aux_ring)] = inb(DATA);
		aux_head++;
	}
	aux_irqs++;
	lapic_eoi();
}

static void wait_for(volatile u32 *counter, u32 want, u32 ms)
{
	u64 end = rdtsc() + us_to_tsc(ms * 1000ULL);

	irq_enable();
	while (*counter < want && rdtsc() < end)
		cpu_relax();
	irq_disable();
}

static void setup_irqs(void)
{
	lapic_enable();
	set_handler(KBD_VECTOR, kbd_irq);
	set_handler(AUX_VECTOR, aux_irq);
	ioapic_route(KBD_PIN, KBD_VECTOR, lapic_id(), 0);	/* ISA: edge, active high */
	ioapic_route(AUX_PIN, AUX_VECTOR, lapic_id(), 0);
}

/* ---- the default checks ---- */

static void controller(void)
{
	u8 st, ctr;

	flush();
	st = inb(STATUS);
	check((st & (STR_SYS | STR_UNLOCKED)) == (STR_SYS | STR_UNLOCKED) && !(st & STR_IBF),
	      "status %#x: system flag, not locked, input buffer empty", st);
	cmd(0xaa);
	EXPECT("controller self-test (0xAA)", false, 0x55);
	cmd(0xab);
	EXPECT("keyboard interface test (0xAB)", false, 0x00);
	cmd(0xa9);
	EXPECT("aux interface test (0xA9)", false, 0x00);
	ctr = read_ctr();
	check(ctr & CTR_XLATE, "command byte %#x: translation on, as firmware leaves it", ctr);
	st = inb(STATUS);
	check(st & STR_CMD, "status %#x: bit 3 says the last write went to 0x64", st);

	write_ctr((ctr | CTR_KBDDIS) & ~CTR_KBDINT);
	check(read_ctr() == ((ctr | CTR_KBDDIS) & ~CTR_KBDINT), "the command byte reads back");
	cmd(0xae);
	check(!(read_ctr() & CTR_KBDDIS), "0xAE enables the keyboard interface");
	cmd(0xad);
	check(read_ctr() & CTR_KBDDIS, "0xAD disables it");
	cmd(0xa8);
	check(!(read_ctr() & CTR_AUXDIS), "0xA8 enables the aux interface");
	cmd(0xa7);
	check(read_ctr() & CTR_AUXDIS, "0xA7 disables it");
	cmd(0xa4);
	EXPECT("password test (0xA4): none installed", false, 0xf1);
	cmd(0xd0);
	{
		int op = rd(NULL);

		check(op >= 0 && (op & 3) == 3, "output port %#x: reset line high, A20 on", op);
	}
	cmd(0xd2);
	data(0x5a);
	EXPECT("0xD2 writes the keyboard's output buffer", false, 0x5a);
	cmd(0xd3);
	data(0xa5);
	EXPECT("0xD3 writes the aux output buffer", true, 0xa5);
	write_ctr(ctr);
}

static void keyboard(void)
{
	u8 ctr = read_ctr();

	/* sending to the keyboard enables its interface */
	write_ctr((ctr & ~CTR_KBDINT) | CTR_XLATE);
	data(0xff);
	EXPECT("keyboard reset (0xFF): ACK, BAT passed", false, 0xfa, 0xaa);
	data(0xf2);
	EXPECT("identify (0xF2), translated", false, 0xfa, 0xab, 0x41);
	data(0xee);
	EXPECT("echo (0xEE)", false, 0xee);
	write_ctr(ctr & ~(CTR_KBDINT | CTR_XLATE));
	data(0xf2);
	EXPECT("identify, untranslated", false, 0xfa, 0xab, 0x83);
	data(0xf0);
	data(0x00);
	EXPECT("scan code set (0xF0 0x00)", false, 0xfa, 0xfa, 0x02);
	data(0xf0);
	data(0x01);
	EXPECT("select set 1", false, 0xfa, 0xfa);
	data(0xf0);
	data(0x00);
	EXPECT("scan code set now", false, 0xfa, 0xfa, 0x01);
	data(0xf0);
	data(0x02);
	EXPECT("select set 2", false, 0xfa, 0xfa);
	data(0xed);
	data(0x07);
	EXPECT("LEDs on (0xED 0x07)", false, 0xfa, 0xfa);
	data(0xed);
	data(0x00);
	EXPECT("LEDs off", false, 0xfa, 0xfa);
	data(0xf3);
	data(0x20);
	EXPECT("typematic (0xF3)", false, 0xfa, 0xfa);
	data(0x11);
	EXPECT("not a command: NAK", false, 0xfe);
	data(0xf4);
	EXPECT("enable scanning (0xF4)", false, 0xfa);
	write_ctr(ctr);
}

static void mouse(void)
{
	u8 ctr = read_ctr();

	write_ctr((ctr & ~(CTR_AUXDIS | CTR_AUXINT)));
	cmd(0xd4);
	data(0xff);
	EXPECT("mouse reset through 0xD4: ACK, BAT, id 0", true, 0xfa, 0xaa, 0x00);
	cmd(0xd4);
	data(0xf2);
	EXPECT("mouse identify", true, 0xfa, 0x00);
	cmd(0xd4);
	data(0xe9);
	EXPECT("mouse status: stream, off, 4 counts/mm, 100/s", true, 0xfa, 0x00, 0x02, 0x64);
	write_ctr(ctr);
}

static void interrupts(void)
{
	u8 ctr = read_ctr();

	setup_irqs();
	flush();
	write_ctr((ctr | CTR_KBDINT) & ~CTR_KBDDIS);
	kbd_irqs = 0;
	ring_head = 0;
	cmd(0xd2);
	data(0x42);
	wait_for(&kbd_irqs, 1, 200);
	check(kbd_irqs == 1 && ring_head == 1 && ring[0] == 0x42,
	      "IRQ 1 through IOAPIC pin %d brought 0x42 (%u interrupts, %u bytes)", KBD_PIN,
	      kbd_irqs, ring_head);
	/* three bytes: three interrupts, one per byte (each an edge) */
	data(0xf2);
	wait_for(&kbd_irqs, 4, 200);
	check(kbd_irqs == 4 && ring_head == 4 && ring[1] == 0xfa && ring[2] == 0xab &&
	      ring[3] == 0x41, "identify by interrupts: %u interrupts, %u bytes", kbd_irqs, ring_head);
	/* with the enable bit off, no interrupt */
	write_ctr(ctr & ~CTR_KBDINT);
	kbd_irqs = 0;
	cmd(0xd2);
	data(0x43);
	wait_for(&kbd_irqs, 1, 20);
	check(kbd_irqs == 0, "no IRQ 1 while the command byte disables it (%u)", kbd_irqs);
	flush();
	write_ctr((ctr | CTR_AUXINT) & ~CTR_AUXDIS);
	aux_irqs = 0;
	cmd(0xd3);
	data(0xa5);
	wait_for(&aux_irqs, 1, 200);
	check(aux_irqs == 1, "IRQ 12 through IOAPIC pin %d for aux data (%u)", AUX_PIN, aux_irqs);
	write_ctr(ctr);
	ioapic_mask(KBD_PIN);
	ioapic_mask(AUX_PIN);
}

/* ---- status loop ---- */

static int status_loop(u32 n)
{
	u32 bad = 0;
	u8 want, first;
	u64 t0, cycles;

	flush();
	want = inb(STATUS);
	first = want;
	t0 = rdtsc();
	for (u32 i = 0; i < n; i++)
		bad += inb(STATUS) != want;
	cycles = rdtsc() - t0;
	check(!(first & STR_OBF) && (first & STR_UNLOCKED), "the idle status %#x: empty, unlocked",
	      first);
	check(!bad, "every one of %u status reads answered %#x (%u differed)", n, want, bad);
	printf("RESULT i8042-status reads=%u ns_per_read=%llu reads_per_sec=%llu tsc_khz=%u\n", n,
	       cycles * 1000000ULL / tsc_khz / n, (u64)n * tsc_khz * 1000ULL / (cycles ? cycles : 1),
	       tsc_khz);
	return 0;
}

/* ---- keys ---- */

static u32 fb_addr, fb_w, fb_h;

static void fill(u32 x0, u32 y0, u32 w, u32 h, u32 rgb)
{
	for (u32 y = y0; y < y0 + h && y < fb_h; y++)
		for (u32 x = x0; x < x0 + w && x < fb_w; x++)
			*(volatile u32 *)(fb_addr + (y * fb_w + x) * 4) = rgb;
}

/* four 64x64 squares (red, green, blue, white) from the top left, on the
 * black the framebuffer starts with (small: this host's KVM emulates every
 * guest instruction) */
static void pattern(void)
{
	static const u32 colors[4] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffffff };

	for (u32 i = 0; i < 4; i++)
		fill(i * 64, 0, 64, 64, colors[i]);
}

static int keys(u32 n)
{
	u32 ms = cmdline_uint("timeout_ms", 60000), seen = 0;
	bool draw = cmdline_uint("draw", 0);
	u8 ctr;
	u64 end;

	if (draw) {
		fb_addr = cmdline_uint("fb", 0xfd000000);
		fb_w = cmdline_uint("width", 1024);
		fb_h = cmdline_uint("height", 768);
		pattern();
		printf("DRAWN %ux%u at %#x\n", fb_w, fb_h, fb_addr);
	}
	setup_irqs();
	flush();
	ctr = read_ctr();
	write_ctr((ctr | CTR_KBDINT | CTR_XLATE) & ~CTR_KBDDIS);
	ring_head = 0;
	printf("KEYS-READY\n");
	end = rdtsc() + us_to_tsc(ms * 1000ULL);
	while (seen < n && rdtsc() < end) {
		irq_enable();
		while (ring_head == seen && rdtsc() < end)
			cpu_relax();
		irq_disable();
		while (seen < ring_head && seen < n) {
			u8 b = ring[seen % sizeof(ring)];

			printf("scancode 0x%02x\n", b);
			if (draw)	/* a square per byte along the bottom */
				fill(16 * (seen % (fb_w / 16)), fb_h - 16 - 16 * ((seen / (fb_w / 16)) % 8),
				     16, 16, 0xffff00);
			seen++;
		}
	}
	if (seen < n) {
		printf("FAIL: %u of %u bytes within %u ms\n", seen, n, ms);
		return EXIT_FAIL;
	}
	printf("KEYS-DONE %u\n", seen);
	return 0;
}

static int mouse_packets(u32 n)
{
	u32 ms = cmdline_uint("timeout_ms", 60000), seen = 0, used = 0;
	bool middle = false, done = false;
	u8 ctr;
	u64 end;

	flush();
	ctr = read_ctr();
	/* reset and enable the mouse by polling, then take packets by IRQ 12 */
	write_ctr((ctr & ~(CTR_AUXDIS | CTR_AUXINT)) | CTR_KBDDIS);
	cmd(0xd4);
	data(0xff);
	EXPECT("mouse reset", true, 0xfa, 0xaa, 0x00);
	cmd(0xd4);
	data(0xf4);
	EXPECT("mouse reporting on (0xF4)", true, 0xfa);
	setup_irqs();
	aux_head = 0;
	write_ctr((ctr | CTR_AUXINT | CTR_KBDDIS) & ~CTR_AUXDIS);
	printf("MOUSE-READY\n");
	end = rdtsc() + us_to_tsc(ms * 1000ULL);
	while (seen < n && !done && rdtsc() < end) {
		irq_enable();
		while (aux_head < used + 3 && rdtsc() < end)
			cpu_relax();
		irq_disable();
		while (aux_head >= used + 3 && seen < n && !done) {
			u8 b0 = aux_ring[used % sizeof(aux_ring)];
			int dx = aux_ring[(used + 1) % sizeof(aux_ring)];
			int dy = aux_ring[(used + 2) % sizeof(aux_ring)];

			if (b0 & 0x10)
				dx -= 256;
			if (b0 & 0x20)
				dy -= 256;
			check(b0 & 0x08, "packet byte 0 %#x has bit 3 set", b0);
			printf("packet %u %d %d\n", b0 & 7, dx, dy);
			used += 3;
			seen++;
			/* a middle click ends it */
			done = middle && !(b0 & 4);
			middle |= b0 & 4;
		}
	}
	if (seen < n && !done) {
		printf("FAIL: %u of %u packets within %u ms\n", seen, n, ms);
		return EXIT_FAIL;
	}
	printf("MOUSE-DONE %u\n", seen);
	return 0;
}

int main(void)
{
	char action[16] = "";
	u32 n;

	cmdline_str("action", action, sizeof(action));
	if (!strcmp(action, "reset")) {
		printf("pulsing the reset line (0xFE)\n");
		cmd(0xfe);
		udelay(100000);
		printf("FAIL: still running after 0xFE\n");
		return EXIT_FAIL;
	}
	if (!strcmp(action, "outport")) {
		printf("writing the output port with the reset bit clear\n");
		cmd(0xd1);
		data(0x02);
		udelay(100000);
		printf("FAIL: still running after the output port write\n");
		return EXIT_FAIL;
	}
	if (*action) {
		printf("FAIL: action=%s: use reset or outport\n", action);
		return EXIT_USAGE;
	}
	n = cmdline_uint("status", 0);
	if (n)
		return status_loop(n);
	n = cmdline_uint("keys", 0);
	if (n)
		return keys(n);
	n = cmdline_uint("mouse", 0);
	if (n)
		return mouse_packets(n);
	controller();
	keyboard();
	mouse();
	interrupts();
	return 0;
}
