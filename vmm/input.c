// SPDX-License-Identifier: GPL-2.0
/*
 * The input layer (see vmm/input.h) and the management commands that inject
 * input: sendkey and type.
 */
#include "vmm/api.h"
#include "vmm/input.h"
#include "vmm/keymap.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TYPE_MAX_TEXT		4096	/* bytes of text per `type` */
#define SCRIPT_QUEUE_SIZE	32768	/* events (a character is up to 4) */
#define SCRIPT_ROOM		(KEYMAP_MAX_SEQ + 1) /* bytes a device must have free */
#define SCRIPT_STALL_MS		5000	/* a guest that reads nothing this long */
#define SENDKEY_MAX_KEYS	16
#define SENDKEY_MAX_HOLD_MS	10000

static pthread_mutex_t consumers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct input_consumer *consumers;
static u32 leds;

void input__register(struct input_consumer *c)
{
	pthread_mutex_lock(&consumers_lock);
	c->next = consumers;
	consumers = c;
	pthread_mutex_unlock(&consumers_lock);
}

void input__unregister(struct input_consumer *c)
{
	pthread_mutex_lock(&consumers_lock);
	for (struct input_consumer **p = &consumers; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&consumers_lock);
}

static bool src_held(const struct input_source *src, unsigned int key)
{
	return src->held[key / 8] & (1u << (key % 8));
}

void input__key(struct input_source *src, unsigned int key, bool down)
{
	if (!key || key >= INPUT_NR_KEYS)
		return;
	if (down)
		src->held[key / 8] |= 1u << (key % 8);
	else
		src->held[key / 8] &= ~(1u << (key % 8));
	pthread_mutex_lock(&consumers_lock);
	for (struct input_consumer *c = consumers; c; c = c->next) {
		if (c->key && !c->key(c->opaque, key, down))
			pr_warn_guest("%s: the guest is not reading its keyboard; %s %s from %s dropped",
				      c->name, keymap__name(key) ? keymap__name(key) : "a key",
				      down ? "press" : "release", src->name);
	}
	pthread_mutex_unlock(&consumers_lock);
}

void input__pointer(struct input_source *src, const struct input_pointer *p)
{
	src->buttons = p->buttons;
	pthread_mutex_lock(&consumers_lock);
	for (struct input_consumer *c = consumers; c; c = c->next)
		if (c->pointer)
			c->pointer(c->opaque, p);
	pthread_mutex_unlock(&consumers_lock);
}

void input__release_all(struct input_source *src)
{
	for (unsigned int key = 1; key < INPUT_NR_KEYS; key++)
		if (src_held(src, key))
			input__key(src, key, false);
	if (src->buttons) {
		struct input_pointer p = { .absolute = false, .buttons = 0 };

		input__pointer(src, &p);
	}
}

u32 input__leds(void)
{
	return __atomic_load_n(&leds, __ATOMIC_ACQUIRE);
}

void input__set_leds(u32 l)
{
	__atomic_store_n(&leds, l, __ATOMIC_RELEASE);
}

/* ---- scripted input: a queue fed to the consumers by a thread ---- */

struct script_event {
	u16 key;
	bool down;
	u16 delay_ms;		/* wait after this event (sendkey's hold time) */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* events queued, or stop; and queue drained */
	struct script_event *q;
	unsigned int head, count;
	bool running, stop;
	pthread_t thread;
	struct input_source src;
	u64 dropped;
} script = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.src = { .name = "dpvm ctl" },
};

static unsigned int min_room(void)
{
	unsigned int room = ~0u;

	pthread_mutex_lock(&consumers_lock);
	for (struct input_consumer *c = consumers; c; c = c->next)
		if (c->key_room)
			room = MIN(room, c->key_room(c->opaque));
	pthread_mutex_unlock(&consumers_lock);
	return room;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *script_thread(void *arg __unused)
{
	pthread_mutex_lock(&script.lock);
	while (!script.stop) {
		struct script_event ev;
		u64 waited = 0;

		if (!script.count) {
			pthread_cond_broadcast(&script.cond);
			pthread_cond_wait(&script.cond, &script.lock);
			continue;
		}
		ev = script.q[script.head];
		pthread_mutex_unlock(&script.lock);

		/* wait until every device has room for the longest sequence */
		while (min_room() < SCRIPT_ROOM && waited < SCRIPT_STALL_MS &&
		       !__atomic_load_n(&script.stop, __ATOMIC_ACQUIRE)) {
			sleep_ms(2);
			waited += 2;
		}
		pthread_mutex_lock(&script.lock);
		if (script.stop)
			break;
		if (waited >= SCRIPT_STALL_MS) {
			pr_warn("input: the guest has read no keyboard input for %d s; %u queued key "
				"events from sendkey/type dropped", SCRIPT_STALL_MS / 1000, script.count);
			script.dropped += script.count;
			script.head = script.count = 0;
			pthread_mutex_unlock(&script.lock);
			input__release_all(&script.src);
			pthread_mutex_lock(&script.lock);
			continue;
		}
		if (!script.count)	/* flushed while we waited */
			continue;
		script.head = (script.head + 1) % SCRIPT_QUEUE_SIZE;
		script.count--;
		pthread_mutex_unlock(&script.lock);
		input__key(&script.src, ev.key, ev.down);
		if (ev.delay_ms)
			sleep_ms(ev.delay_ms);
		pthread_mutex_lock(&script.lock);
	}
	pthread_mutex_unlock(&script.lock);
	return NULL;
}

/* queue events whole or not at all; called with script.lock held */
static int script_queue(const struct script_event *ev, unsigned int n, char **err)
{
	if (!script.q)
		script.q = xzalloc(SCRIPT_QUEUE_SIZE * sizeof(*script.q));
	if (n > SCRIPT_QUEUE_SIZE - script.count)
		return api__error(err, "the input queue is full (%u key events waiting for the guest "
				  "to read them); wait and retry", script.count);
	if (!script.running) {
		script.stop = false;
		if (pthread_create(&script.thread, NULL, script_thread, NULL))
			return api__error(err, "cannot start the input thread: %s", strerror(errno));
		script.running = true;
	}
	for (unsigned int i = 0; i < n; i++)
		script.q[(script.head + script.count + i) % SCRIPT_QUEUE_SIZE] = ev[i];
	script.count += n;
	pthread_cond_broadcast(&script.cond);
	return 0;
}

int input__type(const char *text, size_t len, char **err)
{
	struct script_event *ev;
	unsigned int n = 0;
	int ret;

	if (len > TYPE_MAX_TEXT)
		return api__error(err, "type: the text has %zu bytes, at most %d can be typed at once; "
				  "split it", len, TYPE_MAX_TEXT);
	ev = xzalloc(4 * len * sizeof(*ev) + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned int key;
		bool shift;

		if (!keymap__from_char((unsigned char)text[i], &key, &shift)) {
			free(ev);
			return api__error(err, "type: the character %#x at offset %zu cannot be typed on a "
					  "US keyboard; give printable ASCII, \\n, \\t", (unsigned char)text[i], i);
		}
		if (shift)
			ev[n++] = (struct script_event){ KEY_LEFTSHIFT, true, 0 };
		ev[n++] = (struct script_event){ key, true, 0 };
		ev[n++] = (struct script_event){ key, false, 0 };
		if (shift)
			ev[n++] = (struct script_event){ KEY_LEFTSHIFT, false, 0 };
	}
	pthread_mutex_lock(&script.lock);
	ret = script_queue(ev, n, err);
	pthread_mutex_unlock(&script.lock);
	free(ev);
	return ret;
}

int input__sendkey(const unsigned int *keys, unsigned int n, unsigned int hold_ms, char **err)
{
	struct script_event ev[2 * SENDKEY_MAX_KEYS];
	int ret;

	if (!n || n > SENDKEY_MAX_KEYS)
		return api__error(err, "sendkey: give 1 to %d keys", SENDKEY_MAX_KEYS);
	if (hold_ms > SENDKEY_MAX_HOLD_MS)
		return api__error(err, "sendkey: hold time %u ms is longer than %d ms", hold_ms,
				  SENDKEY_MAX_HOLD_MS);
	for (unsigned int i = 0; i < n; i++)
		ev[i] = (struct script_event){ keys[i], true, i == n - 1 ? hold_ms : 0 };
	for (unsigned int i = 0; i < n; i++)
		ev[n + i] = (struct script_event){ keys[n - 1 - i], false, 0 };
	pthread_mutex_lock(&script.lock);
	ret = script_queue(ev, 2 * n, err);
	pthread_mutex_unlock(&script.lock);
	return ret;
}

unsigned int input__pending(void)
{
	unsigned int n;

	pthread_mutex_lock(&script.lock);
	n = script.count;
	pthread_mutex_unlock(&script.lock);
	return n;
}

bool input__drain(unsigned int timeout_ms)
{
	u64 end = time_ns() + timeout_ms * 1000000ULL;
	bool empty;

	pthread_mutex_lock(&script.lock);
	while (script.count && time_ns() < end) {
		struct timespec ts;

		/* the thread signals when the queue runs empty; look every 10 ms */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&script.cond, &script.lock, &ts);
	}
	empty = !script.count;
	pthread_mutex_unlock(&script.lock);
	return empty;
}

void input__flush(void)
{
	pthread_mutex_lock(&script.lock);
	script.dropped += script.count;
	script.head = script.count = 0;
	pthread_mutex_unlock(&script.lock);
}

static int input__late_init(struct vm *vm __unused)
{
	return 0;
}

static void input__late_exit(struct vm *vm __unused)
{
	pthread_mutex_lock(&script.lock);
	script.stop = true;
	script.head = script.count = 0;
	pthread_cond_broadcast(&script.cond);
	pthread_mutex_unlock(&script.lock);
	if (script.running)
		pthread_join(script.thread, NULL);
	script.running = false;
	free(script.q);
	script.q = NULL;
	memset(script.src.held, 0, sizeof(script.src.held));
}

/* a guest reset: typing into the new boot would be typing into the firmware */
static void input__late_reset(struct vm *vm __unused)
{
	input__flush();
}
vm_initcall(INIT_LATE, input__late_init, input__late_exit, input__late_reset);

/* ---- management commands ---- */

/* the words of "args" (from `dpvm ctl NAME CMD WORD...`), or NULL */
static json_object *arg_words(json_object *args)
{
	json_object *w;

	if (args && json_object_object_get_ex(args, "args", &w) &&
	    json_object_is_type(w, json_type_array))
		return w;
	return NULL;
}

/* the only keys a command takes; an error names the stray one */
static int check_args(json_object *args, const char *cmd, const char *const *allowed,
		      const char *hint, char **err)
{
	if (!args)
		return 0;
	if (!json_object_is_type(args, json_type_object))
		return api__error(err, "%s: arguments must be an object", cmd);
	json_object_object_foreach(args, k, v) {
		bool ok = false;

		(void)v;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(k, *a);
		if (!ok)
			return api__error(err, "%s: unknown argument '%s'; %s", cmd, k, hint);
	}
	return 0;
}

static int cmd_sendkey(struct vm *vm __unused, json_object *args, json_object **ret, char **err)
{
	static const char *const allowed[] = { "args", "keys", "hold-ms", NULL };
	json_object *words = arg_words(args), *v;
	unsigned int keys[SENDKEY_MAX_KEYS], hold = 100;
	const char *combo = NULL, *bad;
	size_t badlen;
	int n;

	if (check_args(args, "sendkey", allowed, "give keys=ctrl-alt-delete [hold-ms=N]", err))
		return -1;
	if (args && json_object_object_get_ex(args, "keys", &v)) {
		if (words)
			return api__error(err, "sendkey: give the keys once (keys=... or a word)");
		combo = json_object_get_string(v);
	} else if (words && json_object_array_length(words) > 2) {
		return api__error(err, "sendkey: too many words; give KEYS [HOLD-MS], e.g. "
				  "ctrl-alt-delete 200");
	} else if (words && json_object_array_length(words) > 0) {
		combo = json_object_get_string(json_object_array_get_idx(words, 0));
	}
	if (!combo || !*combo)
		return api__error(err, "sendkey: no keys; give them as QEMU names joined by '-', "
				  "e.g. ctrl-alt-delete");
	if (args && json_object_object_get_ex(args, "hold-ms", &v)) {
		u64 h;

		if (parse_u64(json_object_get_string(v), 0, SENDKEY_MAX_HOLD_MS, &h))
			return api__error(err, "sendkey: hold-ms=%s is not 0..%d milliseconds",
					  json_object_get_string(v), SENDKEY_MAX_HOLD_MS);
		hold = h;
	} else if (words && json_object_array_length(words) == 2) {
		const char *s = json_object_get_string(json_object_array_get_idx(words, 1));
		u64 h;

		if (parse_u64(s, 0, SENDKEY_MAX_HOLD_MS, &h))
			return api__error(err, "sendkey: '%s' is not a hold time of 0..%d milliseconds",
					  s, SENDKEY_MAX_HOLD_MS);
		hold = h;
	}
	n = keymap__parse_combo(combo, keys, SENDKEY_MAX_KEYS, &bad, &badlen);
	if (n < 0) {
		if (!badlen)
			return api__error(err, "sendkey: '%s': at most %d keys, joined by single '-'",
					  combo, SENDKEY_MAX_KEYS);
		return api__error(err, "sendkey: '%.*s' is not a key name; use QEMU's names such as "
				  "ctrl, alt, shift, delete, ret, spc, f1, kp_add, a (see docs/console.md)",
				  (int)MIN(badlen, 64), bad);
	}
	if (input__sendkey(keys, n, hold, err))
		return -1;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "keys", json_object_new_int(n));
	return 0;
}

/* C escapes \n \t \\ in text typed from a shell */
static char *unescape(const char *s, size_t *len)
{
	char *out = xzalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*len = o - out;
	return out;
}

static int cmd_type(struct vm *vm __unused, json_object *args, json_object **ret, char **err)
{
	static const char *const allowed[] = { "args", "text", NULL };
	json_object *words = arg_words(args), *v;
	char *joined = NULL, *text;
	size_t len = 0;
	int r;

	if (check_args(args, "type", allowed,
		       "a text that contains '=' must be given as text='...'", err))
		return -1;
	if (args && json_object_object_get_ex(args, "text", &v)) {
		if (words)
			return api__error(err, "type: give the text once (text=... or words)");
		joined = xstrdup(json_object_get_string(v));
	} else if (words) {
		size_t cap = 1;

		for (size_t i = 0; i < json_object_array_length(words); i++)
			cap += strlen(json_object_get_string(json_object_array_get_idx(words, i))) + 1;
		joined = xzalloc(cap);
		for (size_t i = 0; i < json_object_array_length(words); i++) {
			if (i)
				strcat(joined, " ");
			strcat(joined, json_object_get_string(json_object_array_get_idx(words, i)));
		}
	}
	if (!joined || !*joined) {
		free(joined);
		return api__error(err, "type: no text; give it, e.g. type 'ls -l\\n'");
	}
	text = unescape(joined, &len);
	free(joined);
	r = input__type(text, len, err);
	free(text);
	if (r)
		return -1;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "characters", json_object_new_int64(len));
	json_object_object_add(*ret, "queued-events", json_object_new_int(input__pending()));
	return 0;
}

static struct api_command sendkey_cmd = {
	.name = "sendkey",
	.args_help = "KEYS [HOLD-MS]",
	.help = "press keys together and release them (QEMU's names, e.g. ctrl-alt-delete)",
	.handler = cmd_sendkey,
};
static struct api_command type_cmd = {
	.name = "type",
	.args_help = "TEXT",
	.help = "type ASCII text on the guest's keyboard (\\n is Enter, \\t Tab)",
	.handler = cmd_type,
};
api_command(sendkey_cmd);
api_command(type_cmd);
