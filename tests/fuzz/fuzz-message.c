/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nsenter/message.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool message_eq(const struct nsenter_message *a, const struct nsenter_message *b)
{
	if (a->type != b->type || !str_eq(a->path, b->path) || a->offset != b->offset ||
	    a->length != b->length || a->flags != b->flags || a->pass_fd != b->pass_fd ||
	    a->data_len != b->data_len || memcmp(&a->st, &b->st, sizeof(a->st)) != 0 ||
	    a->n_entries != b->n_entries || a->err != b->err || !str_eq(a->errmsg, b->errmsg))
		return false;
	if (a->data_len > 0 && memcmp(a->data, b->data, a->data_len) != 0)
		return false;
	for (size_t i = 0; i < a->n_entries; i++)
		if (!str_eq(a->entries[i].name, b->entries[i].name) ||
		    a->entries[i].ino != b->entries[i].ino ||
		    a->entries[i].type != b->entries[i].type)
			return false;
	return true;
}

/*
 * Whatever decodes must encode, decode again to the same message, and encode to the same bytes:
 * the encoder and the decoder must agree on every input the decoder lets through.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_message_ struct nsenter_message *m = NULL, *m2 = NULL;
	_cleanup_free_ char *buf = NULL, *buf2 = NULL;
	const char *reason = NULL;
	size_t len, len2;
	int r;

	r = nsenter_message_decode((const char *)data, size, &m, &reason);
	if (r < 0) {
		check(reason != NULL && m == NULL);
		return 0;
	}
	check(m != NULL);

	r = nsenter_message_encode(m, &buf, &len);
	check(r == 0);
	check(len <= NSENTER_MSG_MAX_SIZE && strlen(buf) == len);

	r = nsenter_message_decode(buf, len, &m2, &reason);
	check(r == 0);
	check(m2->type == m->type);
	check(message_eq(m, m2));

	r = nsenter_message_encode(m2, &buf2, &len2);
	check(r == 0 && len2 == len && memcmp(buf, buf2, len) == 0);
	return 0;
}
