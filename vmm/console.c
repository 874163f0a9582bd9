// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"
#include "devices/uart.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define RING_SIZE	(64 * 1024)
#define ESCAPE_CHAR	0x01 /* Ctrl-A */

struct console {
	struct vm *vm;
	struct uart *uart;
	enum console_kind kind;
	int in_fd, out_fd;
	int listen_fd;		/* unix: listening socket */
	char *path;		/* unix: socket path to unlink */
	bool tty;		/* stdin is a terminal in raw mode */
	bool escape;		/* Ctrl-A seen */
	bool rx_blocked;	/* input polling stopped: the UART FIFO is full */
	bool reader;		/* someone reads the output (else keep scrollback) */
	bool out_polled;	/* EPOLLOUT armed */
	pthread_mutex_t lock;
	u8 ring[RING_SIZE];
	unsigned int head, count;
};

static struct console *con;
static struct termios saved_tio;
static bool tio_saved;

void console__restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static int raw_tty(int fd, bool keep_opost)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	if (fd == STDIN_FILENO && !tio_saved) {
		saved_tio = t;
		tio_saved = true;
		atexit(console__restore_tty);
	}
	cfmakeraw(&t);
	if (keep_opost)
		t.c_oflag |= OPOST; /* our own log lines still end with \n */
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

int console__check(const struct vm_config *cfg)
{
	char *dup, *dir;
	struct stat st;
	int ret = 0;

	switch (cfg->console) {
	case CONSOLE_UNIX:
	case CONSOLE_FILE:
		if (strlen(cfg->console_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) &&
		    cfg->console == CONSOLE_UNIX) {
			pr_err("--console unix:%s: the path is too long for a socket; use a shorter one",
			       cfg->console_path);
			return -1;
		}
		dup = xstrdup(cfg->console_path);
		dir = dirname(dup);
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			pr_err("--console %s:%s: directory %s does not exist; create it or pick another path",
			       config__console_name(cfg->console), cfg->console_path, dir);
			ret = -1;
		} else if (access(dir, W_OK) < 0) {
			pr_err("--console %s:%s: cannot write in %s: %s",
			       config__console_name(cfg->console), cfg->console_path, dir,
			       strerror(errno));
			ret = -1;
		} else if (!stat(cfg->console_path, &st) &&
			   (cfg->console == CONSOLE_UNIX ? !S_ISSOCK(st.st_mode) :
			    !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))) {
			pr_err("--console %s:%s: the path exists and is not a %s; remove it or pick another",
			       config__console_name(cfg->console), cfg->console_path,
			       cfg->console == CONSOLE_UNIX ? "socket" : "file");
			ret = -1;
		} else if (cfg->console == CONSOLE_FILE && !stat(cfg->console_path, &st) &&
			   access(cfg->console_path, W_OK) < 0) {
			pr_err("--console file:%s: %s", cfg->console_path, strerror(errno));
			ret = -1;
		}
		free(dup);
		return ret;
	default:
		return 0;
	}
}

/* ---- output ---- */

static void ring_push(struct console *c, const u8 *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (c->count == RING_SIZE) {	/* keep the newest bytes */
			c->head = (c->head + 1) % RING_SIZE;
			c->count--;
		}
		c->ring[(c->head + c->count) % RING_SIZE] = p[i];
		c->count++;
	}
}

/* write as much of the ring as the fd takes; called with the lock held */
static void ring_flush(struct console *c)
{
	while (c->count && c->reader) {
		unsigned int chunk = MIN(c->count, RING_SIZE - c->head);
		ssize_t n = write(c->out_fd, c->ring + c->head, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				c->reader = false; /* the reader went away */
			break;
		}
		c->head = (c->head + n) % RING_SIZE;
		c->count -= n;
	}
	if (!c->count)
		c->head = 0;
}

static void update_out_poll(struct console *c)
{
	bool want = c->count && c->reader;

	/* only pty and socket outputs are non-blocking; they share the input fd */
	if (want != c->out_polled) {
		u32 ev = (c->rx_blocked || c->in_fd < 0 ? 0 : EPOLLIN) | (want ? EPOLLOUT : 0);

		if (c->in_fd == c->out_fd && c->in_fd >= 0)
			evloop__modify(c->vm->loop, c->in_fd, ev);
		c->out_polled = want;
	}
}

static bool console_tx(void *opaque, u8 ch)
{
	struct console *c = opaque;
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	if (c->out_fd < 0) {
		/* --console none, or a socket without a client: scrollback */
		ring_push(c, &ch, 1);
	} else if (!c->reader) {
		ring_push(c, &ch, 1);
	} else if (c->count) {
		if (c->count == RING_SIZE)
			ok = false;
		else
			ring_push(c, &ch, 1);
		ring_flush(c);
		update_out_poll(c);
	} else {
		ssize_t n;

		do {
			n = write(c->out_fd, &ch, 1);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN) {
			ring_push(c, &ch, 1);
			update_out_poll(c);
		} else if (n < 0) {
			c->reader = false;
			ring_push(c, &ch, 1);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static bool console_tx_room(void *opaque)
{
	struct console *c = opaque;

	return !c->reader || c->count < RING_SIZE;
}

/* ---- input ---- */

static void help(void)
{
	static const char msg[] =
		"\r\nC-a h    print this help\r\n"
		"C-a x    exit dpvm (the guest is stopped at once)\r\n"
		"C-a C-a  send C-a to the guest\r\n";

	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		return;
}

/* Handle Ctrl-A escapes in place; returns the bytes left for the guest. */
static unsigned int escapes(struct console *c, u8 *buf, unsigned int n)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < n; i++) {
		u8 ch = buf[i];

		if (c->escape) {
			c->escape = false;
			switch (ch) {
			case 'x':
			case 'X':
				pr_info("C-a x: stopping the guest");
				vm__request_stop(c->vm, EXIT_POWEROFF, "console quit");
				continue;
			case 'h':
			case 'H':
			case '?':
				help();
				continue;
			case ESCAPE_CHAR:
				break;
			default:
				continue;
			}
		} else if (ch == ESCAPE_CHAR) {
			c->escape = true;
			continue;
		}
		buf[out++] = ch;
	}
	return out;
}

static void set_rx_polling(struct console *c, bool on)
{
	u32 ev = (on ? EPOLLIN : 0) | (c->out_polled ? EPOLLOUT : 0);

	evloop__modify(c->vm->loop, c->in_fd, ev);
}

static void client_gone(struct console *c);

static void console_input(int fd, u32 events, void *opaque)
{
	struct console *c = opaque;
	u8 buf[UART_FIFO_SIZE];
	unsigned int room;
	ssize_t n;

	if (events & EPOLLOUT) {
		pthread_mutex_lock(&c->lock);
		ring_flush(c);
		update_out_poll(c);
		pthread_mutex_unlock(&c->lock);
		uart__tx_ready(c->uart);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;

	room = uart__rx_room(c->uart);
	if (!room) {
		/* the guest has not read what it has; wait for it (rx_wanted) */
		pthread_mutex_lock(&c->lock);
		c->rx_blocked = true;
		set_rx_polling(c, false);
		pthread_mutex_unlock(&c->lock);
		if (uart__rx_room(c->uart))
			c->uart->rx_wanted(c);
		return;
	}
	n = read(fd, buf, MIN(room, sizeof(buf)));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->kind == CONSOLE_UNIX || (c->kind == CONSOLE_PTY && n < 0 && errno == EIO)) {
			client_gone(c);
			return;
		}
		/* end of input (stdin from a file or /dev/null): stop reading */
		evloop__del(c->vm->loop, fd);
		c->in_fd = -1;
		return;
	}
	if (c->tty)
		n = escapes(c, buf, n);
	if (n)
		uart__rx_push(c->uart, buf, n);
}

static void console_rx_wanted(void *opaque)
{
	struct console *c = opaque;
	bool was;

	pthread_mutex_lock(&c->lock);
	was = c->rx_blocked;
	c->rx_blocked = false;
	if (was && c->in_fd >= 0)
		set_rx_polling(c, true);
	pthread_mutex_unlock(&c->lock);
}

/* ---- unix socket ---- */

static void client_gone(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	evloop__del(c->vm->loop, c->in_fd);
	close(c->in_fd);
	c->in_fd = c->out_fd = -1;
	c->reader = false;
	c->out_polled = false;
	c->rx_blocked = false;
	pthread_mutex_unlock(&c->lock);
	pr_debug("console client disconnected");
}

static void console_accept(int fd, u32 events __unused, void *opaque)
{
	struct console *c = opaque;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->in_fd >= 0) {
		static const char busy[] = "dpvm: the console already has a client\n";

		pthread_mutex_unlock(&c->lock);
		if (write(cfd, busy, sizeof(busy) - 1) < 0)
			pr_debug("console: %s", strerror(errno));
		close(cfd);
		return;
	}
	c->in_fd = c->out_fd = cfd;
	c->reader = true;
	c->out_polled = false;
	evloop__add(c->vm->loop, cfd, EPOLLIN, console_input, c);
	/* replay what the guest printed while no one was connected */
	ring_flush(c);
	update_out_poll(c);
	pthread_mutex_unlock(&c->lock);
	uart__tx_ready(c->uart);
}

static int open_unix(struct console *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a stale socket from a dead dpvm is replaced; a live one is not */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		pr_err("--console unix:%s: another program is listening there; pick another path", path);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int err = -errno;

		pr_err("--console unix:%s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	c->listen_fd = fd;
	c->path = xstrdup(path);
	return evloop__add(c->vm->loop, fd, EPOLLIN, console_accept, c);
}

static int open_pty(struct console *c)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	const char *name;

	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
		int err = -errno;

		pr_err("--console pty: cannot allocate a pseudo-terminal: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	raw_tty(fd, false);
	c->in_fd = c->out_fd = fd;
	c->reader = true;
	pr_info("console on %s", name);
	return evloop__add(c->vm->loop, fd, EPOLLIN, console_input, c);
}

int console__attach(struct vm *vm, struct uart *u)
{
	struct vm_config *cfg = vm->cfg;
	struct console *c = xzalloc(sizeof(*c));
	int ret = 0;

	pthread_mutex_init(&c->lock, NULL);
	c->vm = vm;
	c->uart = u;
	c->kind = cfg->console;
	c->in_fd = c->out_fd = c->listen_fd = -1;
	u->tx = console_tx;
	u->tx_room = console_tx_room;
	u->rx_wanted = console_rx_wanted;
	u->opaque = c;

	switch (cfg->console) {
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->reader = true;
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO)) {
			c->tty = raw_tty(STDIN_FILENO, true) == 0;
			if (c->tty)
				pr_info("serial console on this terminal; C-a x exits, C-a h helps");
		}
		if (evloop__add(vm->loop, STDIN_FILENO, EPOLLIN, console_input, c) < 0)
			c->in_fd = -1; /* stdin is a regular file or closed: no input */
		break;
	case CONSOLE_PTY:
		ret = open_pty(c);
		break;
	case CONSOLE_UNIX:
		ret = open_unix(c, cfg->console_path);
		break;
	case CONSOLE_FILE:
		c->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			ret = -errno;
			pr_err("--console file:%s: %s", cfg->console_path, strerror(errno));
		}
		c->reader = true;
		break;
	case CONSOLE_NONE:
		break;
	}
	if (ret) {
		free(c);
		return ret;
	}
	con = c;
	return 0;
}

void console__detach(struct vm *vm)
{
	struct console *c = con;

	if (!c)
		return;
	if (c->in_fd >= 0)
		evloop__del(vm->loop, c->in_fd);
	if (c->listen_fd >= 0) {
		evloop__del(vm->loop, c->listen_fd);
		close(c->listen_fd);
	}
	if (c->path) {
		unlink(c->path);
		free(c->path);
	}
	if (c->kind != CONSOLE_STDIO) {
		if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->out_fd >= 0 && c->out_fd != c->in_fd)
			close(c->out_fd);
	}
	console__restore_tty();
	con = NULL;
	free(c);
}
