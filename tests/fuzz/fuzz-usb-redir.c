// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a usbredir client's byte stream into dpvm's
 * remote-client backing (devices/usb-redir.c): libusbredirparser parses
 * it and dpvm's callbacks take the packets, with four transfers in flight
 * and an interrupt endpoint receiving.  Replies to ids dpvm has not sent,
 * lengths beyond a buffer, packets a usb-guest never gets: dropped or
 * refused, never a crash or a leak (the entry aborts if a reply ever
 * overran its buffer).
 *
 *   make fuzz && build/fuzz/fuzz-usb-redir [corpus dir] [-runs=N]
 */
#include "devices/usb.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	usb_redir__fuzz(data, size);
	return 0;
}
