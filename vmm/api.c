// SPDX-License-Identifier: GPL-2.0
#include "vmm/api.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS	16
#define MAX_LINE	(64 * 1024)
#define MAX_OUT		(1024 * 1024)

static struct api_command *commands;

void api__register(struct api_command *c)
{
	struct api_command **pp = &commands;

	/* keep them sorted by name for `help` */
	while (*pp && strcmp((*pp)->name, c->name) < 0)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
}

const struct api_command *api__find(const char *name)
{
	for (struct api_command *c = commands; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

const struct api_command *api__commands(void)
{
	return commands;
}

int api__error(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

int api__default_path(const char *name, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && *xdg)
		n = snprintf(buf, len, "%s/dpvm/%s.sock", xdg, name);
	else
		n = snprintf(buf, len, "/run/dpvm/%s.sock", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool socket_is_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return live;
}

/*
 * The socket's directory must exist, or be creatable in its parent (as
 * api__init does for $XDG_RUNTIME_DIR/dpvm): found here, before any KVM
 * state exists, rather than at power-on.
 */
static int check_socket_dir(const struct vm_config *cfg, bool by_default)
{
	char *dup = xstrdup(cfg->api_path), *dir = dirname(dup), *pdup = NULL;
	const char *hint = by_default ? "; set XDG_RUNTIME_DIR, or give --api unix:PATH or --api none" :
					"; create it or pick another path";
	struct stat st;
	int ret = -1;

	if (!stat(dir, &st)) {
		if (!S_ISDIR(st.st_mode))
			pr_err("--api unix:%s: %s is not a directory%s", cfg->api_path, dir, hint);
		else if (access(dir, W_OK | X_OK) < 0)
			pr_err("--api unix:%s: cannot make a socket in %s: %s%s", cfg->api_path, dir,
			       strerror(errno), hint);
		else
			ret = 0;
	} else {
		char *parent;

		pdup = xstrdup(dir);
		parent = dirname(pdup);
		if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
			pr_err("--api unix:%s: directory %s does not exist%s", cfg->api_path,
			       parent, hint);
		else if (access(parent, W_OK | X_OK) < 0)
			pr_err("--api unix:%s: cannot create directory %s: %s%s", cfg->api_path,
			       dir, strerror(errno), hint);
		else
			ret = 0;
	}
	free(pdup);
	free(dup);
	return ret;
}

int api__check(struct vm_config *cfg)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool by_default = !cfg->api_path;
	struct stat st;

	if (cfg->no_api)
		return 0;
	if (!cfg->api_path) {
		if (api__default_path(cfg->name, path, sizeof(path))) {
			pr_err("--name %s: the API socket path is too long; use a shorter name or --api unix:PATH",
			       cfg->name);
			return -1;
		}
		cfg->api_path = xstrdup(path);
	}
	if (strlen(cfg->api_path) >= sizeof(path)) {
		pr_err("--api unix:%s: the path is too long for a socket (at most %zu bytes)",
		       cfg->api_path, sizeof(path) - 1);
		return -1;
	}
	if (check_socket_dir(cfg, by_default))
		return -1;
	if (!stat(cfg->api_path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--api unix:%s: the path exists and is not a socket; remove it or pick another",
			       cfg->api_path);
			return -1;
		}
		if (socket_is_live(cfg->api_path)) {
			pr_err("--api unix:%s: a VM is already running there; pick another --name or --api",
			       cfg->api_path);
			return -1;
		}
	}
	return 0;
}

/* ---- request handling ---- */

static char *reply_error(const char *cls, const char *desc)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	char *s;

	json_object_object_add(e, "class", json_object_new_string(cls));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(o, "error", e);
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

char *api__handle_line(struct vm *vm, const char *line, size_t len)
{
	const struct api_command *c;
	json_object *req, *cmd, *args = NULL, *ret = NULL, *o;
	json_tokener *tok = json_tokener_new();
	char *err = NULL, *s;

	req = json_tokener_parse_ex(tok, line, len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success) {
		json_tokener_free(tok);
		json_object_put(req);
		return reply_error("InvalidRequest", "the request is not valid JSON");
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "execute", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		return reply_error("InvalidRequest",
				   "a request is an object with \"execute\": \"COMMAND\"");
	}
	json_object_object_foreach(req, key, val) {
		(void)val;
		if (strcmp(key, "execute") && strcmp(key, "arguments")) {
			char msg[128];

			snprintf(msg, sizeof(msg), "unknown key \"%.64s\" in the request", key);
			json_object_put(req);
			return reply_error("InvalidRequest", msg);
		}
	}
	if (json_object_object_get_ex(req, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		json_object_put(req);
		return reply_error("InvalidRequest", "\"arguments\" must be an object");
	}
	c = api__find(json_object_get_string(cmd));
	if (!c) {
		char msg[160];

		snprintf(msg, sizeof(msg), "no command \"%.64s\"; \"help\" lists them",
			 json_object_get_string(cmd));
		json_object_put(req);
		return reply_error("CommandNotFound", msg);
	}
	if (c->handler(vm, args, &ret, &err)) {
		s = reply_error("GenericError", err ? err : "failed");
		free(err);
		json_object_put(ret);
		json_object_put(req);
		return s;
	}
	o = json_object_new_object();
	json_object_object_add(o, "return", ret ? ret : json_object_new_object());
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	json_object_put(req);
	return s;
}

/* ---- the socket ---- */

struct api_client {
	int fd;
	char in[MAX_LINE];
	size_t in_len;
	char *out;
	size_t out_len;
	struct api_server *srv;
};

struct api_server {
	struct vm *vm;
	int fd;
	char *path;
	struct api_client *clients[MAX_CLIENTS];
};

static struct api_server *server;

static void client_close(struct api_client *cl)
{
	struct api_server *srv = cl->srv;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i] == cl)
			srv->clients[i] = NULL;
	evloop__del(srv->vm->loop, cl->fd);
	close(cl->fd);
	free(cl->out);
	free(cl);
}

static bool client_flush(struct api_client *cl)
{
	while (cl->out_len) {
		ssize_t n = write(cl->fd, cl->out, cl->out_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return false;
		memmove(cl->out, cl->out + n, cl->out_len - n);
		cl->out_len -= n;
	}
	evloop__modify(cl->srv->vm->loop, cl->fd, EPOLLIN | (cl->out_len ? EPOLLOUT : 0));
	return true;
}

static bool client_send(struct api_client *cl, const char *s)
{
	size_t n = strlen(s);

	if (cl->out_len + n + 1 > MAX_OUT)
		return false; /* a client that never reads is dropped */
	cl->out = xrealloc(cl->out, cl->out_len + n + 1);
	memcpy(cl->out + cl->out_len, s, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	return client_flush(cl);
}

static void client_event(int fd, u32 events, void *opaque)
{
	struct api_client *cl = opaque;
	ssize_t n;

	if ((events & EPOLLOUT) && !client_flush(cl)) {
		client_close(cl);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = read(fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(cl);
		return;
	}
	cl->in_len += n;
	for (;;) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t len;
		char *reply;
		bool ok;

		if (!nl) {
			if (cl->in_len == sizeof(cl->in)) {
				char *r = reply_error("InvalidRequest", "request longer than 64 KiB");

				client_send(cl, r);
				free(r);
				client_close(cl);
			}
			return;
		}
		len = nl - cl->in;
		if (len && cl->in[len - 1] == '\r')
			len--;
		reply = len ? api__handle_line(cl->srv->vm, cl->in, len) : NULL;
		memmove(cl->in, nl + 1, cl->in_len - (nl + 1 - cl->in));
		cl->in_len -= nl + 1 - cl->in;
		ok = !reply || client_send(cl, reply);
		free(reply);
		if (!ok) {
			client_close(cl);
			return;
		}
	}
}

static void server_accept(int fd, u32 events __unused, void *opaque)
{
	struct api_server *srv = opaque;
	struct api_client *cl;
	int cfd, slot = -1;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (!srv->clients[i]) {
			slot = i;
			break;
		}
	if (slot < 0) {
		char *r = reply_error("Busy", "too many API clients; try again");
		size_t n = strlen(r);

		/* one line, as every reply (ctl reads up to the newline), in
		 * one write: we hang up right after */
		r = xrealloc(r, n + 2);
		memcpy(r + n, "\n", 2);
		if (write(cfd, r, n + 1) < 0)
			pr_debug("api: %s", strerror(errno));
		free(r);
		close(cfd);
		return;
	}
	cl = xzalloc(sizeof(*cl));
	cl->fd = cfd;
	cl->srv = srv;
	srv->clients[slot] = cl;
	evloop__add(srv->vm->loop, cfd, EPOLLIN, client_event, cl);
}

static int mkdir_parent(const char *path)
{
	char *dup = xstrdup(path), *dir = dirname(dup);
	struct stat st;
	int ret = 0;

	if (stat(dir, &st) < 0) {
		/* only the last component: /run/dpvm or $XDG_RUNTIME_DIR/dpvm */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			ret = -errno;
	} else if (!S_ISDIR(st.st_mode)) {
		ret = -ENOTDIR;
	}
	if (ret)
		pr_err("--api unix:%s: cannot create directory %s: %s", path, dir, strerror(-ret));
	free(dup);
	return ret;
}

/*
 * Taking the path (a stale socket replaced, ours bound and listening) is one
 * step among dpvms: they hold a lock on the socket's directory for it.  Two
 * VMs started at once with the same name pass api__check together; without
 * the lock the second would unlink the first's live socket.  Best effort: no
 * lock if the directory cannot be locked.
 */
static int lock_dir(const char *path)
{
	char *dup = xstrdup(path);
	int fd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	free(dup);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int api__init(struct vm *vm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api_server *srv;
	mode_t old;
	int fd, dfd, ret;

	if (vm->cfg->no_api)
		return 0;
	ret = mkdir_parent(vm->cfg->api_path);
	if (ret)
		return ret;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vm->cfg->api_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	dfd = lock_dir(sa.sun_path);
	if (socket_is_live(sa.sun_path)) {
		/* another dpvm took it since api__check */
		pr_err("--api unix:%s: a VM is already running there; pick another --name or --api",
		       sa.sun_path);
		ret = -EADDRINUSE;
		goto err_close;
	}
	unlink(sa.sun_path); /* stale */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		pr_err("--api unix:%s: %s", sa.sun_path, strerror(errno));
		goto err_close;
	}
	if (dfd >= 0)
		close(dfd);
	srv = xzalloc(sizeof(*srv));
	srv->vm = vm;
	srv->fd = fd;
	srv->path = xstrdup(sa.sun_path);
	evloop__add(vm->loop, fd, EPOLLIN, server_accept, srv);
	server = srv;
	pr_debug("API on %s", srv->path);
	return 0;

err_close:
	if (dfd >= 0)
		close(dfd);
	close(fd);
	return ret;
}

static void api__exit(struct vm *vm)
{
	struct api_server *srv = server;

	if (!srv)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i])
			client_close(srv->clients[i]);
	evloop__del(vm->loop, srv->fd);
	close(srv->fd);
	unlink(srv->path);
	free(srv->path);
	free(srv);
	server = NULL;
}
vm_initcall(INIT_LATE, api__init, api__exit, NULL);
