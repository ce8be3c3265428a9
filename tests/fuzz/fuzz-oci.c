/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for what `procbox hook` and `procbox attach` parse: the OCI state JSON a
 * runtime writes on the hook's stdin, and /proc/<pid>/mountinfo of a container.
 * Links: src/attach/oci.c src/attach/mountinfo.c src/util/fileio.c, json-c.
 *
 * The first input byte picks the parser, the rest is its text (the state exactly as long as
 * the input, as read from a pipe; mountinfo NUL-terminated, as read from a file). A parsed
 * state must be what the spec allows (pid > 0, absolute bundle) and survive a round trip
 * through json-c.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/oci.h"
#include "util/mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void fuzz_state(const uint8_t *data, size_t size)
{
	struct oci_state s = {0}, s2 = {0};
	json_object *o;
	const char *text;
	char *buf;
	int r;

	/* An exact-size copy: ASan then sees any read past the end of the document. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return;
	memcpy(buf, data, size);
	r = oci_state_parse(buf, size, &s);
	free(buf);
	if (r < 0) {
		check(r == -EBADMSG || r == -ENOMEM || r == -EFBIG);
		check(!s.id && !s.status && !s.bundle);
		return;
	}
	check(s.pid > 0 && s.id && s.status && s.bundle && s.bundle[0] == '/');

	o = json_object_new_object();
	check(o != NULL);
	json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(o, "id", json_object_new_string(s.id));
	json_object_object_add(o, "status", json_object_new_string(s.status));
	json_object_object_add(o, "pid", json_object_new_int64(s.pid));
	json_object_object_add(o, "bundle", json_object_new_string(s.bundle));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	check(text != NULL);
	check(oci_state_parse(text, strlen(text), &s2) == 0);
	check(s2.pid == s.pid && strcmp(s2.id, s.id) == 0 && strcmp(s2.status, s.status) == 0 &&
	      strcmp(s2.bundle, s.bundle) == 0);
	json_object_put(o);
	oci_state_done(&s2);
	oci_state_done(&s);
	check(!s.id && !s.status && !s.bundle);
}

static void fuzz_mountinfo(const uint8_t *data, size_t size)
{
	struct mountinfo *mi = NULL;
	char *text;

	text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = 0;
	if (mountinfo_parse(text, &mi) == 0) {
		for (size_t i = 0; i < mi->n; i++) {
			const struct mountinfo_entry *e = &mi->entries[i];

			check(e->root && e->mountpoint && e->fstype && e->source);
			/* unescaping only ever shortens */
			check(strlen(e->mountpoint) <= size && strlen(e->root) <= size);
			check(mountinfo_find_id(mi, e->mnt_id) != NULL);
			check(mountinfo_find_top(mi, e->mountpoint) != NULL);
			(void)mountinfo_entry_is_procbox(e);
		}
		check(mountinfo_find_top(mi, "/proc/sys") == NULL ||
		      strcmp(mountinfo_find_top(mi, "/proc/sys")->mountpoint, "/proc/sys") == 0);
		mountinfo_free(mi);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_mountinfo(data + 1, size - 1);
	else
		fuzz_state(data + 1, size - 1);
	return 0;
}
