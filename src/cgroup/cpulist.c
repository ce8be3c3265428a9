/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cpulist.h"
#include "util/macro.h"

void cpulist_clear(struct cpulist *l)
{
	memset(l, 0, sizeof(*l));
}

int cpulist_add(struct cpulist *l, unsigned cpu)
{
	if (cpu >= CPULIST_MAX)
		return -ERANGE;
	l->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
	return 0;
}

bool cpulist_contains(const struct cpulist *l, unsigned cpu)
{
	if (cpu >= CPULIST_MAX)
		return false;
	return l->bits[cpu / 64] & (UINT64_C(1) << (cpu % 64));
}

unsigned cpulist_count(const struct cpulist *l)
{
	unsigned n = 0;

	for (size_t i = 0; i < ELEMENTSOF(l->bits); i++)
		n += (unsigned)__builtin_popcountll(l->bits[i]);
	return n;
}

int cpulist_nth(const struct cpulist *l, unsigned n, unsigned *ret_cpu)
{
	for (size_t i = 0; i < ELEMENTSOF(l->bits); i++) {
		uint64_t w = l->bits[i];
		unsigned c = (unsigned)__builtin_popcountll(w);

		if (n >= c) {
			n -= c;
			continue;
		}
		while (n-- > 0)
			w &= w - 1;
		*ret_cpu = (unsigned)(i * 64) + (unsigned)__builtin_ctzll(w);
		return 0;
	}
	return -ENOENT;
}

int cpulist_index(const struct cpulist *l, unsigned cpu)
{
	unsigned n = 0;

	if (!cpulist_contains(l, cpu))
		return -ENOENT;
	for (unsigned i = 0; i < cpu / 64; i++)
		n += (unsigned)__builtin_popcountll(l->bits[i]);
	if (cpu % 64)
		n += (unsigned)__builtin_popcountll(l->bits[cpu / 64] &
						    ((UINT64_C(1) << (cpu % 64)) - 1));
	return (int)n;
}

static int parse_cpu_number(const char **p, unsigned *ret)
{
	const char *s = *p;
	unsigned long v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v >= CPULIST_MAX)
			return -ERANGE;
	}
	*p = s;
	*ret = (unsigned)v;
	return 0;
}

int cpulist_parse(const char *text, struct cpulist *ret)
{
	struct cpulist l;
	const char *p = text;
	int r;

	cpulist_clear(&l);
	while (isspace((unsigned char)*p))
		p++;
	while (*p && !isspace((unsigned char)*p)) {
		unsigned a, b;

		r = parse_cpu_number(&p, &a);
		if (r < 0)
			return r;
		b = a;
		if (*p == '-') {
			p++;
			r = parse_cpu_number(&p, &b);
			if (r < 0)
				return r;
			if (b < a)
				return -EINVAL;
		}
		for (unsigned c = a; c <= b; c++)
			(void)cpulist_add(&l, c);
		if (*p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
		} else if (*p && !isspace((unsigned char)*p)) {
			return -EINVAL;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return -EINVAL;
	*ret = l;
	return 0;
}

int cpulist_format(const struct cpulist *l, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;
	bool first = true;

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (unsigned c = 0; c < CPULIST_MAX; c++) {
		unsigned end = c;

		if (!cpulist_contains(l, c))
			continue;
		while (end + 1 < CPULIST_MAX && cpulist_contains(l, end + 1))
			end++;
		if (end == c)
			fprintf(f, "%s%u", first ? "" : ",", c);
		else
			fprintf(f, "%s%u-%u", first ? "" : ",", c, end);
		first = false;
		c = end;
	}
	if (fclose(f) != 0 || !buf)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}
