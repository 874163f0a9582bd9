// SPDX-License-Identifier: GPL-2.0
/*
 * Sense data (SPC-4 4.5): fixed format (0x70, 18 bytes) by default, or
 * descriptor format (0x72) when the initiator asks for it (REQUEST SENSE
 * with DESC).  The INFORMATION field carries a failing LBA; the SENSE-KEY
 * SPECIFIC field points at the byte (and bit) of the CDB or parameter list
 * that was wrong, so sg3-utils can say which field it was.
 */
#include "devices/scsi/scsi.h"
#include "devices/virtqueue.h"

#include <stdio.h>
#include <string.h>

unsigned int scsi_sense__build(u8 *buf, unsigned int len, bool desc, u32 sc, bool info_valid,
			       u64 info, int field, bool cd)
{
	u8 s[32] = { 0 };
	/* field: byte << 3 | bit; FIELD_NO_BIT marks "the whole byte" (no BPV) */
	u8 bpv = field >= 0 && !(field & 0x80000) ? 0x08 | (field & 7) : 0;
	unsigned int n;

	if (!desc) {
		s[0] = 0x70 | (info_valid && info <= 0xffffffffULL ? 0x80 : 0);
		s[2] = SC_KEY(sc);
		if (info_valid)
			put_be32(s + 3, (u32)info);
		s[7] = 10;
		s[12] = SC_ASC(sc);
		s[13] = SC_ASCQ(sc);
		if (field >= 0) {
			s[15] = 0x80 | (cd ? 0x40 : 0) | bpv;
			put_be16(s + 16, (u16)(field >> 3));
		}
		n = 18;
	} else {
		s[0] = 0x72;
		s[1] = SC_KEY(sc);
		s[2] = SC_ASC(sc);
		s[3] = SC_ASCQ(sc);
		n = 8;
		if (info_valid) {
			/* information descriptor */
			s[n] = 0x00;
			s[n + 1] = 0x0a;
			s[n + 2] = 0x80;
			put_be64(s + n + 4, info);
			n += 12;
		}
		if (field >= 0) {
			/* sense key specific descriptor */
			s[n] = 0x02;
			s[n + 1] = 0x06;
			s[n + 4] = 0x80 | (cd ? 0x40 : 0) | bpv;
			put_be16(s + n + 5, (u16)(field >> 3));
			n += 8;
		}
		s[7] = n - 8;
	}
	n = MIN(n, len);
	memcpy(buf, s, n);
	return n;
}

u32 scsi_sense__code(const u8 *sense, unsigned int len)
{
	if (len < 1)
		return SC_NONE;
	switch (sense[0] & 0x7f) {
	case 0x70:
	case 0x71:
		if (len < 3)
			return SC_NONE;
		return SC(sense[2] & 0xf, len > 12 ? sense[12] : 0, len > 13 ? sense[13] : 0);
	case 0x72:
	case 0x73:
		if (len < 4)
			return SC_NONE;
		return SC(sense[1] & 0xf, sense[2], sense[3]);
	}
	return SC_NONE;
}

const char *scsi_sense__name(u32 sc, char *buf, size_t len)
{
	static const char *const keys[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
		"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK",
		"VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND", "(reserved)",
		"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};

	snprintf(buf, len, "%s (%02x/%02x)", keys[SC_KEY(sc) & 15], SC_ASC(sc), SC_ASCQ(sc));
	return buf;
}

void scsi_req__good(struct scsi_req *r)
{
	r->status = SAM_STAT_GOOD;
	r->sense_len = 0;
}

static void check(struct scsi_req *r, u32 sc, bool info_valid, u64 info, int field, bool cd)
{
	r->status = SAM_STAT_CHECK_CONDITION;
	r->sense_len = scsi_sense__build(r->sense, sizeof(r->sense), false, sc, info_valid, info,
					 field, cd);
}

void scsi_req__check(struct scsi_req *r, u32 sc)
{
	check(r, sc, false, 0, SENSE_NO_FIELD, false);
}

void scsi_req__check_info(struct scsi_req *r, u32 sc, u64 info)
{
	check(r, sc, true, info, SENSE_NO_FIELD, false);
}

static int field_ptr(unsigned int byte, int bit)
{
	/* bit < 0: the whole byte (no BPV); 0x80000 marks it */
	return bit < 0 ? (int)((byte & 0xffff) << 3 | 0x80000) : (int)((byte & 0xffff) << 3 | (bit & 7));
}

void scsi_req__bad_field(struct scsi_req *r, unsigned int byte, int bit)
{
	check(r, SC_INVALID_FIELD_CDB, false, 0, field_ptr(byte, bit), true);
}

void scsi_req__bad_param(struct scsi_req *r, unsigned int byte, int bit)
{
	check(r, SC_INVALID_FIELD_PARAM, false, 0, field_ptr(byte, bit), false);
}

void scsi_req__data_in(struct scsi_req *r, const void *buf, size_t len, size_t alloc)
{
	len = MIN(len, alloc);
	r->in_done = buf_to_iov(r->in, r->nin, 0, buf, MIN(len, r->in_len));
}

size_t scsi_req__data_out(struct scsi_req *r, void *buf, size_t len)
{
	size_t n = iov_to_buf(r->out, r->nout, 0, buf, MIN(len, r->out_len));

	r->out_done = MAX(r->out_done, n);
	return n;
}
