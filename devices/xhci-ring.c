// SPDX-License-Identifier: GPL-2.0
/*
 * xHCI ring walking (xHCI 1.2, 4.9): the consumer side of command and
 * transfer rings.  The guest owns the memory and may change it at any
 * time, so every TRB is copied out once, its cycle bit read first (the
 * guest writes it last), and nothing that follows trusts what the guest
 * wrote: a ring that leaves RAM, a chain of link TRBs (a loop), a TD
 * longer than the caller's limit.
 */
#include "devices/xhci.h"

#include <string.h>

enum xhci_fetch xhci_ring__fetch(const struct guest_mem *mem, struct xhci_ring *r,
				 struct xhci_td_trb *out)
{
	for (unsigned int links = 0;; links++) {
		const struct xhci_trb *t;
		struct xhci_trb trb;
		u32 ctrl;

		if (links > XHCI_MAX_LINKS)
			return XHCI_FETCH_LOOP;
		if (r->deq & 0xf)
			return XHCI_FETCH_FAULT;
		t = mem__gpa_to_hva(mem, r->deq, sizeof(*t));
		if (!t)
			return XHCI_FETCH_FAULT;
		/* the cycle bit first: the rest is valid only once it flipped */
		ctrl = __atomic_load_n(&t->control, __ATOMIC_ACQUIRE);
		if (!!(ctrl & TRB_C) != r->ccs)
			return XHCI_FETCH_EMPTY;
		memcpy(&trb, t, sizeof(trb));
		trb.control = ctrl;
		if (TRB_TYPE(ctrl) == TRB_LINK) {
			if (ctrl & TRB_TC)
				r->ccs = !r->ccs;
			r->deq = trb.param & ~0xfULL;
			continue;
		}
		out->addr = r->deq;
		out->trb = trb;
		r->deq += sizeof(trb);
		return XHCI_FETCH_OK;
	}
}

int xhci_ring__gather_td(const struct guest_mem *mem, struct xhci_ring *r, bool control,
			 struct xhci_td_trb *td, unsigned int max, u64 *bad)
{
	struct xhci_ring cur = *r;
	unsigned int n = 0;

	for (;;) {
		enum xhci_fetch f;
		unsigned int type;

		if (n == max) {
			*bad = td[0].addr;
			return XHCI_TD_TOO_LONG;
		}
		f = xhci_ring__fetch(mem, &cur, &td[n]);
		if (f == XHCI_FETCH_EMPTY)
			return 0;
		if (f != XHCI_FETCH_OK) {
			*bad = cur.deq;
			return f;
		}
		type = TRB_TYPE(td[n].trb.control);
		n++;
		if (control) {
			/* Setup [Data Normal...] [Event Data] Status */
			if (n == 1 && type != TRB_SETUP)
				break;		/* a lone TRB: the caller rejects it */
			if (n > 1 && type == TRB_SETUP) {
				*bad = td[n - 1].addr;
				return XHCI_TD_MALFORMED;
			}
			if (type == TRB_STATUS)
				break;
		} else if (!(td[n - 1].trb.control & TRB_CH)) {
			break;
		}
	}
	*r = cur;
	return n;
}
