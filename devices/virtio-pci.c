// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio 1.x PCI transport (virtio spec 4.1), modern only.  One 64-bit
 * memory BAR holds every region:
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status
 *   0x2000  device-specific configuration
 *   0x3000  notifications: queue q at 0x3000 + 4 * q (ioeventfd)
 *   0x4000  MSI-X table, 0x6000 MSI-X PBA
 */
#include "devices/virtio.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_BAR		4

#define REG_COMMON		0x0000
#define REG_ISR			0x1000
#define REG_DEVICE		0x2000
#define REG_NOTIFY		0x3000
#define REG_MSIX_TABLE		0x4000
#define REG_MSIX_PBA		0x6000
#define BAR_SIZE		0x8000
#define NOTIFY_MULTIPLIER	4
#define REGION_SIZE		0x1000

/* virtio_pci_cap cfg_type */
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define CAP_ISR			3
#define CAP_DEVICE		4
#define CAP_PCI_CFG		5

/* common configuration offsets */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_MSIX		0x10
#define C_NUMQ		0x12
#define C_STATUS	0x14
#define C_CFGGEN	0x15
#define C_Q_SELECT	0x16
#define C_Q_SIZE	0x18
#define C_Q_MSIX	0x1a
#define C_Q_ENABLE	0x1c
#define C_Q_NOFF	0x1e
#define C_Q_DESCLO	0x20
#define C_Q_DESCHI	0x24
#define C_Q_AVAILLO	0x28
#define C_Q_AVAILHI	0x2c
#define C_Q_USEDLO	0x30
#define C_Q_USEDHI	0x34
#define C_SIZE		0x38

static u64 offered_features(const struct virtio_dev *v)
{
	return v->features | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | (1ULL << VIRTIO_F_RING_EVENT_IDX);
}

/* ---- interrupts ---- */

/* lock-free: the I/O thread calls this holding a queue lock */
static void raise_intx(struct virtio_dev *v, u8 isr_bit)
{
	__atomic_or_fetch(&v->r.isr, isr_bit, __ATOMIC_SEQ_CST);
	pci__set_intx(&v->pci, true);
}

void virtio__notify(struct virtio_dev *v, struct virtq *vq)
{
	if (!virtq__needs_interrupt(vq))
		return;
	if (pci__msix_enabled(&v->pci)) {
		if (vq->r.msix_vector != VIRTIO_NO_VECTOR)
			pci__msix_notify(&v->pci, vq->r.msix_vector);
		return;
	}
	raise_intx(v, 1);
}

static void config_interrupt(struct virtio_dev *v)
{
	if (pci__msix_enabled(&v->pci)) {
		if (v->r.msix_config != VIRTIO_NO_VECTOR)
			pci__msix_notify(&v->pci, v->r.msix_config);
		return;
	}
	raise_intx(v, 2);
}

void virtio__config_changed(struct virtio_dev *v)
{
	pthread_mutex_lock(&v->lock);
	v->r.config_generation++;
	pthread_mutex_unlock(&v->lock);
	config_interrupt(v);
}

void virtio__set_needs_reset(struct virtio_dev *v)
{
	pthread_mutex_lock(&v->lock);
	if (!(v->r.status & VIRTIO_STATUS_DRIVER_OK) || (v->r.status & VIRTIO_STATUS_NEEDS_RESET)) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->r.status |= VIRTIO_STATUS_NEEDS_RESET;
	pthread_mutex_unlock(&v->lock);
	config_interrupt(v);
}

/* ---- reset ---- */

/* Stop every queue (waiting for the I/O thread to leave it) and reset the
 * transport state; vdev->lock is NOT held by the caller. */
static void virtio_reset(struct virtio_dev *v)
{
	for (unsigned int q = 0; q < v->ops->nr_queues; q++) {
		struct virtq *vq = &v->vqs[q];

		pthread_mutex_lock(&vq->lock);
		virtq__reset(vq);
		vq->r.size = v->ops->queue_size;
		pthread_mutex_unlock(&vq->lock);
	}
	pthread_mutex_lock(&v->lock);
	v->r = (struct virtio_regs){ .msix_config = VIRTIO_NO_VECTOR,
				     .config_generation = v->r.config_generation };
	pthread_mutex_unlock(&v->lock);
	pci__set_intx(&v->pci, false);
	if (v->ops->reset)
		v->ops->reset(v);
}

/* ---- common configuration ---- */

static u32 common_read(struct virtio_dev *v, u32 off)
{
	struct virtq *vq = v->r.queue_select < v->ops->nr_queues ?
			   &v->vqs[v->r.queue_select] : NULL;
	u64 f = offered_features(v);

	switch (off) {
	case C_DFSELECT: return v->r.device_feature_select;
	case C_DF: return v->r.device_feature_select == 0 ? (u32)f :
			  v->r.device_feature_select == 1 ? f >> 32 : 0;
	case C_GFSELECT: return v->r.driver_feature_select;
	case C_GF: return v->r.driver_feature_select == 0 ? (u32)v->r.driver_features :
			  v->r.driver_feature_select == 1 ? v->r.driver_features >> 32 : 0;
	case C_MSIX: return v->r.msix_config;
	case C_NUMQ: return v->ops->nr_queues;
	case C_STATUS: return v->r.status;
	case C_CFGGEN: return v->r.config_generation;
	case C_Q_SELECT: return v->r.queue_select;
	}
	if (!vq)
		return 0; /* a selected queue that does not exist: size 0 */
	switch (off) {
	case C_Q_SIZE: return vq->r.size;
	case C_Q_MSIX: return vq->r.msix_vector;
	case C_Q_ENABLE: return vq->r.enable;
	case C_Q_NOFF: return vq->index;
	case C_Q_DESCLO: return (u32)vq->r.desc;
	case C_Q_DESCHI: return vq->r.desc >> 32;
	case C_Q_AVAILLO: return (u32)vq->r.driver;
	case C_Q_AVAILHI: return vq->r.driver >> 32;
	case C_Q_USEDLO: return (u32)vq->r.device;
	case C_Q_USEDHI: return vq->r.device >> 32;
	}
	return 0;
}

static void set_lo(u64 *r, u32 v) { *r = (*r & ~0xffffffffULL) | v; }
static void set_hi(u64 *r, u32 v) { *r = (*r & 0xffffffffULL) | ((u64)v << 32); }

/* returns true if the device must be reset (status written 0) */
static bool common_write(struct virtio_dev *v, u32 off, u32 val)
{
	struct virtq *vq = v->r.queue_select < v->ops->nr_queues ?
			   &v->vqs[v->r.queue_select] : NULL;
	bool live = v->r.status & VIRTIO_STATUS_DRIVER_OK;

	switch (off) {
	case C_DFSELECT: v->r.device_feature_select = val; return false;
	case C_GFSELECT: v->r.driver_feature_select = val; return false;
	case C_GF:
		/* features are fixed once FEATURES_OK is set */
		if (v->r.status & VIRTIO_STATUS_FEATURES_OK)
			return false;
		if (v->r.driver_feature_select == 0)
			set_lo(&v->r.driver_features, val);
		else if (v->r.driver_feature_select == 1)
			set_hi(&v->r.driver_features, val);
		return false;
	case C_MSIX:
		v->r.msix_config = val < v->pci.msix.nr ? val : VIRTIO_NO_VECTOR;
		return false;
	case C_STATUS:
		if (val == 0)
			return true;
		if ((val & VIRTIO_STATUS_FEATURES_OK) &&
		    !(v->r.status & VIRTIO_STATUS_FEATURES_OK) &&
		    ((v->r.driver_features & ~offered_features(v)) ||
		     !(v->r.driver_features & (1ULL << VIRTIO_F_VERSION_1)))) {
			/* accepting what we did not offer (or legacy): refuse */
			val &= ~VIRTIO_STATUS_FEATURES_OK;
		}
		v->r.status = val | (v->r.status & VIRTIO_STATUS_NEEDS_RESET);
		return false;
	case C_Q_SELECT: v->r.queue_select = val; return false;
	}
	/* queue registers cannot change while the queue is enabled */
	if (!vq || (vq->r.enable && off != C_Q_MSIX) || (live && off != C_Q_MSIX))
		return false;
	switch (off) {
	case C_Q_SIZE:
		if (val && val <= v->ops->queue_size && !(val & (val - 1)))
			vq->r.size = val;
		break;
	case C_Q_MSIX:
		vq->r.msix_vector = val < v->pci.msix.nr ? val : VIRTIO_NO_VECTOR;
		break;
	case C_Q_ENABLE:
		if (val != 1)
			break;
		pthread_mutex_lock(&vq->lock);
		if (virtq__enable(vq, &v->vm->mem,
				  virtio__has_feature(v, VIRTIO_F_RING_EVENT_IDX))) {
			pr_warn_guest("%s: queue %u rings are not in guest RAM; not enabled",
				      v->name, vq->index);
		} else {
			vq->r.enable = 1;
		}
		pthread_mutex_unlock(&vq->lock);
		break;
	case C_Q_DESCLO: set_lo(&vq->r.desc, val); break;
	case C_Q_DESCHI: set_hi(&vq->r.desc, val); break;
	case C_Q_AVAILLO: set_lo(&vq->r.driver, val); break;
	case C_Q_AVAILHI: set_hi(&vq->r.driver, val); break;
	case C_Q_USEDLO: set_lo(&vq->r.device, val); break;
	case C_Q_USEDHI: set_hi(&vq->r.device, val); break;
	}
	return false;
}

/* the width of the field at off, 0 if no field starts there */
static u32 common_width(u32 off)
{
	switch (off) {
	case C_STATUS: case C_CFGGEN:
		return 1;
	case C_MSIX: case C_NUMQ: case C_Q_SELECT: case C_Q_SIZE: case C_Q_MSIX:
	case C_Q_ENABLE: case C_Q_NOFF:
		return 2;
	case C_DFSELECT: case C_DF: case C_GFSELECT: case C_GF:
	case C_Q_DESCLO: case C_Q_DESCHI: case C_Q_AVAILLO: case C_Q_AVAILHI:
	case C_Q_USEDLO: case C_Q_USEDHI:
		return 4;
	}
	return 0;
}

/*
 * Reads see the structure as bytes, at any width.  Writes must hit a field
 * with its own width (64-bit addresses may also be written whole).
 */
static void common_access(struct virtio_dev *v, u32 off, void *data, u32 len, bool write)
{
	bool reset = false;

	if (off + len > C_SIZE) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (!write) {
		u8 img[C_SIZE];

		for (u32 f = 0; f < C_SIZE; f += common_width(f) ? common_width(f) : 1) {
			u32 val = common_read(v, f);

			memcpy(img + f, &val, common_width(f) ? common_width(f) : 1);
		}
		memcpy(data, img + off, len);
	} else {
		u64 val = 0;

		memcpy(&val, data, len);
		if (len == common_width(off)) {
			reset = common_write(v, off, val);
		} else if (len == 8 && (off == C_Q_DESCLO || off == C_Q_AVAILLO || off == C_Q_USEDLO)) {
			common_write(v, off, (u32)val);
			common_write(v, off + 4, val >> 32);
		} else {
			pr_debug("%s: ignored %u-byte write at common config %#x", v->name, len, off);
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (reset)
		virtio_reset(v);
}

/* ---- the BAR ---- */

static void bar_access(struct virtio_dev *v, u64 off, void *data, u32 len, bool is_write)
{
	if (pci__msix_access(&v->pci, VIRTIO_BAR, off, data, len, is_write))
		return;
	if (off < REG_COMMON + REGION_SIZE) {
		common_access(v, off - REG_COMMON, data, len, is_write);
	} else if (off < REG_ISR + REGION_SIZE) {
		if (!is_write) {
			u8 isr;

			/* reading the ISR acknowledges and de-asserts INTx */
			isr = off == REG_ISR ? __atomic_exchange_n(&v->r.isr, 0, __ATOMIC_SEQ_CST) : 0;
			memset(data, 0, len);
			*(u8 *)data = isr;
			if (off == REG_ISR)
				pci__set_intx(&v->pci, false);
		}
	} else if (off < REG_DEVICE + REGION_SIZE) {
		u32 o = off - REG_DEVICE;

		if (o + len > v->ops->config_size) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		pthread_mutex_lock(&v->lock);
		if (is_write && v->ops->config_write)
			v->ops->config_write(v, o, data, len);
		else if (!is_write)
			v->ops->config_read(v, o, data, len);
		pthread_mutex_unlock(&v->lock);
	} else if (off < REG_NOTIFY + REGION_SIZE) {
		u32 q = (off - REG_NOTIFY) / NOTIFY_MULTIPLIER;
		u64 one = 1;

		/* reached only when the ioeventfd is not installed */
		if (is_write && q < v->ops->nr_queues && write(v->vqs[q].kick_fd, &one, 8) < 0)
			pr_debug("%s: kick: %s", v->name, strerror(errno));
		if (!is_write)
			memset(data, 0, len);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

static void bar_read(void *dev, u64 off, void *data, u32 len) { bar_access(dev, off, data, len, false); }
static void bar_write(void *dev, u64 off, const void *data, u32 len) { bar_access(dev, off, (void *)data, len, true); }

static const struct trap_ops virtio_bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

/* map the BAR: the trap, plus an ioeventfd per queue notify address */
static int virtio_bar_activate(struct pci_dev *d, int bar, u64 addr)
{
	struct virtio_dev *v = container_of(d, struct virtio_dev, pci);
	int ret = bus__register(&v->vm->mmio, addr, d->bars[bar].size, &virtio_bar_ops, v, v->name);

	if (ret)
		return ret;
	for (unsigned int q = 0; q < v->ops->nr_queues; q++)
		if (irq__add_ioeventfd(v->vm, addr + REG_NOTIFY + q * NOTIFY_MULTIPLIER, 2,
				       v->vqs[q].kick_fd, false))
			pr_debug("%s: no ioeventfd for queue %u: kicks will trap", v->name, q);
	return 0;
}

static void virtio_bar_deactivate(struct pci_dev *d, int bar __unused, u64 addr)
{
	struct virtio_dev *v = container_of(d, struct virtio_dev, pci);

	for (unsigned int q = 0; q < v->ops->nr_queues; q++)
		irq__del_ioeventfd(v->vm, addr + REG_NOTIFY + q * NOTIFY_MULTIPLIER, 2,
				   v->vqs[q].kick_fd, false);
	bus__unregister(&v->vm->mmio, addr, v);
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space ---- */

static void virtio_cfg_write(struct pci_dev *d, u32 off, u32 len);

static const struct pci_dev_ops virtio_pci_ops = {
	.bar_activate = virtio_bar_activate,
	.bar_deactivate = virtio_bar_deactivate,
	.cfg_write = virtio_cfg_write,
};

/*
 * The pci_cfg capability: the driver writes bar/offset/length, then reads
 * or writes pci_cfg_data (cap + 16), which accesses the BAR.  Called with
 * d->lock held: the BAR access below takes only v->lock.
 */
static void virtio_cfg_write(struct pci_dev *d, u32 off, u32 len)
{
	struct virtio_dev *v = container_of(d, struct virtio_dev, pci);
	u8 c = v->pci_cfg_cap;
	u32 boff = pci__cfg32(d, c + 8), blen = pci__cfg32(d, c + 12);

	if (!c || off != c + 16u || d->cfg[c + 4] != VIRTIO_BAR ||
	    (blen != 1 && blen != 2 && blen != 4) || len < blen || boff + blen > BAR_SIZE)
		return;
	bar_access(v, boff, d->cfg + c + 16, blen, true);
}

static void add_vcap(struct virtio_dev *v, u8 type, u32 offset, u32 length, u32 extra)
{
	struct pci_dev *d = &v->pci;
	u8 size = type == CAP_NOTIFY ? 20 : 16;
	u8 c = pci__add_cap(d, PCI_CAP_ID_VNDR, type == CAP_PCI_CFG ? 20 : size);

	d->cfg[c + 2] = type == CAP_PCI_CFG ? 20 : size;	/* cap_len */
	d->cfg[c + 3] = type;
	d->cfg[c + 4] = type == CAP_PCI_CFG ? 0 : VIRTIO_BAR;
	memcpy(d->cfg + c + 8, &offset, 4);
	memcpy(d->cfg + c + 12, &length, 4);
	if (type == CAP_NOTIFY)
		memcpy(d->cfg + c + 16, &extra, 4);
	if (type == CAP_PCI_CFG) {
		/* bar, offset, length and data are the driver's to write */
		d->wmask[c + 4] = 0xff;
		memset(d->wmask + c + 8, 0xff, 12);
		v->pci_cfg_cap = c;
	}
}

/* ---- the I/O thread ---- */

static void kick(int fd, u32 events __unused, void *opaque)
{
	struct virtq *vq = opaque;
	struct virtio_dev *v = vq->owner;
	bool broken = false;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&vq->lock);
	if (vq->r.enable && !vq->broken) {
		v->ops->queue_notify(v, vq);
		broken = vq->broken;
	}
	pthread_mutex_unlock(&vq->lock);
	/* lock order is vdev->lock before vq->lock: never the other way */
	if (broken)
		virtio__set_needs_reset(v);
}

static void virtio_vd_reset(struct vm_device *vd)
{
	virtio_reset(container_of(vd, struct virtio_dev, vd));
}

static struct json_object *virtio_vd_status(struct vm_device *vd)
{
	struct virtio_dev *v = container_of(vd, struct virtio_dev, vd);
	struct json_object *o = v->ops->status ? v->ops->status(v) : json_object_new_object();
	char pci[16];

	snprintf(pci, sizeof(pci), "00:%02x.%x", v->pci.devfn >> 3, v->pci.devfn & 7);
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "type", json_object_new_string(v->ops->name));
	json_object_object_add(o, "pci", json_object_new_string(pci));
	json_object_object_add(o, "driver-ok",
			       json_object_new_boolean(v->r.status & VIRTIO_STATUS_DRIVER_OK));
	return o;
}

int virtio__init(struct vm *vm, struct virtio_dev *v, const struct virtio_dev_ops *ops,
		 const char *id, void *priv)
{
	struct pci_dev *d = &v->pci;
	unsigned int nvec = ops->nr_queues + 1;
	char tname[32];
	int ret;

	v->vm = vm;
	v->ops = ops;
	v->features = ops->features;
	v->priv = priv;
	v->name = xstrdup(id);
	v->r.msix_config = VIRTIO_NO_VECTOR;
	pthread_mutex_init(&v->lock, NULL);
	v->vqs = xzalloc(ops->nr_queues * sizeof(*v->vqs));
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		struct virtq *vq = &v->vqs[q];

		pthread_mutex_init(&vq->lock, NULL);
		vq->index = q;
		vq->owner = v;
		vq->r.size = ops->queue_size;
		vq->r.msix_vector = VIRTIO_NO_VECTOR;
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0) {
			ret = -errno;
			goto err_fds;
		}
	}

	snprintf(tname, sizeof(tname), "io-%s", id);
	v->io = evloop__new(tname);
	if (!v->io) {
		ret = -ENOMEM;
		goto err_fds;
	}
	for (unsigned int q = 0; q < ops->nr_queues; q++)
		evloop__add(v->io, v->vqs[q].kick_fd, EPOLLIN, kick, &v->vqs[q]);

	d->name = v->name;
	d->ops = &virtio_pci_ops;
	d->priv = v;
	pci__init_header(d, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + ops->device_id,
			 ops->class_code, 1, VIRTIO_PCI_VENDOR, ops->device_id, 1);
	pci__set_bar(d, VIRTIO_BAR, BAR_SIZE, false, true, false, &virtio_bar_ops, v);
	add_vcap(v, CAP_COMMON, REG_COMMON, C_SIZE, 0);
	add_vcap(v, CAP_ISR, REG_ISR, 1, 0);
	add_vcap(v, CAP_DEVICE, REG_DEVICE, ops->config_size, 0);
	add_vcap(v, CAP_NOTIFY, REG_NOTIFY, ops->nr_queues * NOTIFY_MULTIPLIER, NOTIFY_MULTIPLIER);
	add_vcap(v, CAP_PCI_CFG, 0, 0, 0);
	ret = pci__msix_init(d, nvec, VIRTIO_BAR, REG_MSIX_TABLE, REG_MSIX_PBA);
	if (ret)
		goto err_loop;
	ret = pci__register(vm, d);
	if (ret)
		goto err_loop;
	ret = evloop__start(v->io);
	if (ret)
		goto err_pci;

	v->vd.name = v->name;
	v->vd.reset = virtio_vd_reset;
	v->vd.status = virtio_vd_status;
	vm__add_device(vm, &v->vd);
	return 0;

err_pci:
	pci__unregister(d);
err_loop:
	evloop__free(v->io);
	v->io = NULL;
err_fds:
	for (unsigned int q = 0; q < ops->nr_queues; q++)
		if (v->vqs[q].kick_fd > 0)
			close(v->vqs[q].kick_fd);
	free(v->vqs);
	free(v->name);
	return ret;
}

void virtio__exit(struct virtio_dev *v)
{
	vm__remove_device(v->vm, &v->vd);
	evloop__join(v->io);
	pci__unregister(&v->pci);
	evloop__free(v->io);
	for (unsigned int q = 0; q < v->ops->nr_queues; q++)
		close(v->vqs[q].kick_fd);
	free(v->vqs);
	free(v->name);
}
