// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the sendkey and type management commands with any
 * arguments, as `dpvm ctl` or a raw client sends them: any JSON value,
 * any text.  Errors must come with a message; queued input is dropped
 * after each run (no guest reads it here), so memory stays bounded.
 *
 * Input: one byte selecting the command, then the arguments' JSON text.
 */
#include "vmm/api.h"
#include "vmm/input.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	const struct api_command *c;
	json_object *args, *ret = NULL;
	char *text, *err = NULL;

	if (size < 1)
		return 0;
	c = api__find(data[0] & 1 ? "type" : "sendkey");
	if (!c)
		abort();
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	args = json_tokener_parse(text);
	if (!args) {
		/* not JSON: the words of `dpvm ctl NAME type WORD` */
		json_object *words = json_object_new_array();

		args = json_object_new_object();
		json_object_array_add(words, json_object_new_string(text));
		json_object_object_add(args, "args", words);
	}
	if (c->handler(NULL, args, &ret, &err)) {
		if (!err || !*err)
			abort();
	} else if (!ret) {
		abort();
	}
	free(err);
	json_object_put(ret);
	json_object_put(args);
	input__flush();
	free(text);
	return 0;
}
