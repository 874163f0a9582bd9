/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PASSTHRU_CONF_H
#define DPVM_PASSTHRU_CONF_H

/*
 * The host's passthrough configuration: which PCI functions are given to VMs
 * (the analog of ESXi's esx.conf records written by UpdatePassthruConfig).
 *
 * Where: $DPVM_PASSTHRU_CONF, else /etc/dpvm/passthru.conf (`dpvm host`
 * takes --conf FILE over both).
 * A missing file is an empty configuration.  `dpvm host passthru enable` and
 * `disable` rewrite it whole (atomically: a temporary file renamed over it),
 * keeping its settings but not hand-written comments; `apply` reads it.
 *
 * Format, in esx.conf's spirit: one setting per line, KEY = "VALUE", the
 * value in double quotes (no escapes, no quote inside); blank lines and lines
 * starting with '#' are ignored.  Keys:
 *
 *   /passthru/max-per-host = "8"
 *       passthrough devices that powered-on VMs may hold at once on this
 *       host, 1-256 (default 8; the claims of claim.h count them)
 *   /passthru/max-per-vm = "6"
 *       passthrough devices one VM may have, 1-32 (default 6, the seeds'
 *       DirectPath limit)
 *   /device/0000:03:00.0/owner = "passthru"
 *       the function is given to VMs; the only owner there is, and required
 *   /device/0000:03:00.0/id = "8086:10d3"
 *       its vendor:device when enabled; `apply` refuses a function whose id
 *       changed (another card in the slot), as the seeds advise
 *   /device/0000:03:00.0/host-driver = "e1000e"
 *       the driver it had before, restored by `disable`; "" if none
 *
 * The function is named by its full address, lower case.  Unknown keys, a
 * key given twice, a device without owner or id, and malformed values are
 * errors naming the file and line.
 */
#include "passthru/sysfs.h"

#define PASSTHRU_CONF_DEFAULT		"/etc/dpvm/passthru.conf"
#define PASSTHRU_MAX_HOST_DEFAULT	8
#define PASSTHRU_MAX_HOST_LIMIT		256
#define PASSTHRU_MAX_VM_DEFAULT		6
#define PASSTHRU_MAX_VM_LIMIT		32

struct passthru_conf_dev {
	char bdf[PCI_BDF_LEN];
	u16 vendor, device;
	char driver[PCI_DRIVER_LEN];	/* the host driver before; "" if none */
	unsigned int line;		/* where it was read, for messages */
	bool has_owner, has_id, has_driver;
};

struct passthru_conf {
	const char *path;
	struct passthru_conf_dev *devs;
	unsigned int nr;
	unsigned int max_per_host;	/* /passthru/max-per-host */
	unsigned int max_per_vm;	/* /passthru/max-per-vm */
};

/* $DPVM_PASSTHRU_CONF, else the default */
const char *passthru_conf__path(void);

/*
 * Read path (a missing file gives an empty configuration with the default
 * limit).  On a malformed file: one error line "PATH:LINE: ..." and -EINVAL;
 * c is then empty.  path must outlive c.
 */
int passthru_conf__load(struct passthru_conf *c, const char *path);
/* Write c->path atomically, creating its directory; -errno and a message. */
int passthru_conf__save(const struct passthru_conf *c);
void passthru_conf__free(struct passthru_conf *c);

/*
 * The limits alone, for a VM at power-on: passthru_conf__path()'s
 * max-per-host and max-per-vm (c holds no device records afterwards, so
 * there is nothing to free).  On a malformed file the error is printed, c
 * has the defaults, and -EINVAL is returned.
 */
int passthru_conf__load_limits(struct passthru_conf *c);

struct passthru_conf_dev *passthru_conf__find(const struct passthru_conf *c, const char *bdf);
/* add or replace the record of bdf */
void passthru_conf__set(struct passthru_conf *c, const char *bdf, u16 vendor, u16 device,
			const char *driver);
/* 0, or -ENOENT if bdf has no record */
int passthru_conf__remove(struct passthru_conf *c, const char *bdf);

#endif
