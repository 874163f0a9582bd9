// SPDX-License-Identifier: GPL-2.0
/*
 * DirectPath I/O, device type "pci-passthrough":
 *
 *   --passthru BDF[,rombar=on|off][,allow-no-reset]
 *   {"type": "pci-passthrough", "backing": {"id": "0000:03:00.0"},
 *    "rombar": true, "allow-no-reset": false}
 *
 * Power-on, top to bottom (passthru__create):
 *   1. claim the function host-wide (a lock file: two VMs never share it)
 *   2. attach its IOMMU group to the VM's VFIO container
 *   3. map all guest RAM for DMA (it is already populated and locked)
 *   4. open the device
 *   5. virtualise its config space
 *   6. set up its BARs
 *   7. put it on the guest's PCI bus
 *   8. connect its interrupts
 * Power-off, bottom to top (passthru__remove):
 *   8. disconnect interrupts   7. take it off the bus   6/5. unmap the BARs
 *   reset the function (it clears pending DMA)   4. close the device
 *   3. unmap guest RAM from the IOMMU (with the last group)
 *   2. detach the group   1. release the claim
 */
#include "passthru/claim.h"
#include "passthru/conf.h"
#include "passthru/eligibility.h"
#include "passthru/passthru.h"
#include "vmm/api.h"
#include "vmm/config.h"
#include "vmm/lifecycle.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern const struct pci_dev_ops passthru_pci_ops;

struct passthru_params {
	char bdf[PCI_BDF_LEN];
	bool rombar;
	bool allow_no_reset;
	int group;
	char reset_methods[128];
};

static struct passthru_dev *devices;	/* this VM's, in power-on order */

/* ---- configuration ---- */

static int pt_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "backing", "rombar", "allow-no-reset", NULL };
	static const char *const bkeys[] = { "type", "id", NULL };
	struct passthru_params *p = xzalloc(sizeof(*p));
	struct host_pci h = { 0 };
	struct host_pci_dev *hd;
	json_object *backing;
	const char *id, *btype;
	char where[256], why[512];
	int ret = -1;

	dc->priv = p;
	p->rombar = true;
	if (config__check_keys(dc->obj, dc->where, keys) ||
	    config__get_bool(dc->obj, "rombar", dc->where, &p->rombar) ||
	    config__get_bool(dc->obj, "allow-no-reset", dc->where, &p->allow_no_reset))
		return -1;
	if (!json_object_object_get_ex(dc->obj, "backing", &backing)) {
		pr_err("%s.backing: missing; give {\"id\": \"0000:03:00.0\"}", dc->where);
		return -1;
	}
	snprintf(where, sizeof(where), "%s.backing", dc->where);
	if (config__check_keys(backing, where, bkeys) ||
	    config__get_string(backing, "type", where, false, &btype) ||
	    config__get_string(backing, "id", where, true, &id))
		return -1;
	if (btype && strcmp(btype, "pci")) {
		pr_err("%s.type: '%s' is not a passthrough backing; use \"pci\"", where, btype);
		return -1;
	}
	if (pci_bdf__parse(id, p->bdf)) {
		pr_err("%s: '%s' is not a PCI address; use DOMAIN:BUS:SLOT.FUNCTION, e.g. 0000:03:00.0",
		       dc->where, id);
		return -1;
	}
	if (host_pci__scan(&h))
		return -1;
	hd = host_pci__find(&h, p->bdf);
	if (!hd) {
		pr_err("%s: there is no PCI device %s on this host; see 'dpvm host pci list'",
		       dc->where, p->bdf);
		goto out;
	}
	if (strcmp(hd->driver, "vfio-pci")) {
		pr_err("%s: %s is bound to %s, not vfio-pci; run 'dpvm host passthru enable %s'",
		       dc->where, p->bdf, hd->driver[0] ? hd->driver : "no driver", p->bdf);
		goto out;
	}
	if (eligibility__check(&h, hd, p->allow_no_reset, why, sizeof(why))) {
		pr_err("%s: %s", dc->where, why);
		goto out;
	}
	p->group = hd->group;
	snprintf(p->reset_methods, sizeof(p->reset_methods), "%s",
		 hd->reset_methods[0] ? hd->reset_methods : hd->has_reset ? "reset" : "");
	ret = 0;
out:
	host_pci__free(&h);
	return ret;
}

/* checks that need the whole configuration */
static int pt_finalize(struct vm_config *cfg, struct device_config *dc)
{
	struct passthru_params *p = dc->priv;
	struct passthru_conf conf;
	unsigned int n = 0, max;
	struct rlimit rl;
	char a[32], b[32];

	if (cfg->mem_reserve != MEM_RESERVE_FULL) {
		pr_err("%s: passthrough of %s needs all guest memory reserved: the device DMAs into "
		       "guest RAM, which must be pinned; add --mem-reserve full", dc->where, p->bdf);
		return -1;
	}
	passthru_conf__load_limits(&conf);
	max = conf.max_per_vm;
	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		struct passthru_params *o = cfg->devices[i].priv;

		if (strcmp(cfg->devices[i].type, "pci-passthrough"))
			continue;
		n++;
		if (&cfg->devices[i] < dc && !strcmp(o->bdf, p->bdf)) {
			pr_err("%s: %s is already assigned by %s; give each device once",
			       dc->where, p->bdf, cfg->devices[i].where);
			return -1;
		}
	}
	if (n > max && dc == &cfg->devices[cfg->nr_devices - 1]) {
		pr_err("%s: %u passthrough devices, but a VM may have at most %u "
		       "(max-per-vm in %s); remove some", dc->where, n, max, passthru_conf__path());
		return -1;
	}
	/* mlock() and VFIO's pinning both count against RLIMIT_MEMLOCK */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < cfg->mem_size && !mem__has_cap_ipc_lock()) {
		pr_err("%s: RLIMIT_MEMLOCK is %s, passthrough with %s of RAM needs %s (locked and "
		       "pinned); raise it with 'ulimit -l' or run with CAP_IPC_LOCK", dc->where,
		       fmt_size(rl.rlim_cur, a, sizeof(a)), fmt_size(cfg->mem_size, b, sizeof(b)),
		       fmt_size(2 * cfg->mem_size, a, sizeof(a)));
		return -1;
	}
	return 0;
}

/* --passthru BDF[,rombar=on|off][,allow-no-reset][,id=ID] */
static json_object *pt_from_flag(const char *value, const char *where)
{
	static const struct flag_opt opts[] = {
		{ "rombar", "rombar", FLAG_ONOFF },
		{ "allow-no-reset", "allow-no-reset", FLAG_TRUE },
		{ "id", "id", FLAG_STRING },
		{ NULL },
	};

	return config__flag_entry("pci-passthrough", value, where, "backing.id", opts, NULL,
				  "BDF[,rombar=on|off][,allow-no-reset], e.g. 0000:03:00.0");
}

/* ---- power-on and power-off ---- */

static void passthru__remove(struct vm_device *vd);

static json_object *pt_status(struct vm_device *vd)
{
	struct passthru_dev *p = container_of(vd, struct passthru_dev, vd);
	json_object *o = json_object_new_object();
	char buf[32];

	json_object_object_add(o, "type", json_object_new_string("pci-passthrough"));
	json_object_object_add(o, "host", json_object_new_string(p->bdf));
	snprintf(buf, sizeof(buf), "00:%02x.%x", p->pci.devfn >> 3, p->pci.devfn & 7);
	json_object_object_add(o, "pci", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%04x:%04x", p->vendor, p->device);
	json_object_object_add(o, "id", json_object_new_string(buf));
	json_object_object_add(o, "iommu-group", json_object_new_int(p->group));
	json_object_object_add(o, "interrupts", json_object_new_string(
		p->irq_mode == IRQ_MSIX ? "msi-x" : p->irq_mode == IRQ_MSI ? "msi" :
		p->irq_mode == IRQ_INTX ? "intx" : "none"));
	json_object_object_add(o, "reset", json_object_new_string(
		p->reset_method[0] ? p->reset_method : "none"));
	json_object_object_add(o, "migratable", json_object_new_boolean(false));
	return o;
}

/* Guest functions keep the host's function numbers: the functions of one
 * host slot share one guest slot. */
static u8 guest_devfn(struct vm *vm, struct passthru_dev *p)
{
	unsigned int slot, fn = p->bdf[11] - '0';

	for (struct passthru_dev *o = devices; o; o = o->next)
		if (o != p && !strncmp(o->bdf, p->bdf, 10))
			return PCI_DEVFN(o->pci.devfn >> 3, fn);
	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		bool used = false;

		for (unsigned int f = 0; f < 8; f++)
			used |= vm->pci && pci__slot_used(vm, PCI_DEVFN(slot, f));
		if (!used)
			return PCI_DEVFN(slot, fn);
	}
	return 0;
}

static int passthru__create(struct vm *vm, struct device_config *dc)
{
	struct passthru_params *params = dc->priv;
	struct passthru_dev *p = xzalloc(sizeof(*p));
	char holder[128];
	int group_fd, ret;

	p->vm = vm;
	p->fd = -1;
	p->intx_efd = p->intx_resample_efd = -1;
	p->claim_fd = -1;
	p->group = params->group;
	p->rombar = params->rombar;
	p->allow_no_reset = params->allow_no_reset;
	p->where = dc->where;
	snprintf(p->bdf, sizeof(p->bdf), "%s", params->bdf);
	snprintf(p->reset_method, sizeof(p->reset_method), "%s", params->reset_methods);

	/* 1. the host-wide claim, and the host-wide limit */
	ret = claim__acquire(p->bdf, vm->name, &p->claim_fd, holder, sizeof(holder));
	if (ret) {
		if (ret == -EBUSY)
			pr_err("%s: %s is in use by VM '%s'; stop it or pick another device",
			       dc->where, p->bdf, holder);
		else
			pr_err("%s: cannot claim %s: %s", dc->where, p->bdf, strerror(-ret));
		goto err_free;
	}
	ret = claim__check_host_limit(p->bdf);
	if (ret)
		goto err_release;

	/* 2. the IOMMU group, in the VM's container */
	ret = vfio__group_attach(vm, p->group, &p->container, &group_fd);
	if (ret)
		goto err_release;

	/* 3. guest RAM, pinned and mapped at IOVA = guest physical */
	if (!vm->mem.locked) {
		pr_err("%s: guest RAM is not reserved; refusing to pin it silently", p->bdf);
		ret = -EPERM;
		goto err_group;
	}
	ret = vfio__map_guest_ram(vm, p->container);
	if (ret)
		goto err_group;

	/* 4. the device */
	ret = vfio_pci__open(p);
	if (ret)
		goto err_group;
	/* start from a clean device: nothing a previous user left may run */
	if (vfio_pci__reset(p, "power-on") && !p->allow_no_reset) {
		ret = -EIO;
		goto err_close;
	}

	/* 5. config space, 6. BARs */
	p->pci.name = p->bdf;
	p->pci.priv = p;
	p->pci.ops = &passthru_pci_ops;
	ret = vfio_pci__setup_config(p);
	if (ret)
		goto err_close;
	ret = vfio_pci__setup_bars(p);
	if (ret)
		goto err_close;

	/* 7. on the guest's bus, at the host's function number */
	p->next = NULL;
	{
		struct passthru_dev **pp = &devices;

		while (*pp)
			pp = &(*pp)->next;
		*pp = p;
	}
	p->pci.devfn = guest_devfn(vm, p);
	ret = pci__register(vm, &p->pci);
	if (ret)
		goto err_unlist;
	/* the command register as placed by dpvm (decode on), on the device too */
	{
		u16 cmd = pci__cfg16(&p->pci, PCI_COMMAND);

		pci__cfg_write(&p->pci, PCI_COMMAND, 2, cmd);
	}

	/* 8. interrupts: INTx until the guest enables MSI or MSI-X */
	ret = vfio_pci__setup_irqs(p);
	if (ret)
		goto err_unregister;

	p->vd.name = p->bdf;
	p->vd.status = pt_status;
	p->vd.remove = passthru__remove;
	vm__add_device(vm, &p->vd);
	dc->vd = &p->vd;
	pr_info("%s (%04x:%04x, IOMMU group %d) assigned as guest 00:%02x.%x", p->bdf, p->vendor,
		p->device, p->group, p->pci.devfn >> 3, p->pci.devfn & 7);
	return 0;

err_unregister:
	pci__unregister(&p->pci);
err_unlist:
	for (struct passthru_dev **pp = &devices; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
err_close:
	vfio_pci__reset(p, "failed power-on");
	vfio_pci__close(p);
err_group:
	vfio__group_detach(vm, p->container, p->group);
err_release:
	claim__release(p->bdf, p->claim_fd);
err_free:
	free(p);
	return ret;
}

static void passthru__remove(struct vm_device *vd)
{
	struct passthru_dev *p = container_of(vd, struct passthru_dev, vd);
	struct vm *vm = p->vm;

	vm__remove_device(vm, vd);
	/* 8. no more interrupts into the guest */
	vfio_pci__irqs_off(p);
	/* 7. off the bus: BARs unmapped from the guest */
	pci__unregister(&p->pci);
	for (struct passthru_dev **pp = &devices; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	/* reset before detach: the reset stops the device's DMA */
	vfio_pci__reset(p, "power-off");
	/* 4. the device */
	vfio_pci__close(p);
	/* 3 and 2: guest RAM leaves the IOMMU with the last group, then the group */
	vfio__group_detach(vm, p->container, p->group);
	/* 1. the claim */
	claim__release(p->bdf, p->claim_fd);
	pr_info("%s released to the host", p->bdf);
	free(p);
}

/* ---- the lifecycle refusal ---- */

unsigned int passthru__count(struct vm *vm __unused)
{
	unsigned int n = 0;

	for (struct passthru_dev *p = devices; p; p = p->next)
		n++;
	return n;
}

int passthru__refuse(struct vm *vm __unused, const char *op, char **err)
{
	if (!devices)
		return 0;
	return api__error(err, "%s is refused: %s (%04x:%04x) is passed through to this VM, and an "
			  "assigned device's state lives in the device, out of dpvm's reach; power the "
			  "VM off and start it without the device to do that", op, devices->bdf,
			  devices->vendor, devices->device);
}

static struct lifecycle_blocker passthru_blocker = {
	.name = "pci-passthrough",
	.refuse = passthru__refuse,
};
lifecycle_blocker(passthru_blocker);

static struct device_type passthru_type = {
	.name = "pci-passthrough",
	.passthru = true,
	.validate = pt_validate,
	.finalize = pt_finalize,
	.create = passthru__create,
	.flag = "passthru",
	.flag_arg = "BDF[,rombar=on|off][,allow-no-reset]",
	.flag_help = "assign a host PCI function (bound to vfio-pci; needs --mem-reserve full)",
	.from_flag = pt_from_flag,
};
device_type_register(passthru_type);
