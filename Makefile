# dpvm: one non-recursive Makefile.
#
#   make                 build ./dpvm
#   make check           all tests (unit, guest programs on KVM, Linux guests in the rig)
#   make bench           benchmarks against QEMU (not part of check)
#   make guest-image     the default Linux guest (kernel + initramfs) in build/guest/
#   make rig             the nested test rig's inner-host image in build/rig/
#   make run [RIG=1]     boot the default guest (RIG=1: inside the rig)
#   make install         PREFIX=/usr/local DESTDIR=

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= /etc/systemd/system
CC		?= gcc
PKG_CONFIG	?= pkg-config
BUILD		:= build
VERSION		:= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PKGS		:= json-c libvncserver liburing libusb-1.0 libusbredirparser-0.5 libseccomp
CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
		   -D_GNU_SOURCE -I. \
		   $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS		+= -lpthread $(shell $(PKG_CONFIG) --libs $(PKGS))

SRCS		:= $(sort $(wildcard vmm/*.c devices/*.c devices/scsi/*.c passthru/*.c))
OBJS		:= $(SRCS:%.c=$(BUILD)/obj/%.o)
LIB_OBJS	:= $(filter-out $(BUILD)/obj/vmm/main.o,$(OBJS))

all: dpvm

dpvm: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d)

$(BUILD)/obj/vmm/main.o: CFLAGS += -DDPVM_VERSION='"$(VERSION)"'

# ---- host-side unit tests (cmocka): tests/test-*.c, each linked with every
# object but main.o, so a test can reach any non-static function
UNIT_SRCS	:= $(sort $(wildcard tests/test-*.c))
UNIT_BINS	:= $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

-include $(UNIT_BINS:=.d)

unit-tests: $(UNIT_BINS)

# ---- libFuzzer targets (clang): every tests/fuzz/fuzz-*.c, linked with every
# object but main.o rebuilt with ASan and UBSan, into build/fuzz/ (make fuzz)
FUZZ_CC		?= clang
FUZZ_CFLAGS	:= -g -O1 -std=gnu11 -D_GNU_SOURCE -I. $(shell $(PKG_CONFIG) --cflags $(PKGS)) \
		   -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS	:= $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS	:= $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJS	:= $(LIB_OBJS:$(BUILD)/obj/%=$(BUILD)/fuzz/obj/%)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS) -latomic

fuzz: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_OBJS)

# ---- freestanding guest programs (multiboot ELF, 32-bit)
include guest-tests/guest.mk

check: dpvm unit-tests guest-programs
	scripts/check

bench: dpvm guest-programs
	scripts/bench

guest-image:
	scripts/guest-image

rig: dpvm guest-image
	scripts/rig build

run: dpvm guest-image
	scripts/run-default $(if $(RIG),--rig)

install: dpvm
	install -D -m 0755 dpvm $(DESTDIR)$(BINDIR)/dpvm
	install -D -m 0644 docs/dpvm.1 $(DESTDIR)$(MANDIR)/man1/dpvm.1
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/bin/dpvm|$(BINDIR)/dpvm|' scripts/dpvm-passthru.service \
		>$(DESTDIR)$(UNITDIR)/dpvm-passthru.service

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/guest-tests $(BUILD)/fuzz dpvm

.PHONY: all check bench guest-image rig run install clean unit-tests guest-programs fuzz
.DELETE_ON_ERROR:
