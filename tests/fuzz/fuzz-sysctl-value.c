/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the parser of values containers write to emulated sysctls.
 * Links: handlers/sysctl_value.c (no other source, no library beyond libc).
 *
 * The first input byte picks the entry's format (those of handlers/emulated.c, or one built
 * from the next bytes); the rest is the written text, not NUL-terminated, as a FUSE write
 * hands it over. Whatever parses must lie within the format, render within
 * SYSCTL_VALUE_TEXT_MAX and parse back to the same value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/sysctl_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sysctl_format formats[] = {
    SYSCTL_FORMAT_INT(1, 1, INT32_MIN, INT32_MAX),		    /* kernel/panic */
    SYSCTL_FORMAT_INT(1, 4, INT32_MIN, INT32_MAX),		    /* kernel/printk */
    SYSCTL_FORMAT_INT(1, 1, 0, 2),				    /* kernel/kptr_restrict */
    SYSCTL_FORMAT_INT(1, 1, 301, 4194304),			    /* kernel/pid_max */
    SYSCTL_FORMAT_INT(1, 1, 0, INT64_MAX),			    /* fs/file-max */
    SYSCTL_FORMAT_INT(1, 1, 64, 2147483584),			    /* fs/nr_open */
    SYSCTL_FORMAT_INT(1, 1, 0, UINT64_MAX),			    /* vm/mmap_min_addr */
    SYSCTL_FORMAT_INT(2, 2, 0, INT32_MAX),			    /* net/ipv4/ping_group_range */
    SYSCTL_FORMAT_INT(1, 1, 1, UINT32_MAX / 8),			    /* nf_conntrack hashsize */
    SYSCTL_FORMAT_INT(1, SYSCTL_MAX_FIELDS, INT64_MIN, UINT64_MAX), /* sysctl_format_any */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool field_in_format(const struct sysctl_format *f, const struct sysctl_int *x)
{
	if (x->neg)
		/* -abs >= min without overflow; also: zero is never negative */
		return x->abs != 0 && f->min < 0 && x->abs - 1 <= (uint64_t)(-(f->min + 1));
	return x->abs <= f->max && (f->min <= 0 || x->abs >= (uint64_t)f->min);
}

static void check_value(const struct sysctl_format *f, const struct sysctl_value *v)
{
	check(v->n >= 1 && v->n >= f->n_min && v->n <= f->n_max && v->n <= SYSCTL_MAX_FIELDS);
	for (unsigned i = 0; i < v->n; i++)
		check(field_in_format(f, &v->field[i]));
}

static void fuzz_parse(const struct sysctl_format *f, const char *buf, size_t len)
{
	struct sysctl_value v, w, before;
	char text[SYSCTL_VALUE_TEXT_MAX];
	int n, r;

	memset(&v, 0xa5, sizeof(v));
	before = v;
	r = sysctl_value_parse(f, buf, len, &v);
	if (r < 0) {
		check(r == -EINVAL);
		check(memcmp(&v, &before, sizeof(v)) == 0); /* ret untouched on failure */
		return;
	}
	check_value(f, &v);

	n = sysctl_value_format(&v, text, sizeof(text));
	check(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
	check(text[n - 1] == '\n');
	r = sysctl_value_parse(f, text, (size_t)n, &w);
	check(r == 0 && w.n == v.n);
	for (unsigned i = 0; i < v.n; i++)
		check(sysctl_int_compare(&v.field[i], &w.field[i]) == 0 &&
		      v.field[i].neg == w.field[i].neg && v.field[i].abs == w.field[i].abs);

	/* Too small a buffer is refused, never overrun. */
	for (size_t small = 0; small < (size_t)n + 1; small++) {
		char tiny[SYSCTL_VALUE_TEXT_MAX];

		r = sysctl_value_format(&v, tiny, small);
		check(r == (small == 0 ? -EINVAL : -ENOBUFS));
	}

	/* A write of fewer fields than the entry holds keeps the others. */
	w = v;
	for (unsigned i = 0; i < w.n; i++)
		w.field[i].abs ^= 1;
	sysctl_value_merge(&w, &v);
	check(w.n == v.n);
	for (unsigned i = 0; i < v.n; i++)
		check(w.field[i].abs == v.field[i].abs);

	/* Ordering is a total order: antisymmetric on every pair of fields. */
	for (unsigned i = 0; i < v.n; i++)
		for (unsigned j = 0; j < v.n; j++) {
			int a = sysctl_int_compare(&v.field[i], &v.field[j]);
			int b = sysctl_int_compare(&v.field[j], &v.field[i]);

			check((a < 0 && b > 0) || (a > 0 && b < 0) || (a == 0 && b == 0));
		}

	if (v.n == 2 && !v.field[0].neg && !v.field[1].neg && v.field[0].abs <= UINT32_MAX &&
	    v.field[1].abs <= UINT32_MAX) {
		uint32_t lo = (uint32_t)(v.field[0].abs >> 3), hi = (uint32_t)v.field[1].abs | 7;
		uint32_t a, b;

		if (sysctl_ping_range_clamp((uint32_t)v.field[0].abs, (uint32_t)v.field[1].abs, lo,
					    hi, &a, &b))
			check(a <= b && a >= lo && b <= hi && a >= v.field[0].abs &&
			      b <= v.field[1].abs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sysctl_format own;
	const struct sysctl_format *f;
	char *buf;

	if (size < 1)
		return 0;
	if (data[0] < 0xf0) {
		f = &formats[data[0] % (sizeof(formats) / sizeof(formats[0]))];
		data++, size--;
	} else {
		/* A format from the input: 1 byte of field counts, 16 of bounds. */
		if (size < 18)
			return 0;
		own.n_min = data[1] & 7;
		own.n_max = (data[1] >> 3) & 7;
		memcpy(&own.min, data + 2, 8);
		memcpy(&own.max, data + 10, 8);
		f = &own;
		data += 18, size -= 18;
		if (own.n_max > SYSCTL_MAX_FIELDS || own.n_min > own.n_max) {
			struct sysctl_value v;

			check(sysctl_value_parse(f, (const char *)data, size, &v) == -EINVAL);
			return 0;
		}
	}
	/* An exact-size copy, so that ASan sees any read past the end of the write. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fuzz_parse(f, buf, size);
	free(buf);
	return 0;
}
