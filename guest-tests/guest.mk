# Freestanding guest programs: 32-bit multiboot ELFs with a tiny runtime
# (guest-tests/lib), runnable under dpvm and under QEMU -kernel alike.
GUEST_CC	:= $(CC)
GUEST_CFLAGS	:= -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie \
		   -fno-stack-protector -fno-asynchronous-unwind-tables -mno-sse -mno-mmx \
		   -Wall -Wextra -Werror -Iguest-tests/lib
GUEST_LDFLAGS	:= -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
		   -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments \
		   -Wl,-T,guest-tests/lib/guest.ld
GUEST_LIB_SRCS	:= $(sort $(wildcard guest-tests/lib/*.c guest-tests/lib/*.S))
GUEST_LIB_OBJS	:= $(patsubst guest-tests/%,$(BUILD)/guest-tests/%.o,$(GUEST_LIB_SRCS))
GUEST_SRCS	:= $(sort $(wildcard guest-tests/*.c))
GUEST_BINS	:= $(GUEST_SRCS:guest-tests/%.c=$(BUILD)/guest-tests/%.elf)
GUEST_OBJS	:= $(GUEST_SRCS:guest-tests/%.c=$(BUILD)/guest-tests/%.c.o)

# keep the objects (make would delete them as intermediates and rebuild)
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_OBJS)

$(BUILD)/guest-tests/%.o: guest-tests/%
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/guest-tests/%.elf: $(BUILD)/guest-tests/%.c.o $(GUEST_LIB_OBJS) guest-tests/lib/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJS) -lgcc

-include $(GUEST_LIB_OBJS:.o=.d) $(GUEST_OBJS:.o=.d)

guest-programs: $(GUEST_BINS)
