/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_USB_IP_H
#define DPVM_USB_IP_H

/*
 * The USB/IP wire format (Linux's Documentation/usb/usbip_protocol.rst),
 * for devices/usb-ip.c and its tests.  Everything is big-endian.
 */
#include "vmm/types.h"

#define USBIP_PORT		3240
#define USBIP_VERSION		0x0111
#define USBIP_OP_REQ_DEVLIST	0x8005
#define USBIP_OP_REP_DEVLIST	0x0005
#define USBIP_OP_REQ_IMPORT	0x8003
#define USBIP_OP_REP_IMPORT	0x0003
#define USBIP_OP_HDR		8	/* version, code, status */
#define USBIP_PATH_LEN		256
#define USBIP_BUSID_LEN		32
#define USBIP_UDEV_LEN		312	/* struct usbip_usb_device */

#define USBIP_CMD_SUBMIT	1
#define USBIP_CMD_UNLINK	2
#define USBIP_RET_SUBMIT	3
#define USBIP_RET_UNLINK	4
#define USBIP_HDR		48
#define USBIP_DIR_OUT		0
#define USBIP_DIR_IN		1
#define USBIP_URB_DIR_IN	0x200
#define USBIP_MAX_LEN		(16u << 20)	/* a transfer dpvm asks for or accepts */

struct usbip_udev {
	char path[USBIP_PATH_LEN];
	char busid[USBIP_BUSID_LEN];
	u32 busnum, devnum, speed;
	u16 vendor, product, bcd_device;
	u8 dev_class, nr_configs, nr_ifaces;
};

struct usbip_ret {
	u32 command, seq;
	s32 status, actual, nr_packets;
};

/* OP_REQ_* with a busid (IMPORT: USBIP_OP_HDR + USBIP_BUSID_LEN bytes) or none */
void usbip__op_request(u8 *out, u16 code, const char *busid);
/* an OP_REP_* header: 0 and the status if it is want_code, else -1 */
int usbip__parse_op_reply(const u8 *in, u16 want_code, u32 *status);
/* struct usbip_usb_device (USBIP_UDEV_LEN bytes): 0, or -1 if it lies */
int usbip__parse_udev(const u8 *in, struct usbip_udev *u);
/* USBIP_CMD_SUBMIT / USBIP_CMD_UNLINK headers (USBIP_HDR bytes) */
void usbip__cmd_submit(u8 *out, u32 seq, u32 devid, bool in, u8 ep, u32 flags, u32 len,
		       const u8 *setup);
void usbip__cmd_unlink(u8 *out, u32 seq, u32 devid, u32 victim);
/* a reply header: 0, or -1 if it is not RET_SUBMIT/RET_UNLINK or its lengths lie */
int usbip__parse_ret(const u8 *in, struct usbip_ret *r);
/* a URB status (-errno) as a packet status (USB_RET_*) */
int usbip__status(s32 st);
/* "host", "host:port", "[v6]:port": 0, or -1 */
int usbip__parse_server(const char *s, char *host, size_t hlen, char *port, size_t plen);

/* the fuzzer's entry: a connected device with packets in flight, fed data */
int usb_ip__fuzz(const u8 *data, size_t len);

#endif
