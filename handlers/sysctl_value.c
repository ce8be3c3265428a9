/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers/sysctl_value.h"
#include "util/macro.h"

/* The kernel's proc_get_long() copies a token into a 22-byte buffer and refuses one that
 * fills it: past that it could not tell "123...4" from two numbers. */
#define TOKEN_MAX 21

const struct sysctl_format sysctl_format_any =
    SYSCTL_FORMAT_INT(1, SYSCTL_MAX_FIELDS, INT64_MIN, UINT64_MAX);

/* proc_skip_spaces() skips isspace(); only these three may end a number. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_separator(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* One number at buf[*pos], as proc_get_long() and the kernel's base-0 strtoul see it. */
static int parse_token(const char *buf, size_t len, size_t *pos, struct sysctl_int *ret)
{
	size_t i = *pos, start = *pos;
	unsigned base = 10;
	uint64_t v = 0;
	bool neg = false, any = false;

	if (buf[i] == '-' && len - i > 1) {
		neg = true;
		i++;
	}
	if (buf[i] < '0' || buf[i] > '9')
		return -EINVAL;
	if (buf[i] == '0') {
		if (i + 2 < len && (buf[i + 1] == 'x' || buf[i + 1] == 'X') &&
		    digit_value(buf[i + 2]) < 16) {
			base = 16;
			i += 2;
		} else
			base = 8;
	}
	for (; i < len; i++) {
		unsigned d = (unsigned)digit_value(buf[i]);

		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
		any = true;
	}
	if (!any || i - start >= TOKEN_MAX)
		return -EINVAL;
	if (i < len && !is_separator(buf[i]))
		return -EINVAL;
	*pos = i;
	*ret = (struct sysctl_int){.neg = neg && v != 0, .abs = v};
	return 0;
}

static bool in_range(const struct sysctl_format *f, const struct sysctl_int *x)
{
	if (x->neg) {
		/* -abs >= min, computed without overflowing: min < 0 here. */
		uint64_t lim = f->min < 0 ? (uint64_t)(-(f->min + 1)) + 1 : 0;
		return x->abs <= lim;
	}
	if (x->abs > f->max)
		return false;
	return f->min <= 0 || x->abs >= (uint64_t)f->min;
}

int sysctl_value_parse(const struct sysctl_format *f, const char *buf, size_t len,
		       struct sysctl_value *ret)
{
	struct sysctl_value v = {0};
	size_t pos = 0;

	if (!f || !buf || f->n_max > SYSCTL_MAX_FIELDS || f->n_min > f->n_max)
		return -EINVAL;
	for (;;) {
		int r;

		while (pos < len && is_space(buf[pos]))
			pos++;
		if (pos == len)
			break;
		if (v.n == f->n_max)
			return -EINVAL;
		r = parse_token(buf, len, &pos, &v.field[v.n]);
		if (r < 0)
			return r;
		if (!in_range(f, &v.field[v.n]))
			return -EINVAL;
		v.n++;
	}
	if (v.n == 0 || v.n < f->n_min)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sysctl_value_format(const struct sysctl_value *v, char *buf, size_t size)
{
	size_t len = 0;

	if (!v || v->n == 0 || v->n > SYSCTL_MAX_FIELDS || size == 0)
		return -EINVAL;
	for (unsigned i = 0; i < v->n; i++) {
		int n = snprintf(buf + len, size - len, "%s%s%" PRIu64, i ? "\t" : "",
				 v->field[i].neg ? "-" : "", v->field[i].abs);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOBUFS;
		len += (size_t)n;
	}
	if (len + 2 > size)
		return -ENOBUFS;
	buf[len++] = '\n';
	buf[len] = 0;
	return (int)len;
}

int sysctl_int_compare(const struct sysctl_int *a, const struct sysctl_int *b)
{
	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->abs == b->abs)
		return 0;
	/* Among negative numbers the larger magnitude is the smaller number. */
	return (a->abs < b->abs) != a->neg ? -1 : 1;
}

void sysctl_value_merge(struct sysctl_value *base, const struct sysctl_value *upd)
{
	unsigned n = MIN(upd->n, (unsigned)SYSCTL_MAX_FIELDS);

	memcpy(base->field, upd->field, n * sizeof(upd->field[0]));
	base->n = MAX(base->n, n);
}

bool sysctl_ping_range_clamp(uint32_t min, uint32_t max, uint32_t lo, uint32_t hi,
			     uint32_t *ret_min, uint32_t *ret_max)
{
	uint32_t a = MAX(min, lo), b = MIN(max, hi);

	if (min > max || a > b)
		return false;
	*ret_min = a;
	*ret_max = b;
	return true;
}
