/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_SCSI_H
#define DPVM_SCSI_H

/*
 * The SCSI layer under the virtio-scsi controller (devices/virtio-scsi.c):
 *
 *   cdb.c     CDB lengths and decoding (opcode, LBA, transfer length, direction)
 *   sense.c   sense data (fixed and descriptor format)
 *   lun.c     a logical unit: unit attentions, its worker threads, identity
 *   sbc.c     an emulated SBC-3 disk (file or block device; virtual RDM)
 *   mmc.c     an emulated MMC CD/DVD drive (ISO images, insert/eject)
 *   sgio.c    SG_IO passthrough (physical RDM, host CD/DVD drives) and
 *             reading a real LUN's identity (INQUIRY, VPD 0x80/0x83)
 *
 * A request carries a CDB and the guest's data buffers as iovecs (already
 * checked to lie in guest RAM).  A logical unit executes it, on one of its
 * worker threads when it touches the backing, and fills in status, sense and
 * the number of bytes moved; then calls req->done.  Nothing here knows
 * about virtio.
 */
#include "vmm/types.h"

#include <errno.h>
#include <pthread.h>
#include <sys/uio.h>

struct json_object;

#define SCSI_CDB_MAX		260	/* a variable-length CDB: 8 + 252 */
#define SCSI_SENSE_MAX		252	/* fixed format: 8 + 244 */

/* status (SAM-5) */
#define SAM_STAT_GOOD			0x00
#define SAM_STAT_CHECK_CONDITION	0x02
#define SAM_STAT_CONDITION_MET		0x04
#define SAM_STAT_BUSY			0x08
#define SAM_STAT_RESERVATION_CONFLICT	0x18
#define SAM_STAT_TASK_SET_FULL		0x28
#define SAM_STAT_TASK_ABORTED		0x40

/* transport-level outcome; the numbers are virtio-scsi's response codes */
enum scsi_response {
	SCSI_RESP_OK			= 0,
	SCSI_RESP_OVERRUN		= 1,
	SCSI_RESP_ABORTED		= 2,
	SCSI_RESP_BAD_TARGET		= 3,
	SCSI_RESP_RESET			= 4,
	SCSI_RESP_BUSY			= 5,
	SCSI_RESP_TRANSPORT_FAILURE	= 6,
	SCSI_RESP_TARGET_FAILURE	= 7,
	SCSI_RESP_NEXUS_FAILURE		= 8,
	SCSI_RESP_FAILURE		= 9,
};

/* opcodes (SPC-4, SBC-3, MMC-6) */
enum {
	OP_TEST_UNIT_READY	= 0x00,
	OP_REQUEST_SENSE	= 0x03,
	OP_READ_6		= 0x08,
	OP_WRITE_6		= 0x0a,
	OP_INQUIRY		= 0x12,
	OP_MODE_SELECT_6	= 0x15,
	OP_RESERVE_6		= 0x16,
	OP_RELEASE_6		= 0x17,
	OP_MODE_SENSE_6		= 0x1a,
	OP_START_STOP_UNIT	= 0x1b,
	OP_SEND_DIAGNOSTIC	= 0x1d,
	OP_PREVENT_ALLOW	= 0x1e,
	OP_READ_FORMAT_CAPACITIES = 0x23,
	OP_READ_CAPACITY_10	= 0x25,
	OP_READ_10		= 0x28,
	OP_WRITE_10		= 0x2a,
	OP_WRITE_VERIFY_10	= 0x2e,
	OP_VERIFY_10		= 0x2f,
	OP_SYNCHRONIZE_CACHE_10	= 0x35,
	OP_WRITE_BUFFER		= 0x3b,
	OP_READ_BUFFER		= 0x3c,
	OP_WRITE_SAME_10	= 0x41,
	OP_UNMAP		= 0x42,
	OP_READ_TOC		= 0x43,
	OP_GET_CONFIGURATION	= 0x46,
	OP_GET_EVENT_STATUS	= 0x4a,
	OP_LOG_SENSE		= 0x4d,
	OP_READ_DISC_INFO	= 0x51,
	OP_READ_TRACK_INFO	= 0x52,
	OP_MODE_SELECT_10	= 0x55,
	OP_MODE_SENSE_10	= 0x5a,
	OP_VARIABLE_LENGTH	= 0x7f,
	OP_READ_16		= 0x88,
	OP_WRITE_16		= 0x8a,
	OP_WRITE_VERIFY_16	= 0x8e,
	OP_VERIFY_16		= 0x8f,
	OP_SYNCHRONIZE_CACHE_16	= 0x91,
	OP_WRITE_SAME_16	= 0x93,
	OP_SERVICE_ACTION_IN_16	= 0x9e,
	OP_REPORT_LUNS		= 0xa0,
	OP_MAINTENANCE_IN	= 0xa3,
	OP_READ_12		= 0xa8,
	OP_WRITE_12		= 0xaa,
	OP_READ_MEDIA_SERIAL	= 0xab,
	OP_WRITE_VERIFY_12	= 0xae,
	OP_VERIFY_12		= 0xaf,
	OP_READ_DVD_STRUCTURE	= 0xad,
	OP_SET_CD_SPEED		= 0xbb,
	OP_MECHANISM_STATUS	= 0xbd,
	OP_READ_CD		= 0xbe,
	OP_SET_STREAMING	= 0xb6,
};
#define SAI_READ_CAPACITY_16	0x10
#define MI_REPORT_SUPPORTED_OPCODES 0x0c

/* sense keys */
enum {
	SK_NO_SENSE = 0x0, SK_RECOVERED_ERROR = 0x1, SK_NOT_READY = 0x2, SK_MEDIUM_ERROR = 0x3,
	SK_HARDWARE_ERROR = 0x4, SK_ILLEGAL_REQUEST = 0x5, SK_UNIT_ATTENTION = 0x6,
	SK_DATA_PROTECT = 0x7, SK_BLANK_CHECK = 0x8, SK_ABORTED_COMMAND = 0xb,
	SK_MISCOMPARE = 0xe,
};

/* a sense code: key, additional sense code and qualifier in one number */
#define SC(key, asc, ascq)	((u32)(key) << 16 | (u32)(asc) << 8 | (u32)(ascq))
#define SC_KEY(sc)		((u8)((sc) >> 16))
#define SC_ASC(sc)		((u8)((sc) >> 8))
#define SC_ASCQ(sc)		((u8)(sc))

#define SC_NONE			SC(SK_NO_SENSE, 0x00, 0x00)
#define SC_INVALID_OPCODE	SC(SK_ILLEGAL_REQUEST, 0x20, 0x00)
#define SC_ACCESS_DENIED	SC(SK_ILLEGAL_REQUEST, 0x20, 0x02)
#define SC_LBA_OUT_OF_RANGE	SC(SK_ILLEGAL_REQUEST, 0x21, 0x00)
#define SC_INVALID_FIELD_CDB	SC(SK_ILLEGAL_REQUEST, 0x24, 0x00)
#define SC_LUN_NOT_SUPPORTED	SC(SK_ILLEGAL_REQUEST, 0x25, 0x00)
#define SC_INVALID_FIELD_PARAM	SC(SK_ILLEGAL_REQUEST, 0x26, 0x00)
#define SC_PARAM_LIST_LENGTH	SC(SK_ILLEGAL_REQUEST, 0x1a, 0x00)
#define SC_INCOMPATIBLE_MEDIUM	SC(SK_ILLEGAL_REQUEST, 0x30, 0x02)
#define SC_SAVING_NOT_SUPPORTED	SC(SK_ILLEGAL_REQUEST, 0x39, 0x00)
#define SC_REMOVAL_PREVENTED	SC(SK_ILLEGAL_REQUEST, 0x53, 0x02)
#define SC_NOT_READY		SC(SK_NOT_READY, 0x04, 0x00)
#define SC_NEEDS_START		SC(SK_NOT_READY, 0x04, 0x02)
#define SC_NO_MEDIUM		SC(SK_NOT_READY, 0x3a, 0x00)
#define SC_NO_MEDIUM_TRAY_CLOSED SC(SK_NOT_READY, 0x3a, 0x01)
#define SC_NO_MEDIUM_TRAY_OPEN	SC(SK_NOT_READY, 0x3a, 0x02)
#define SC_WRITE_ERROR		SC(SK_MEDIUM_ERROR, 0x0c, 0x00)
#define SC_READ_ERROR		SC(SK_MEDIUM_ERROR, 0x11, 0x00)
#define SC_INTERNAL_FAILURE	SC(SK_HARDWARE_ERROR, 0x44, 0x00)
#define SC_WRITE_PROTECTED	SC(SK_DATA_PROTECT, 0x27, 0x00)
#define SC_SPACE_ALLOC_FAILED	SC(SK_DATA_PROTECT, 0x27, 0x07)
#define SC_MEDIUM_CHANGED	SC(SK_UNIT_ATTENTION, 0x28, 0x00)
#define SC_POWER_ON_RESET	SC(SK_UNIT_ATTENTION, 0x29, 0x00)
#define SC_DEVICE_RESET		SC(SK_UNIT_ATTENTION, 0x29, 0x03)
#define SC_MODE_CHANGED		SC(SK_UNIT_ATTENTION, 0x2a, 0x01)
#define SC_CAPACITY_CHANGED	SC(SK_UNIT_ATTENTION, 0x2a, 0x09)
#define SC_LUNS_CHANGED		SC(SK_UNIT_ATTENTION, 0x3f, 0x0e)
#define SC_MISCOMPARE		SC(SK_MISCOMPARE, 0x1d, 0x00)
#define SC_IO_TERMINATED	SC(SK_ABORTED_COMMAND, 0x00, 0x06)

/* ---- CDB decoding (cdb.c) ---- */

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_IN, SCSI_DIR_OUT };

struct scsi_cdb {
	u8 opcode;
	u8 sa;			/* service action, where the opcode has one */
	unsigned int len;	/* the CDB's length by its opcode */
	bool known;		/* the fields below were decoded */
	enum scsi_dir dir;
	u64 xfer;		/* the transfer length: bytes, or blocks if in_blocks */
	bool in_blocks;
	/* block commands */
	bool rw;		/* READ/WRITE/VERIFY/WRITE SAME: lba and nblocks are valid */
	u64 lba;
	u32 nblocks;
	bool fua, dpo;
	u8 protect;		/* RDPROTECT/WRPROTECT/VRPROTECT */
};

/* the length of a CDB from its first bytes: 6, 10, 12, 16 or 8 + n for
 * 0x7f; 0 if the group is reserved or vendor specific, or avail is too
 * short to tell */
unsigned int scsi_cdb__len(const u8 *cdb, unsigned int avail);
/* decode; -EINVAL if avail is shorter than the opcode's CDB or the length
 * cannot be known.  An opcode this decoder does not know gives known=false. */
int scsi_cdb__decode(const u8 *cdb, unsigned int avail, struct scsi_cdb *c);
/* the transfer in bytes for a LUN with this block size (saturating) */
u64 scsi_cdb__xfer_bytes(const struct scsi_cdb *c, u32 block_size);

/* ---- requests ---- */

struct scsi_lun;

struct scsi_req {
	u8 cdb[SCSI_CDB_MAX];		/* a copy: the guest cannot change it under us */
	unsigned int cdb_len;		/* bytes of cdb[] the initiator gave */
	struct scsi_cdb c;		/* decoded */
	const struct iovec *out;	/* data-out (initiator to device) */
	unsigned int nout;
	size_t out_len;
	const struct iovec *in;		/* data-in (device to initiator) */
	unsigned int nin;
	size_t in_len;
	u64 tag;			/* the initiator's id, for ABORT TASK */

	/* results */
	u8 status;
	u8 response;			/* enum scsi_response */
	u8 sense[SCSI_SENSE_MAX];
	unsigned int sense_len;
	size_t in_done;			/* bytes written to data-in */
	size_t out_done;		/* bytes consumed from data-out */

	struct scsi_lun *lun;
	struct scsi_req *next;		/* in the LUN's queue */
	bool started;
	void (*done)(struct scsi_req *r);
	void *opaque;			/* the transport's */
};

/* ---- sense (sense.c) ---- */

/* build sense data for sc into buf; with info_valid the INFORMATION field
 * holds info; field >= 0 is a SENSE-KEY SPECIFIC field pointer (byte << 3 |
 * bit, bit 7 = none); cd: in the CDB (else the parameter list).  Returns the
 * length (18 fixed, or descriptor format) */
#define SENSE_NO_FIELD	(-1)
unsigned int scsi_sense__build(u8 *buf, unsigned int len, bool desc, u32 sc, bool info_valid,
			       u64 info, int field, bool cd);
/* read key/asc/ascq back from fixed or descriptor sense; SC_NONE if none */
u32 scsi_sense__code(const u8 *sense, unsigned int len);
/* "MEDIUM ERROR, unrecovered read error (11/00)" for logs */
const char *scsi_sense__name(u32 sc, char *buf, size_t len);

/* a request's result */
void scsi_req__good(struct scsi_req *r);
void scsi_req__check(struct scsi_req *r, u32 sc);
void scsi_req__check_info(struct scsi_req *r, u32 sc, u64 info);
/* ILLEGAL REQUEST with the field pointer: byte (and bit, or -1) of the CDB */
void scsi_req__bad_field(struct scsi_req *r, unsigned int byte, int bit);
void scsi_req__bad_param(struct scsi_req *r, unsigned int byte, int bit);
/* copy at most alloc (and the buffer's) bytes of buf to data-in */
void scsi_req__data_in(struct scsi_req *r, const void *buf, size_t len, size_t alloc);
/* copy the parameter list (data-out) into buf; bytes copied */
size_t scsi_req__data_out(struct scsi_req *r, void *buf, size_t len);

/* big-endian helpers */
static inline u16 get_be16(const u8 *p) { return (u16)p[0] << 8 | p[1]; }
static inline u32 get_be24(const u8 *p) { return (u32)p[0] << 16 | (u32)p[1] << 8 | p[2]; }
static inline u32 get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}
static inline u64 get_be64(const u8 *p) { return (u64)get_be32(p) << 32 | get_be32(p + 4); }
static inline void put_be16(u8 *p, u16 v) { p[0] = v >> 8; p[1] = v; }
static inline void put_be24(u8 *p, u32 v) { p[0] = v >> 16; p[1] = v >> 8; p[2] = v; }
static inline void put_be32(u8 *p, u32 v) { put_be16(p, v >> 16); put_be16(p + 2, v); }
static inline void put_be64(u8 *p, u64 v) { put_be32(p, v >> 32); put_be32(p + 4, v); }

/* ---- logical units (lun.c) ---- */

/* what a LUN shows as its identity (INQUIRY and VPD 0x80/0x83) */
struct scsi_identity {
	char vendor[9], product[17], revision[5];	/* NUL-terminated, unpadded */
	char serial[65];				/* VPD 0x80; "" if none */
	u8 desig[256];					/* VPD 0x83's designation descriptors */
	unsigned int desig_len;
	char wwn[40];					/* the NAA designator in hex; "" if none */
};

struct scsi_lun_ops {
	const char *kind;		/* "disk", "rdm-physical", "rdm-virtual", "cdrom", ... */
	/* execute one command; may block (runs on a worker unless is_inline) */
	void (*execute)(struct scsi_lun *l, struct scsi_req *r);
	/* may the command run on the submitting thread? (no backing I/O) */
	bool (*is_inline)(struct scsi_lun *l, const struct scsi_req *r);
	/* commands that a pending unit attention does not stop (beyond INQUIRY,
	 * REPORT LUNS, REQUEST SENSE); NULL: none */
	bool (*ua_exempt)(const struct scsi_req *r);
	/* start a command without blocking and finish it later with
	 * scsi_lun__async_done; false: not taken, it runs the usual way */
	bool (*submit)(struct scsi_lun *l, struct scsi_req *r);
	/* a LUN reset or a device reset, with no command running */
	void (*reset)(struct scsi_lun *l);
	/* facts for `ctl status` */
	void (*status)(struct scsi_lun *l, struct json_object *o);
	void (*destroy)(struct scsi_lun *l);
	bool passthrough;		/* every CDB goes to a real device */
};

#define SCSI_MAX_WORKERS	64

struct scsi_lun {
	const struct scsi_lun_ops *ops;
	char *name;			/* the config entry's id */
	u8 target;
	u16 lun;
	u32 block_size;			/* 0 for passthrough: no transfer checks */
	struct scsi_identity ident;
	void *priv;
	/* the controller's hook: the LUN's parameters or medium changed (sc:
	 * SC_CAPACITY_CHANGED, SC_MEDIUM_CHANGED); any thread */
	void (*changed)(struct scsi_lun *l, u32 sc);
	void *owner;

	/* state shared by the workers: unit attentions, counters */
	pthread_mutex_t lock;
	u32 ua[4];			/* pending unit attentions, oldest first */
	unsigned int nr_ua;
	u64 nr_cmds, nr_reads, nr_writes, nr_errors;
	u64 bytes_read, bytes_written;

	/* the worker pool: requests are queued here and run by nr_workers
	 * threads, so a slow backing stalls only its own LUN */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;		/* work queued, or stop */
	pthread_cond_t idle;		/* running + queued dropped to zero */
	struct scsi_req *head, **tail;
	unsigned int queued, running;
	unsigned int nr_workers;
	pthread_t workers[SCSI_MAX_WORKERS];
	unsigned int nr_started;
	bool stop;
};

/* set up the common part (ops, name, address, locks); workers start with
 * scsi_lun__start */
void scsi_lun__init(struct scsi_lun *l, const struct scsi_lun_ops *ops, const char *name,
		    u8 target, u16 lun);
int scsi_lun__start(struct scsi_lun *l, unsigned int nr_workers);
/* stop the workers (the queue must be drained) and free everything */
void scsi_lun__destroy(struct scsi_lun *l);

/* run a request: unit attention checks, then inline or on a worker.
 * true: it completed on this thread (the caller finishes it; r->done is
 * not called); false: queued, and a worker calls r->done */
bool scsi_lun__submit(struct scsi_lun *l, struct scsi_req *r);
/* finish a request that ops->submit took (any thread) */
void scsi_lun__async_done(struct scsi_lun *l, struct scsi_req *r);
/* wait until no request of this LUN is queued or running */
void scsi_lun__drain(struct scsi_lun *l);
/* complete every queued (not yet started) request that match() accepts
 * with `response`; returns how many; match NULL: all */
unsigned int scsi_lun__cancel(struct scsi_lun *l, bool (*match)(struct scsi_req *, void *),
			      void *arg, u8 response);
/* is a request with this tag queued or running? */
bool scsi_lun__busy_tag(struct scsi_lun *l, u64 tag);

/* queue a unit attention (dropped if already pending or the queue is full) */
void scsi_lun__add_ua(struct scsi_lun *l, u32 sc);
void scsi_lun__clear_ua(struct scsi_lun *l);
/* LUN reset: cancel queued, wait for running, ops->reset, UA 29/03 */
void scsi_lun__reset(struct scsi_lun *l, u32 ua);

/* set *err (if err) to a formatted message; returns -1 */
int scsi_err(char **err, const char *fmt, ...) __printf(2, 3);

/* count a failed command (logs rate-limited by the caller) */
void scsi_lun__count(struct scsi_lun *l, const struct scsi_req *r);

/* the common INQUIRY pieces: standard data for a peripheral device type */
unsigned int scsi_inquiry_std(const struct scsi_lun *l, u8 *buf, u8 type, bool removable);
/* VPD 0x80 and 0x83 from the identity; 0 if the page is not there */
unsigned int scsi_vpd_serial(const struct scsi_lun *l, u8 *buf, u8 type);
unsigned int scsi_vpd_devid(const struct scsi_lun *l, u8 *buf, u8 type);
/* REQUEST SENSE for a LUN: the oldest unit attention, or `state` (a
 * NOT READY code, or SC_NONE) */
void scsi_request_sense(struct scsi_lun *l, struct scsi_req *r, u32 state);

/* identity helpers: an NAA designator from a 64-bit WWN, a T10 vendor id
 * designator; build from a config's wwn/serial or derive from a seed */
void scsi_ident__set(struct scsi_identity *id, const char *vendor, const char *product,
		     const char *revision, const char *serial, u64 wwn);
/* parse "0x5000c500a1b2c3d4" or "5000c500a1b2c3d4" (16 hex digits, NAA 2, 3, 5 or 6) */
int scsi_parse_wwn(const char *s, u64 *out);
/* a stable 64-bit locally assigned (NAA 3) WWN derived from a string */
u64 scsi_wwn_derive(const char *seed);
/* identity as JSON facts */
void scsi_ident__status(const struct scsi_identity *id, struct json_object *o);
/* read key facts out of VPD 0x83 designators (the first NAA one, as hex) */
void scsi_ident__find_wwn(struct scsi_identity *id);

/* ---- backings ---- */

/* an emulated disk on fd (sbc.c) */
struct sbc_params {
	int fd;				/* owned by the LUN from now on */
	const char *path;
	bool readonly;
	bool direct;			/* O_DIRECT: bounce misaligned buffers */
	bool rotational;
	u32 block_size;			/* 512 or 4096 */
	unsigned int workers;
	bool no_aio;			/* reads and writes on the workers, not io_uring */
};
struct scsi_lun *sbc__create(const struct sbc_params *p, const struct scsi_identity *id,
			     const char *name, u8 target, u16 lun, const char *kind);
/* the number of blocks the disk shows now */
u64 sbc__capacity(struct scsi_lun *l);

/* I/O on a backing fd: len bytes of iov (skipping skip) at off, retrying
 * short transfers; flags for pwritev2 (RWF_DSYNC).  0, or -errno; SCSI_RW_EOF
 * if the file ended (it shrank), as rw_all_iov (vmm/util.h) says it */
#define SCSI_RW_EOF	(-ERANGE)
int scsi_file_rw(int fd, bool write, const struct iovec *iov, unsigned int n, size_t skip,
		 size_t len, u64 off, int flags);
/* the sense code for an errno from the backing */
u32 scsi_errno_sense(int err, bool write);

/* an emulated CD/DVD drive (mmc.c); path NULL: empty */
struct scsi_lun *mmc__create(const char *path, const struct scsi_identity *id, const char *name,
			     u8 target, u16 lun, unsigned int workers, char **err);
/* insert (path) or eject (NULL) a medium; -errno with *err set */
int mmc__change(struct scsi_lun *l, const char *path, bool force, char **err);
/* eject the disc of a host drive (START STOP UNIT through SG_IO) */
int sgio__eject(struct scsi_lun *l, bool force, char **err);
bool sgio__is_cdrom(struct scsi_lun *l);
bool mmc__is_cdrom(struct scsi_lun *l);
/* medium facts for `ctl status` */

/* SG_IO passthrough (sgio.c) to an open sg or block device node */
struct sgio_params {
	int fd;				/* owned by the LUN */
	const char *path;
	unsigned int timeout_ms;
	unsigned int workers;
	bool cdrom;			/* a host CD/DVD drive */
};
struct scsi_lun *sgio__create(const struct sgio_params *p, const char *name, u8 target,
			      u16 lun, char **err);
/* send one CDB with a flat buffer; status, sense and residual out.
 * 0 on completion (any SCSI status), -errno if SG_IO itself failed */
int sgio__command(int fd, const u8 *cdb, unsigned int cdb_len, enum scsi_dir dir,
		  void *buf, unsigned int len, unsigned int timeout_ms, u8 *status,
		  u8 *sense, unsigned int *sense_len, unsigned int *resid);
/* read a real LUN's identity (standard INQUIRY, VPD 0x80 and 0x83); -errno
 * with a message in err */
int sgio__read_identity(int fd, struct scsi_identity *id, u8 *type, char *err, size_t errlen);
/* the hook SG_IO goes through (tests replace it) */
extern int (*sgio_ioctl)(int fd, unsigned long req, void *arg);

/* ---- asynchronous reads and writes: io_uring (aio.c) ---- */

struct scsi_aio;
struct scsi_aio_op {
	/* on the LUN's reaper thread: res is bytes moved or -errno */
	void (*done)(struct scsi_aio_op *op, int res);
};
/* a ring of `entries` and its reaper thread; NULL if io_uring is not there */
struct scsi_aio *scsi_aio__new(unsigned int entries, const char *name);
/* queue a readv/writev of iov[0..n) at off; the iovecs must live until
 * op->done.  0, or -EAGAIN (ring full) / -errno: not queued */
int scsi_aio__rw(struct scsi_aio *a, int fd, bool write, const struct iovec *iov, unsigned int n,
		 u64 off, int rw_flags, struct scsi_aio_op *op);
/* stop the reaper and free the ring; nothing may be in flight */
void scsi_aio__free(struct scsi_aio *a);

/* ---- the virtio-scsi request layout (walk.c) ---- */

#define VSCSI_REQ_HDR		19	/* lun[8], id, task_attr, prio, crn */
#define VSCSI_RESP_HDR		12	/* sense_len, residual, status_qualifier, status, response */

/* one command request's buffers, split at the header and response */
struct vscsi_split {
	u8 lun[8];
	u64 tag;
	u8 task_attr;
	u8 cdb[SCSI_CDB_MAX];
	unsigned int cdb_len;		/* min(cdb_size, SCSI_CDB_MAX) */
	struct iovec *out;		/* data-out: the readable part after the header */
	unsigned int nout;
	size_t out_len;
	struct iovec *resp;		/* the response area: the first resp_len writable bytes */
	unsigned int nresp;
	size_t resp_len;
	struct iovec *in;		/* data-in: the writable part after the response */
	unsigned int nin;
	size_t in_len;
};

/* the sub-range [skip, skip + len) of src, as at most max iovecs in dst */
unsigned int scsi_iov_range(const struct iovec *src, unsigned int n, size_t skip, size_t len,
			    struct iovec *dst, unsigned int max);
/* split a chain (iov[0..nout) readable, iov[nout..nout+nin) writable) for
 * the negotiated cdb_size and sense_size.  store holds at least nout + nin
 * + 2 iovecs.  -EINVAL if the readable part is shorter than the request
 * header or the writable part shorter than the response (a malformed
 * request: it gets a virtio error, not SCSI status) */
int vscsi_split(const struct iovec *iov, unsigned int nout, unsigned int nin, u32 cdb_size,
		u32 sense_size, struct iovec *store, struct vscsi_split *s);
/* decode virtio-scsi's LUN field: 0 and target/lun, or -1 if it does not
 * address a LUN of this bus (bad target) */
int vscsi_lun_decode(const u8 *lun, u8 *target, u16 *lu);

#endif
