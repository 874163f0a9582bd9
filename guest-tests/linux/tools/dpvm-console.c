// SPDX-License-Identifier: GPL-2.0
/*
 * dpvm-console: the guest's side of the console tests (tests/rig/console.sh).
 * Built static by scripts/guest-image into the default guest's /usr/bin.
 * busybox has no evtest; this reads the kernel's input events itself.
 *
 *   dpvm-console keys N [SECONDS]
 *       open every keyboard (/dev/input/event* with EV_KEY and KEY_A),
 *       print "device PATH NAME" for each, then "KEYS-READY", then every
 *       key event as "key CODE VALUE" (Linux KEY_* code; 1 press, 0
 *       release, 2 autorepeat) until N presses and releases have come;
 *       exit 1 after SECONDS (default 300) without them
 *   dpvm-console pointer N [SECONDS]
 *       the same for every mouse (EV_REL with REL_X): "pointer-device PATH
 *       NAME", "POINTER-READY", then "rel CODE VALUE" and "btn CODE VALUE"
 *       until N button presses and releases have come
 *   dpvm-console leds
 *       the first keyboard's LEDs: "leds caps=C num=N scroll=S"
 *   dpvm-console font TEXT
 *       the glyphs tty1's font has for the characters of TEXT:
 *       "font W H", then "glyph HEX ROWS" (one hex byte a row, W <= 8)
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/kd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS	16
#define BITS(n)		(((n) + 8 * sizeof(long) - 1) / (8 * sizeof(long)))
#define TEST(b, a)	(((a)[(b) / (8 * sizeof(long))] >> ((b) % (8 * sizeof(long)))) & 1)

/* the keyboards (or mice): fds and paths; returns how many */
static int open_devices(bool mice, int *fds, char paths[][64], char names[][128])
{
	struct dirent **list;
	int n, found = 0;

	n = scandir("/dev/input", &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		unsigned long ev[BITS(EV_MAX + 1)] = { 0 }, keys[BITS(KEY_MAX + 1)] = { 0 };
		unsigned long rel[BITS(REL_MAX + 1)] = { 0 };
		char path[300];
		int fd;

		if (strncmp(list[i]->d_name, "event", 5) || found >= MAX_DEVS) {
			free(list[i]);
			continue;
		}
		snprintf(path, sizeof(path), "/dev/input/%s", list[i]->d_name);
		free(list[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGBIT(0, sizeof(ev)), ev) < 0 || !TEST(EV_KEY, ev) ||
		    ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0 ||
		    ioctl(fd, EVIOCGBIT(EV_REL, sizeof(rel)), rel) < 0 ||
		    (mice ? !TEST(EV_REL, ev) || !TEST(REL_X, rel) : !TEST(KEY_A, keys))) {
			close(fd);
			continue;
		}
		if (ioctl(fd, EVIOCGNAME(128), names[found]) < 0)
			strcpy(names[found], "?");
		snprintf(paths[found], 64, "%.63s", path);
		fds[found++] = fd;
	}
	free(list);
	return found;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* key events of the keyboards, or pointer events of the mice */
static int events(bool mice, int want, int seconds)
{
	int fds[MAX_DEVS], n, got = 0;
	char paths[MAX_DEVS][64], names[MAX_DEVS][128];
	struct pollfd p[MAX_DEVS];
	double end = now() + seconds;
	const char *what = mice ? "pointer" : "keys";

	n = open_devices(mice, fds, paths, names);
	if (!n) {
		printf("%s: no %s in /dev/input\n", what, mice ? "mouse" : "keyboard");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		printf("%s %s %s\n", mice ? "pointer-device" : "device", paths[i], names[i]);
		p[i].fd = fds[i];
		p[i].events = POLLIN;
	}
	printf("%s-READY\n", mice ? "POINTER" : "KEYS");
	while (got < want) {
		int left = (int)((end - now()) * 1000);

		if (left <= 0 || poll(p, n, left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			printf("%s: %d of %d events within %d s\n", what, got, want, seconds);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct input_event ev[64];
			ssize_t r;

			if (!(p[i].revents & POLLIN))
				continue;
			r = read(fds[i], ev, sizeof(ev));
			for (ssize_t k = 0; k < r / (ssize_t)sizeof(ev[0]); k++) {
				if (mice && ev[k].type == EV_REL) {
					printf("rel %u %d\n", ev[k].code, ev[k].value);
					continue;
				}
				if (ev[k].type != EV_KEY)
					continue;
				printf("%s %u %d\n", mice ? "btn" : "key", ev[k].code, ev[k].value);
				got += ev[k].value != 2;
			}
		}
	}
	printf("%s-DONE %d\n", mice ? "POINTER" : "KEYS", got);
	return 0;
}

static int leds(void)
{
	int fds[MAX_DEVS], n;
	char paths[MAX_DEVS][64], names[MAX_DEVS][128];
	unsigned long l[BITS(LED_MAX + 1)] = { 0 };

	n = open_devices(false, fds, paths, names);
	if (!n || ioctl(fds[0], EVIOCGLED(sizeof(l)), l) < 0) {
		printf("leds: no keyboard\n");
		return 1;
	}
	printf("leds caps=%d num=%d scroll=%d\n", (int)TEST(LED_CAPSL, l), (int)TEST(LED_NUML, l),
	       (int)TEST(LED_SCROLLL, l));
	return 0;
}

static int font(const char *text)
{
	static unsigned char data[512 * 32 * 4];
	struct console_font_op op = {
		.op = KD_FONT_OP_GET, .width = 32, .height = 32, .charcount = 512, .data = data,
	};
	char seen[256] = { 0 };
	int fd = open("/dev/tty1", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, KDFONTOP, &op) < 0) {
		printf("font: KDFONTOP on /dev/tty1: %s\n", strerror(errno));
		return 1;
	}
	if (op.width > 8) {
		printf("font: %ux%u glyphs are wider than 8\n", op.width, op.height);
		return 1;
	}
	printf("font %u %u\n", op.width, op.height);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (seen[*c] || *c >= op.charcount)
			continue;
		seen[*c] = 1;
		printf("glyph %02x ", *c);
		for (unsigned int row = 0; row < op.height; row++)
			printf("%02x", data[*c * 32 + row]);
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "keys"))
		return events(false, atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 300);
	if (argc >= 3 && !strcmp(argv[1], "pointer"))
		return events(true, atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 300);
	if (argc == 2 && !strcmp(argv[1], "leds"))
		return leds();
	if (argc == 3 && !strcmp(argv[1], "font"))
		return font(argv[2]);
	fprintf(stderr, "usage: dpvm-console keys N [SECONDS] | pointer N [SECONDS] | leds | font TEXT\n");
	return 2;
}
