/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Values written to emulated sysctls: parsed the way the kernel's proc_dointvec family
 * parses them (leading blanks, an optional '-', base 0: "0x1f" and "017" are numbers,
 * fields separated by blanks, a token of 21 characters or more refused), then checked
 * against the entry's field count and range. Pure and total: no allocation, no file
 * access, any bytes in, -EINVAL or a value out.
 *
 *	static const struct sysctl_format panic = SYSCTL_FORMAT_INT(1, 1, INT32_MIN, INT32_MAX);
 *	struct sysctl_value v;
 *	char text[SYSCTL_VALUE_TEXT_MAX];
 *	r = sysctl_value_parse(&panic, buf, len, &v);		(-EINVAL: refuse the write)
 *	r = sysctl_value_format(&v, text, sizeof(text));	("5\n"; fields joined by tabs)
 *
 * Stricter than the kernel in one way: where the kernel silently ignores what follows
 * the entry's last field (and reports a short write), this refuses the whole write.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSCTL_MAX_FIELDS 4
/* Enough for SYSCTL_MAX_FIELDS 64-bit numbers with signs, tabs and the newline. */
#define SYSCTL_VALUE_TEXT_MAX 128

/* n_min..n_max integers, each within min..max. */
struct sysctl_format {
	unsigned n_min, n_max;
	int64_t min;
	uint64_t max;
};

#define SYSCTL_FORMAT_INT(nmin, nmax, lo, hi)                                                      \
	{                                                                                          \
		.n_min = (nmin), .n_max = (nmax), .min = (lo), .max = (hi)                         \
	}

/* Anything the kernel prints: 1 to SYSCTL_MAX_FIELDS integers of any size. */
extern const struct sysctl_format sysctl_format_any;

struct sysctl_int {
	bool neg; /* never set for zero */
	uint64_t abs;
};

struct sysctl_value {
	unsigned n;
	struct sysctl_int field[SYSCTL_MAX_FIELDS];
};

/* 0 with *ret, or -EINVAL (ret untouched). buf need not be NUL-terminated. */
int sysctl_value_parse(const struct sysctl_format *f, const char *buf, size_t len,
		       struct sysctl_value *ret);

/* "v1\tv2\n": the kernel's rendering. Returns the length, or -ENOBUFS. */
int sysctl_value_format(const struct sysctl_value *v, char *buf, size_t size);

/* <0, 0, >0 as a < b, compared as signed numbers of any size. */
int sysctl_int_compare(const struct sysctl_int *a, const struct sysctl_int *b);

/* The first upd->n fields of base replaced by upd's, as a write of fewer fields than an
 * entry holds does in the kernel (kernel/printk: "3" sets the console level alone). */
void sysctl_value_merge(struct sysctl_value *base, const struct sysctl_value *upd);

/*
 * net.ipv4.ping_group_range for a container whose gid map spans lo..hi: the written range
 * min..max narrowed to the map. false when no group may ping: min > max (the kernel's own
 * "1 0") or no written gid is mapped.
 */
bool sysctl_ping_range_clamp(uint32_t min, uint32_t max, uint32_t lo, uint32_t hi,
			     uint32_t *ret_min, uint32_t *ret_max);
