/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_VIRTIO_H
#define DPVM_VIRTIO_H

#include "devices/pci.h"
#include "devices/virtqueue.h"
#include "vmm/vm.h"

/*
 * virtio 1.x devices over the modern PCI transport (virtio-pci.c), shared
 * by every virtio device (blk now, scsi later).  A device provides one ops
 * table; the transport does feature negotiation, status, queue setup,
 * notifications (ioeventfd on the notify area) and interrupts (MSI-X via
 * irqfd, or INTx with the ISR).  Each device gets an I/O thread: its
 * queue_notify op runs there, never on a vCPU thread.
 *
 * Locks: vdev->lock (transport registers, taken by vCPU threads) is taken
 * before a queue's vq->lock (held by the I/O thread while it processes the
 * queue), never after; interrupt raising takes neither.
 */
#define VIRTIO_F_RING_INDIRECT_DESC	28
#define VIRTIO_F_RING_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

#define VIRTIO_NO_VECTOR		0xffff

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;	/* "virtio-blk" */
	u16 device_id;		/* virtio device type: 2 = block, 8 = SCSI */
	u32 class_code;		/* PCI class */
	u64 features;		/* device-specific feature bits offered */
	unsigned int nr_queues;
	u16 queue_size;		/* maximum (and default) queue size */
	u32 config_size;	/* bytes of device-specific configuration */
	/* device config space accesses (vCPU thread, vdev->lock held) */
	void (*config_read)(struct virtio_dev *v, u32 off, void *data, u32 len);
	void (*config_write)(struct virtio_dev *v, u32 off, const void *data, u32 len);
	/* the driver kicked queue q (I/O thread, vq->lock held) */
	void (*queue_notify)(struct virtio_dev *v, struct virtq *vq);
	/* the device was reset by the driver or the VM: called after the
	 * transport reset the queues; must not return while a request of the
	 * device can still write to guest memory */
	void (*reset)(struct virtio_dev *v);
	/* `ctl status` facts */
	struct json_object *(*status)(struct virtio_dev *v);
};

/* the transport's guest-visible state, one plain struct */
struct virtio_regs {
	u32 device_feature_select;
	u32 driver_feature_select;
	u64 driver_features;
	u16 msix_config;
	u16 queue_select;
	u8 status;
	u8 config_generation;
	u8 isr;
};

struct virtio_dev {
	struct pci_dev pci;
	const struct virtio_dev_ops *ops;
	struct virtio_regs r;
	struct virtq *vqs;
	struct vm *vm;
	struct evloop *io;	/* the device's I/O thread */
	pthread_mutex_t lock;	/* transport state */
	struct vm_device vd;
	void *priv;
	char *name;
	u8 pci_cfg_cap;		/* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	u64 features;		/* device-specific features offered: ops->features, which
				 * the device may adjust right after virtio__init */
};

int virtio__init(struct vm *vm, struct virtio_dev *v, const struct virtio_dev_ops *ops,
		 const char *id, void *priv);
void virtio__exit(struct virtio_dev *v);

/* after pushing used buffers: interrupt the driver if it wants one */
void virtio__notify(struct virtio_dev *v, struct virtq *vq);
/* device config changed (e.g. capacity): bump generation, interrupt */
void virtio__config_changed(struct virtio_dev *v);
/* a malformed queue: set NEEDS_RESET and tell the driver */
void virtio__set_needs_reset(struct virtio_dev *v);

static inline bool virtio__has_feature(const struct virtio_dev *v, unsigned int bit)
{
	return v->r.driver_features & (1ULL << bit);
}

#endif
