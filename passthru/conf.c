// SPDX-License-Identifier: GPL-2.0
/* The host's passthrough configuration file (format in conf.h). */
#include "passthru/conf.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_MAX_SIZE	(1 << 20)

const char *passthru_conf__path(void)
{
	const char *env = getenv("DPVM_PASSTHRU_CONF");

	return env && *env ? env : PASSTHRU_CONF_DEFAULT;
}

struct passthru_conf_dev *passthru_conf__find(const struct passthru_conf *c, const char *bdf)
{
	for (unsigned int i = 0; i < c->nr; i++)
		if (!strcmp(c->devs[i].bdf, bdf))
			return &c->devs[i];
	return NULL;
}

static struct passthru_conf_dev *get_dev(struct passthru_conf *c, const char *bdf)
{
	struct passthru_conf_dev *d = passthru_conf__find(c, bdf);

	if (d)
		return d;
	c->devs = xrealloc(c->devs, (c->nr + 1) * sizeof(*c->devs));
	d = &c->devs[c->nr++];
	memset(d, 0, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	return d;
}

void passthru_conf__set(struct passthru_conf *c, const char *bdf, u16 vendor, u16 device,
			const char *driver)
{
	struct passthru_conf_dev *d = get_dev(c, bdf);

	d->vendor = vendor;
	d->device = device;
	snprintf(d->driver, sizeof(d->driver), "%s", driver ? driver : "");
	d->has_owner = d->has_id = d->has_driver = true;
}

int passthru_conf__remove(struct passthru_conf *c, const char *bdf)
{
	struct passthru_conf_dev *d = passthru_conf__find(c, bdf);

	if (!d)
		return -ENOENT;
	memmove(d, d + 1, (c->nr - (d - c->devs) - 1) * sizeof(*d));
	c->nr--;
	return 0;
}

void passthru_conf__free(struct passthru_conf *c)
{
	free(c->devs);
	c->devs = NULL;
	c->nr = 0;
}

/* ---- reading ---- */

static int bad(const char *path, unsigned int line, const char *fmt, ...) __printf(3, 4);
static int bad(const char *path, unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s:%u: %s", path, line, msg);
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int parse_id(const char *v, u16 *vendor, u16 *device)
{
	unsigned int a, b;
	int n = 0;

	if (strlen(v) != 9 || sscanf(v, "%4x:%4x%n", &a, &b, &n) != 2 || n != 9)
		return -1;
	for (int i = 0; i < 9; i++)
		if (i != 4 && !isxdigit((unsigned char)v[i]))
			return -1;
	*vendor = a;
	*device = b;
	return 0;
}

/* the line numbers of the /passthru/ settings, to refuse a second one */
struct seen {
	unsigned int per_host, per_vm;
};

static int parse_limit(const char *path, unsigned int ln, const char *key, const char *val,
		       unsigned int max, unsigned int *out, unsigned int *line)
{
	u64 v;

	if (*line)
		return bad(path, ln, "%s is set twice (first on line %u); keep one", key, *line);
	if (parse_u64(val, 1, max, &v))
		return bad(path, ln, "%s: \"%s\" is not a number of devices from 1 to %u", key, val,
			   max);
	*out = v;
	*line = ln;
	return 0;
}

/* one "KEY = "VALUE"" line, already trimmed and not a comment */
static int parse_line(struct passthru_conf *c, const char *path, unsigned int ln, char *s,
		      struct seen *seen)
{
	char *eq = strchr(s, '='), *key, *val, bdf[PCI_BDF_LEN];
	const char *field;
	size_t vlen;

	if (!eq)
		return bad(path, ln, "'%s' is not a setting; write KEY = \"VALUE\", e.g. "
			   "/device/0000:03:00.0/owner = \"passthru\"", s);
	*eq = 0;
	key = trim(s);
	val = trim(eq + 1);
	vlen = strlen(val);
	if (vlen < 2 || val[0] != '"' || val[vlen - 1] != '"' || memchr(val + 1, '"', vlen - 2))
		return bad(path, ln, "%s: the value %s must be in double quotes, e.g. %s = \"...\"",
			   key, val, key);
	val[vlen - 1] = 0;
	val++;
	for (const char *p = val; *p; p++)
		if (!isprint((unsigned char)*p))
			return bad(path, ln, "%s: the value has a control character", key);

	if (!strcmp(key, "/passthru/max-per-host"))
		return parse_limit(path, ln, key, val, PASSTHRU_MAX_HOST_LIMIT, &c->max_per_host,
				   &seen->per_host);
	if (!strcmp(key, "/passthru/max-per-vm"))
		return parse_limit(path, ln, key, val, PASSTHRU_MAX_VM_LIMIT, &c->max_per_vm,
				   &seen->per_vm);
	if (strncmp(key, "/device/", 8))
		return bad(path, ln, "unknown key %s; the keys are /passthru/max-per-host, "
			   "/passthru/max-per-vm and /device/BDF/{owner,id,host-driver}", key);

	{
		char addr[32];
		const char *slash = strchr(key + 8, '/');
		size_t alen = slash ? (size_t)(slash - (key + 8)) : 0;
		struct passthru_conf_dev *d;

		if (!slash || alen >= sizeof(addr))
			return bad(path, ln, "%s: expected /device/BDF/FIELD, e.g. "
				   "/device/0000:03:00.0/owner", key);
		memcpy(addr, key + 8, alen);
		addr[alen] = 0;
		if (pci_bdf__parse(addr, bdf) || strcmp(bdf, addr))
			return bad(path, ln, "%s: '%s' is not a full PCI address; write it as "
				   "0000:03:00.0 (domain, bus, device, function, lower case)", key, addr);
		field = slash + 1;
		d = get_dev(c, bdf);
		if (!d->line)
			d->line = ln;
		if (!strcmp(field, "owner")) {
			if (d->has_owner)
				return bad(path, ln, "%s is set twice; keep one", key);
			if (strcmp(val, "passthru"))
				return bad(path, ln, "%s: owner \"%s\" is not known; the only owner is "
					   "\"passthru\" (remove the device's lines to leave it to the host)",
					   key, val);
			d->has_owner = true;
		} else if (!strcmp(field, "id")) {
			if (d->has_id)
				return bad(path, ln, "%s is set twice; keep one", key);
			if (parse_id(val, &d->vendor, &d->device))
				return bad(path, ln, "%s: \"%s\" is not VENDOR:DEVICE; write 4+4 hex "
					   "digits, e.g. \"8086:10d3\"", key, val);
			d->has_id = true;
		} else if (!strcmp(field, "host-driver")) {
			if (d->has_driver)
				return bad(path, ln, "%s is set twice; keep one", key);
			if (strlen(val) >= sizeof(d->driver) || strchr(val, '/') ||
			    strchr(val, ' ') || val[0] == '.')
				return bad(path, ln, "%s: \"%s\" is not a driver name", key, val);
			snprintf(d->driver, sizeof(d->driver), "%s", val);
			d->has_driver = true;
		} else {
			return bad(path, ln, "unknown field '%s' in %s; the fields are owner, id and "
				   "host-driver", field, key);
		}
	}
	return 0;
}

static void defaults(struct passthru_conf *c)
{
	c->max_per_host = PASSTHRU_MAX_HOST_DEFAULT;
	c->max_per_vm = PASSTHRU_MAX_VM_DEFAULT;
}

int passthru_conf__load(struct passthru_conf *c, const char *path)
{
	struct seen seen = { 0 };
	char *buf, *line, *next;
	unsigned int ln = 0;
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	c->path = path;
	defaults(c);
	ret = read_file(path, CONF_MAX_SIZE, (void **)&buf, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pr_err("%s: cannot read the passthrough configuration: %s%s", path,
		       ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret),
		       ret == -EACCES ? "; run as root" : "");
		return ret;
	}
	if (memchr(buf, 0, len)) {
		free(buf);
		pr_err("%s: not a text file (it has a NUL byte); remove it or point --conf elsewhere",
		       path);
		return -EINVAL;
	}
	for (line = buf; line; line = next) {
		char *s;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		ln++;
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		ret = parse_line(c, path, ln, s, &seen);
		if (ret)
			goto err;
	}
	for (unsigned int i = 0; i < c->nr; i++) {
		struct passthru_conf_dev *d = &c->devs[i];

		if (!d->has_owner || !d->has_id) {
			ret = bad(path, d->line, "device %s has no %s line; add /device/%s/%s = %s",
				  d->bdf, d->has_owner ? "id" : "owner", d->bdf,
				  d->has_owner ? "id" : "owner",
				  d->has_owner ? "\"VENDOR:DEVICE\"" : "\"passthru\"");
			goto err;
		}
	}
	free(buf);
	return 0;

err:
	free(buf);
	passthru_conf__free(c);
	defaults(c);
	return ret;
}

int passthru_conf__load_limits(struct passthru_conf *c)
{
	int ret = passthru_conf__load(c, passthru_conf__path());

	passthru_conf__free(c);
	return ret;
}

/* ---- writing ---- */

static int mkdir_p(const char *dir)
{
	char *dup = xstrdup(dir);
	int ret = 0;

	for (char *p = dup + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = 0;
		if (mkdir(dup, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(dup);
	return ret;
}

int passthru_conf__save(const struct passthru_conf *c)
{
	char *dup = xstrdup(c->path), *dir = dirname(dup), tmp[PATH_MAX];
	FILE *f = NULL;
	int fd = -1, ret;

	ret = mkdir_p(dir);
	if (ret) {
		pr_err("%s: cannot create the directory %s: %s", c->path, dir, strerror(-ret));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", c->path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s: cannot write the passthrough configuration: %s%s", c->path,
		       strerror(errno), errno == EACCES ? "; run as root" : "");
		goto out;
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		pr_err("%s: %s", tmp, strerror(-ret));
		goto out;
	}
	fprintf(f, "# dpvm: PCI functions given to VMs (DirectPath I/O).\n"
		   "# Written by `dpvm host passthru enable/disable`, applied at boot by\n"
		   "# `dpvm host passthru apply`; see docs/passthrough.md.\n"
		   "/passthru/max-per-host = \"%u\"\n"
		   "/passthru/max-per-vm = \"%u\"\n", c->max_per_host, c->max_per_vm);
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct passthru_conf_dev *d = &c->devs[i];

		fprintf(f, "/device/%s/owner = \"passthru\"\n"
			   "/device/%s/id = \"%04x:%04x\"\n"
			   "/device/%s/host-driver = \"%s\"\n",
			d->bdf, d->bdf, d->vendor, d->device, d->bdf, d->driver);
	}
	if (fflush(f) || fsync(fileno(f)) < 0) {
		ret = -errno;
		fclose(f);
		unlink(tmp);
		pr_err("%s: cannot write the passthrough configuration: %s", c->path, strerror(-ret));
		goto out;
	}
	fclose(f);
	if (rename(tmp, c->path) < 0) {
		ret = -errno;
		unlink(tmp);
		pr_err("%s: cannot replace the passthrough configuration: %s", c->path,
		       strerror(-ret));
		goto out;
	}
	ret = 0;
out:
	free(dup);
	return ret;
}
