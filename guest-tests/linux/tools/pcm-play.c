// SPDX-License-Identifier: GPL-2.0
/*
 * pcm-play: play a 1 kHz square wave on an ALSA playback device through the
 * kernel's PCM ioctls (the default guest has no alsa-lib), for the USB
 * isochronous test: S16_LE, 2 channels, 48000 Hz.
 *
 *   pcm-play /dev/snd/pcmC0D0p FRAMES
 *
 * Writes FRAMES frames (each half period is 24 frames of +0x2000 or
 * -0x2000 on both channels), waits until they are played (drain), and
 * prints "pcm-play: N frames in S s, X xruns, buffer B, period P".  Exits 0
 * when every frame was written and drained; gives up after 300 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <sound/asound.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define RATE		48000
#define CHANNELS	2
#define HALF_PERIOD	24		/* frames: 1 kHz at 48 kHz */
#define CHUNK		1024		/* frames per write */

static struct snd_mask *mask(struct snd_pcm_hw_params *p, int param)
{
	return &p->masks[param - SNDRV_PCM_HW_PARAM_FIRST_MASK];
}

static struct snd_interval *interval(struct snd_pcm_hw_params *p, int param)
{
	return &p->intervals[param - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];
}

static void mask_only(struct snd_pcm_hw_params *p, int param, unsigned int bit)
{
	struct snd_mask *m = mask(p, param);

	memset(m, 0, sizeof(*m));
	m->bits[bit >> 5] = 1u << (bit & 31);
}

static void range(struct snd_pcm_hw_params *p, int param, unsigned int min, unsigned int max)
{
	struct snd_interval *i = interval(p, param);

	memset(i, 0, sizeof(*i));
	i->min = min;
	i->max = max;
	i->integer = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct snd_pcm_hw_params hw;
	static int16_t buf[CHUNK * CHANNELS];
	unsigned long frames, done = 0, phase = 0;
	unsigned int xruns = 0;
	double t0;
	int fd;

	if (argc != 3 || !(frames = strtoul(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: pcm-play /dev/snd/pcmCxDyp FRAMES\n");
		return 2;
	}
	alarm(300);
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "pcm-play: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(&hw, 0, sizeof(hw));
	for (int m = SNDRV_PCM_HW_PARAM_FIRST_MASK; m <= SNDRV_PCM_HW_PARAM_LAST_MASK; m++)
		memset(mask(&hw, m), 0xff, sizeof(struct snd_mask));
	for (int i = SNDRV_PCM_HW_PARAM_FIRST_INTERVAL; i <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL; i++)
		range(&hw, i, 0, ~0u);
	mask_only(&hw, SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
	mask_only(&hw, SNDRV_PCM_HW_PARAM_FORMAT, SNDRV_PCM_FORMAT_S16_LE);
	mask_only(&hw, SNDRV_PCM_HW_PARAM_SUBFORMAT, SNDRV_PCM_SUBFORMAT_STD);
	range(&hw, SNDRV_PCM_HW_PARAM_CHANNELS, CHANNELS, CHANNELS);
	range(&hw, SNDRV_PCM_HW_PARAM_RATE, RATE, RATE);
	range(&hw, SNDRV_PCM_HW_PARAM_SAMPLE_BITS, 16, 16);
	range(&hw, SNDRV_PCM_HW_PARAM_FRAME_BITS, 16 * CHANNELS, 16 * CHANNELS);
	range(&hw, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, 256, 4096);
	range(&hw, SNDRV_PCM_HW_PARAM_BUFFER_SIZE, 1024, 16384);
	hw.rmask = ~0u;
	hw.info = ~0u;
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &hw) < 0) {
		fprintf(stderr, "pcm-play: %s: no S16_LE, %d channels, %d Hz: %s\n", argv[1],
			CHANNELS, RATE, strerror(errno));
		return 1;
	}
	if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
		fprintf(stderr, "pcm-play: prepare: %s\n", strerror(errno));
		return 1;
	}
	t0 = now();
	while (done < frames) {
		struct snd_xferi x = { .buf = buf, .frames = frames - done < CHUNK ? frames - done : CHUNK };

		for (unsigned long f = 0; f < x.frames; f++) {
			int16_t v = ((phase + f) / HALF_PERIOD) & 1 ? -0x2000 : 0x2000;

			buf[2 * f] = buf[2 * f + 1] = v;
		}
		if (ioctl(fd, SNDRV_PCM_IOCTL_WRITEI_FRAMES, &x) < 0) {
			if (errno == EPIPE) {	/* an underrun: start again */
				xruns++;
				if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) == 0)
					continue;
			}
			fprintf(stderr, "pcm-play: write after %lu frames: %s\n", done, strerror(errno));
			return 1;
		}
		done += x.result;
		phase += x.result;
	}
	if (ioctl(fd, SNDRV_PCM_IOCTL_DRAIN) < 0) {
		fprintf(stderr, "pcm-play: drain: %s\n", strerror(errno));
		return 1;
	}
	printf("pcm-play: %lu frames in %.2f s, %u xruns, buffer %u, period %u\n", done,
	       now() - t0, xruns, interval(&hw, SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min,
	       interval(&hw, SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min);
	close(fd);
	return 0;
}
