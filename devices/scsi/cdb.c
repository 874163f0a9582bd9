// SPDX-License-Identifier: GPL-2.0
/*
 * CDB decoding: the length of a command descriptor block from its opcode's
 * group (SPC-4 4.2.5), and for the opcodes dpvm knows, the direction and
 * length of the data transfer, the LBA and the number of blocks.  The
 * controller uses the transfer to check the guest's buffers before anything
 * runs; the emulations use the rest.  Everything is read from a copy of the
 * CDB and bounded by the bytes the initiator gave.
 */
#include "devices/scsi/scsi.h"

#include <errno.h>
#include <string.h>

unsigned int scsi_cdb__len(const u8 *cdb, unsigned int avail)
{
	if (!avail)
		return 0;
	switch (cdb[0] >> 5) {
	case 0: return 6;
	case 1: case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	case 3:
		/* 0x7f: variable length, 8 + ADDITIONAL CDB LENGTH (a multiple of 4) */
		if (cdb[0] == OP_VARIABLE_LENGTH && avail >= 8 && !(cdb[7] & 3))
			return 8 + cdb[7];
		return 0;
	default:
		return 0;	/* 6, 7: vendor specific, length unknown */
	}
}

static void set_in(struct scsi_cdb *c, u64 n) { c->dir = n ? SCSI_DIR_IN : SCSI_DIR_NONE; c->xfer = n; }
static void set_out(struct scsi_cdb *c, u64 n) { c->dir = n ? SCSI_DIR_OUT : SCSI_DIR_NONE; c->xfer = n; }

static void set_blocks(struct scsi_cdb *c, enum scsi_dir dir, u64 lba, u32 n)
{
	c->rw = true;
	c->lba = lba;
	c->nblocks = n;
	c->in_blocks = true;
	c->xfer = n;
	c->dir = n ? dir : SCSI_DIR_NONE;
}

/* READ/WRITE/VERIFY (10): flags byte 1, LBA 2..5, length 7..8 */
static void rw10(struct scsi_cdb *c, const u8 *cdb, enum scsi_dir dir)
{
	set_blocks(c, dir, get_be32(cdb + 2), get_be16(cdb + 7));
	c->protect = cdb[1] >> 5;
	c->dpo = cdb[1] & 0x10;
	c->fua = cdb[1] & 0x08;
}

static void rw12(struct scsi_cdb *c, const u8 *cdb, enum scsi_dir dir)
{
	set_blocks(c, dir, get_be32(cdb + 2), get_be32(cdb + 6));
	c->protect = cdb[1] >> 5;
	c->dpo = cdb[1] & 0x10;
	c->fua = cdb[1] & 0x08;
}

static void rw16(struct scsi_cdb *c, const u8 *cdb, enum scsi_dir dir)
{
	set_blocks(c, dir, get_be64(cdb + 2), get_be32(cdb + 10));
	c->protect = cdb[1] >> 5;
	c->dpo = cdb[1] & 0x10;
	c->fua = cdb[1] & 0x08;
}

/* VERIFY and WRITE AND VERIFY: BYTCHK decides what data-out holds */
static void verify(struct scsi_cdb *c, const u8 *cdb)
{
	u8 bytchk = (cdb[1] >> 1) & 3;

	if (bytchk == 0) {
		/* check the medium only: no data */
		c->dir = SCSI_DIR_NONE;
		c->xfer = 0;
	} else if (bytchk == 3) {
		/* one block, compared with every block of the range */
		c->dir = c->nblocks ? SCSI_DIR_OUT : SCSI_DIR_NONE;
		c->xfer = c->nblocks ? 1 : 0;
	}
	/* 1: nblocks blocks out (as decoded); 2: reserved, left to the command */
}

int scsi_cdb__decode(const u8 *cdb, unsigned int avail, struct scsi_cdb *c)
{
	unsigned int len = scsi_cdb__len(cdb, avail);

	memset(c, 0, sizeof(*c));
	if (!avail)
		return -EINVAL;
	c->opcode = cdb[0];
	if (!len || len > avail)
		return -EINVAL;
	c->len = len;
	c->known = true;
	switch (cdb[0]) {
	case OP_TEST_UNIT_READY:
	case OP_START_STOP_UNIT:
	case OP_PREVENT_ALLOW:
	case OP_RESERVE_6:
	case OP_RELEASE_6:
	case OP_SET_CD_SPEED:
		c->dir = SCSI_DIR_NONE;
		break;
	case OP_REQUEST_SENSE:
	case OP_MODE_SENSE_6:
		set_in(c, cdb[4]);
		break;
	case OP_INQUIRY:
		set_in(c, get_be16(cdb + 3));
		break;
	case OP_MODE_SELECT_6:
		set_out(c, cdb[4]);
		break;
	case OP_SEND_DIAGNOSTIC:
		set_out(c, get_be16(cdb + 3));
		break;
	case OP_READ_6:
	case OP_WRITE_6:
		set_blocks(c, cdb[0] == OP_READ_6 ? SCSI_DIR_IN : SCSI_DIR_OUT,
			   (u32)(cdb[1] & 0x1f) << 16 | get_be16(cdb + 2), cdb[4] ? cdb[4] : 256);
		break;
	case OP_READ_CAPACITY_10:
		set_in(c, 8);
		c->lba = get_be32(cdb + 2);
		break;
	case OP_READ_10:
		rw10(c, cdb, SCSI_DIR_IN);
		break;
	case OP_WRITE_10:
	case OP_WRITE_VERIFY_10:
		rw10(c, cdb, SCSI_DIR_OUT);
		if (cdb[0] == OP_WRITE_VERIFY_10)
			c->fua = true;	/* written, then verified: on the medium */
		break;
	case OP_VERIFY_10:
		rw10(c, cdb, SCSI_DIR_OUT);
		verify(c, cdb);
		break;
	case OP_SYNCHRONIZE_CACHE_10:
		set_blocks(c, SCSI_DIR_NONE, get_be32(cdb + 2), get_be16(cdb + 7));
		c->dir = SCSI_DIR_NONE;
		c->xfer = 0;
		break;
	case OP_WRITE_BUFFER:
		set_out(c, get_be24(cdb + 6));
		break;
	case OP_READ_BUFFER:
		set_in(c, get_be24(cdb + 6));
		break;
	case OP_WRITE_SAME_10:
		set_blocks(c, SCSI_DIR_OUT, get_be32(cdb + 2), get_be16(cdb + 7));
		c->protect = cdb[1] >> 5;
		c->dir = SCSI_DIR_OUT;	/* one block, even for length 0 (to the end) */
		c->xfer = 1;
		break;
	case OP_UNMAP:
	case OP_READ_TOC:
	case OP_GET_CONFIGURATION:
	case OP_GET_EVENT_STATUS:
	case OP_LOG_SENSE:
	case OP_READ_DISC_INFO:
	case OP_READ_TRACK_INFO:
	case OP_MODE_SENSE_10:
	case OP_READ_FORMAT_CAPACITIES:
		set_in(c, get_be16(cdb + 7));
		if (cdb[0] == OP_UNMAP)
			set_out(c, get_be16(cdb + 7));
		break;
	case OP_MODE_SELECT_10:
		set_out(c, get_be16(cdb + 7));
		break;
	case OP_READ_16:
		rw16(c, cdb, SCSI_DIR_IN);
		break;
	case OP_WRITE_16:
	case OP_WRITE_VERIFY_16:
		rw16(c, cdb, SCSI_DIR_OUT);
		if (cdb[0] == OP_WRITE_VERIFY_16)
			c->fua = true;
		break;
	case OP_VERIFY_16:
		rw16(c, cdb, SCSI_DIR_OUT);
		verify(c, cdb);
		break;
	case OP_SYNCHRONIZE_CACHE_16:
		set_blocks(c, SCSI_DIR_NONE, get_be64(cdb + 2), get_be32(cdb + 10));
		c->dir = SCSI_DIR_NONE;
		c->xfer = 0;
		break;
	case OP_WRITE_SAME_16:
		set_blocks(c, SCSI_DIR_OUT, get_be64(cdb + 2), get_be32(cdb + 10));
		c->protect = cdb[1] >> 5;
		/* NDOB: no data-out buffer, the block is zeros */
		c->dir = (cdb[1] & 1) ? SCSI_DIR_NONE : SCSI_DIR_OUT;
		c->xfer = (cdb[1] & 1) ? 0 : 1;
		break;
	case OP_SERVICE_ACTION_IN_16:
		c->sa = cdb[1] & 0x1f;
		set_in(c, get_be32(cdb + 10));
		if (c->sa == SAI_READ_CAPACITY_16)
			c->lba = get_be64(cdb + 2);
		break;
	case OP_REPORT_LUNS:
		set_in(c, get_be32(cdb + 6));
		break;
	case OP_MAINTENANCE_IN:
	case OP_READ_MEDIA_SERIAL:
		c->sa = cdb[1] & 0x1f;
		set_in(c, get_be32(cdb + 6));
		break;
	case OP_READ_12:
		rw12(c, cdb, SCSI_DIR_IN);
		break;
	case OP_WRITE_12:
	case OP_WRITE_VERIFY_12:
		rw12(c, cdb, SCSI_DIR_OUT);
		if (cdb[0] == OP_WRITE_VERIFY_12)
			c->fua = true;
		break;
	case OP_VERIFY_12:
		rw12(c, cdb, SCSI_DIR_OUT);
		verify(c, cdb);
		break;
	case OP_READ_DVD_STRUCTURE:
	case OP_MECHANISM_STATUS:
		set_in(c, get_be16(cdb + 8));
		break;
	case OP_SET_STREAMING:
		set_out(c, get_be16(cdb + 9));
		break;
	default:
		c->known = false;
		break;
	}
	return 0;
}

u64 scsi_cdb__xfer_bytes(const struct scsi_cdb *c, u32 block_size)
{
	if (!c->in_blocks)
		return c->xfer;
	/* xfer <= 2^32 - 1 and block_size < 2^32: the product fits in 64 bits */
	return c->xfer * (u64)block_size;
}
