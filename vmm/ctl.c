// SPDX-License-Identifier: GPL-2.0
/* `dpvm ctl NAME|PATH COMMAND [ARG...]`: the management API's client. */
#include "vmm/api.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage[] =
"usage: dpvm ctl [--json] [--timeout SECONDS] NAME|PATH COMMAND [ARG...]\n"
"\n"
"Send COMMAND to a running VM, found by its --name or its API socket PATH.\n"
"ARGs are KEY=VALUE (VALUE is JSON if it parses as JSON, else a string) or\n"
"plain words, passed as the list \"args\".\n"
"\n"
"Commands (`dpvm ctl NAME help` lists what this VM offers):\n"
"  status      the VM's state, resources and devices\n"
"  powerdown   press the ACPI power button\n"
"  reset       reset the guest\n"
"  quit        stop the guest and end dpvm\n"
"\n"
"Examples:\n"
"  dpvm ctl web status\n"
"  dpvm ctl /run/dpvm/web.sock powerdown\n"
"  dpvm ctl --json web status | jq .devices\n";

static int connect_to(const char *target, char *path, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strchr(target, '/')) {
		if (strlen(target) >= len) {
			pr_err("%s: the socket path is too long", target);
			return -1;
		}
		strcpy(path, target);
	} else if (api__default_path(target, path, len)) {
		pr_err("%s: the name is too long", target);
		return -1;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("%s: the socket path is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			pr_err("%s: no VM is running there (%s); check the name with the VM's --name",
			       target, path);
		else
			pr_err("%s: cannot connect to %s: %s", target, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* KEY=VALUE's value: JSON if all of it is one JSON value (3, true, [1,2],
 * {"a":1}, "s"), else the string as written: 46f4:0002 or 0x10 are strings,
 * not a number and what follows it */
static json_object *arg_value(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	size_t len = strlen(s);
	json_object *v = NULL;

	if (tok) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		/* the NUL ends a number at the end of the input */
		v = json_tokener_parse_ex(tok, s, len + 1);
		if (v && (json_tokener_get_error(tok) != json_tokener_success ||
			  json_tokener_get_parse_end(tok) != len ||
			  json_object_is_type(v, json_type_null))) {
			json_object_put(v);
			v = NULL;
		}
		json_tokener_free(tok);
	}
	return v ? v : json_object_new_string(s);
}

static json_object *build_request(const char *cmd, int argc, char **argv)
{
	json_object *req = json_object_new_object(), *args = json_object_new_object();
	json_object *words = NULL;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq && eq != argv[i]) {
			char *key = strndup(argv[i], eq - argv[i]);

			json_object_object_add(args, key, arg_value(eq + 1));
			free(key);
		} else {
			if (!words)
				words = json_object_new_array();
			json_object_array_add(words, json_object_new_string(argv[i]));
		}
	}
	if (words)
		json_object_object_add(args, "args", words);
	if (json_object_object_length(args))
		json_object_object_add(req, "arguments", args);
	else
		json_object_put(args);
	return req;
}

static int read_reply(int fd, int timeout_ms, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = xzalloc(cap);

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (len + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -ECONNRESET;
		}
		len += n;
		buf[len] = 0;
		if (memchr(buf, '\n', len)) {
			*out = buf;
			return 0;
		}
	}
}

static void print_human(const char *cmd, json_object *ret)
{
	json_object *cmds;

	if (!strcmp(cmd, "help") && json_object_object_get_ex(ret, "commands", &cmds)) {
		for (size_t i = 0; i < json_object_array_length(cmds); i++) {
			json_object *c = json_object_array_get_idx(cmds, i), *n, *h, *a;
			char name[64];

			json_object_object_get_ex(c, "name", &n);
			json_object_object_get_ex(c, "help", &h);
			snprintf(name, sizeof(name), "%s%s%s", json_object_get_string(n),
				 json_object_object_get_ex(c, "args", &a) ? " " : "",
				 json_object_object_get_ex(c, "args", &a) ? json_object_get_string(a) : "");
			printf("  %-28s %s\n", name, json_object_get_string(h));
		}
		return;
	}
	if (json_object_object_length(ret))
		printf("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
}

int ctl__main(int argc, char **argv)
{
	char path[256], *line = NULL;
	bool json = false;
	int timeout = 10, i = 1, fd, ret;
	json_object *req, *reply, *v;
	const char *s;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			u64 t;

			if (parse_u64(argv[++i], 1, 3600, &t)) {
				pr_err("--timeout %s: not a number of seconds (1 to 3600)", argv[i]);
				return EXIT_USAGE;
			}
			timeout = t;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		} else {
			pr_err("unknown option '%s'; see 'dpvm ctl --help'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (argc - i < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	fd = connect_to(argv[i], path, sizeof(path));
	if (fd < 0)
		return EXIT_ERROR;
	req = build_request(argv[i + 1], argc - i - 2, argv + i + 2);
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	/* a server that refuses us (too many clients) says why and hangs up:
	 * a failed write is not the end, its reply may be waiting */
	signal(SIGPIPE, SIG_IGN);
	ret = write_all(fd, s, strlen(s));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	json_object_put(req);
	if (!ret || ret == -EPIPE || ret == -ECONNRESET) {
		int wret = ret;

		ret = read_reply(fd, timeout * 1000, &line);
		if (ret && wret)
			ret = wret;
	}
	close(fd);
	if (ret) {
		pr_err("%s: %s", argv[i], ret == -ETIMEDOUT ? "no reply (timed out)" : strerror(-ret));
		return EXIT_ERROR;
	}
	reply = json_tokener_parse(line);
	if (!reply) {
		pr_err("%s: the reply is not JSON: %s", argv[i], line);
		free(line);
		return EXIT_ERROR;
	}
	if (json_object_object_get_ex(reply, "error", &v)) {
		json_object *d;

		if (json)
			printf("%s", line);
		json_object_object_get_ex(v, "desc", &d);
		pr_err("%s: %s", argv[i], d ? json_object_get_string(d) : "error");
		ret = EXIT_ERROR;
	} else if (json) {
		printf("%s", line);
	} else if (json_object_object_get_ex(reply, "return", &v)) {
		print_human(argv[i + 1], v);
	}
	json_object_put(reply);
	free(line);
	return ret;
}
