/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cgroup/views.h"
#include "handlers/sysctl_value.h"
#include "handlers/sysfs.h"

static const struct sysctl_format one_int = SYSCTL_FORMAT_INT(1, 1, INT32_MIN, INT32_MAX);
static const struct sysctl_format bool01 = SYSCTL_FORMAT_INT(1, 1, 0, 1);
static const struct sysctl_format ulong_fmt = SYSCTL_FORMAT_INT(1, 1, 0, UINT64_MAX);
static const struct sysctl_format nr_open = SYSCTL_FORMAT_INT(1, 1, 64, 2147483584);
static const struct sysctl_format printk = SYSCTL_FORMAT_INT(1, 4, INT32_MIN, INT32_MAX);
static const struct sysctl_format range = SYSCTL_FORMAT_INT(2, 2, 0, INT32_MAX);

/* Parses s and returns the formatted value, or the error as "E<errno>". */
static const char *roundtrip(const struct sysctl_format *f, const char *s)
{
	static char out[SYSCTL_VALUE_TEXT_MAX];
	struct sysctl_value v;
	int r = sysctl_value_parse(f, s, strlen(s), &v);

	if (r < 0) {
		snprintf(out, sizeof(out), "E%d", -r);
		return out;
	}
	r = sysctl_value_format(&v, out, sizeof(out));
	cr_assert_geq(r, 0);
	cr_assert_eq((size_t)r, strlen(out));
	return out;
}

#define EINVAL_S "E22"

Test(sysctl_value, plain_integers)
{
	cr_expect_str_eq(roundtrip(&one_int, "5"), "5\n");
	cr_expect_str_eq(roundtrip(&one_int, "5\n"), "5\n");
	cr_expect_str_eq(roundtrip(&one_int, "  \t7 \n"), "7\n");
	cr_expect_str_eq(roundtrip(&one_int, "-3"), "-3\n");
	cr_expect_str_eq(roundtrip(&one_int, "-0"), "0\n");
	cr_expect_str_eq(roundtrip(&one_int, "2147483647"), "2147483647\n");
	cr_expect_str_eq(roundtrip(&one_int, "-2147483648"), "-2147483648\n");
}

/* What this kernel accepts, measured on net.core.somaxconn in a private netns. */
Test(sysctl_value, kernel_bases)
{
	cr_expect_str_eq(roundtrip(&one_int, "0x10"), "16\n");
	cr_expect_str_eq(roundtrip(&one_int, "0X1f"), "31\n");
	cr_expect_str_eq(roundtrip(&one_int, "010"), "8\n");
	cr_expect_str_eq(roundtrip(&one_int, "0"), "0\n");
	cr_expect_str_eq(roundtrip(&one_int, "-0x10"), "-16\n");
	cr_expect_str_eq(roundtrip(&one_int, "08"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&one_int, "0x"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&one_int, "0xg"), EINVAL_S);
}

Test(sysctl_value, garbage)
{
	static const char *const bad[] = {
	    "",	  " ",	 "\n",	"abc",	"12abc", "+5",	 "-",	"- 5",
	    "5-", "1.5", "5\r", "0x1g", "--1",	 "\xff", "5,6",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_str_eq(roundtrip(&one_int, bad[i]), EINVAL_S, "'%s'", bad[i]);
	/* a NUL inside the written bytes is garbage too */
	{
		struct sysctl_value v;
		cr_expect_eq(sysctl_value_parse(&one_int,
						"5\0"
						"6",
						3, &v),
			     -EINVAL);
		cr_expect_eq(sysctl_value_parse(&one_int, "5\n", 2, &v), 0);
	}
}

Test(sysctl_value, ranges_and_overflow)
{
	cr_expect_str_eq(roundtrip(&one_int, "2147483648"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&one_int, "-2147483649"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&bool01, "1"), "1\n");
	cr_expect_str_eq(roundtrip(&bool01, "2"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&bool01, "-1"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&bool01, "-0"), "0\n");
	cr_expect_str_eq(roundtrip(&nr_open, "63"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&nr_open, "64"), "64\n");
	cr_expect_str_eq(roundtrip(&nr_open, "2147483584"), "2147483584\n");
	cr_expect_str_eq(roundtrip(&nr_open, "2147483585"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&ulong_fmt, "18446744073709551615"), "18446744073709551615\n");
	cr_expect_str_eq(roundtrip(&ulong_fmt, "18446744073709551616"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&ulong_fmt, "0xffffffffffffffff"), "18446744073709551615\n");
	cr_expect_str_eq(roundtrip(&ulong_fmt, "-1"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&sysctl_format_any, "-9223372036854775808"),
			 "-9223372036854775808\n");
	/* 21 characters or more: the kernel cannot tell where such a token ends */
	cr_expect_str_eq(roundtrip(&ulong_fmt, "00000000000000000001"), "1\n");
	cr_expect_str_eq(roundtrip(&ulong_fmt, "000000000000000000001"), EINVAL_S);
}

Test(sysctl_value, field_counts)
{
	cr_expect_str_eq(roundtrip(&one_int, "8 9"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&printk, "3"), "3\n");
	cr_expect_str_eq(roundtrip(&printk, "4\t4 1  7\n"), "4\t4\t1\t7\n");
	cr_expect_str_eq(roundtrip(&printk, "1 2 3 4 5"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&range, "0 2147483647"), "0\t2147483647\n");
	cr_expect_str_eq(roundtrip(&range, "5 0"), "5\t0\n");
	cr_expect_str_eq(roundtrip(&range, "5"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&range, "1 2 3"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&range, "-1 5"), EINVAL_S);
	cr_expect_str_eq(roundtrip(&range, "0 2147483648"), EINVAL_S);
}

Test(sysctl_value, failure_leaves_output_alone)
{
	struct sysctl_value v = {.n = 1, .field = {{false, 42}}};
	char buf[4];

	cr_expect_eq(sysctl_value_parse(&one_int, "x", 1, &v), -EINVAL);
	cr_expect_eq(v.n, 1);
	cr_expect_eq(v.field[0].abs, 42);
	cr_expect_eq(sysctl_value_parse(NULL, "1", 1, &v), -EINVAL);
	v = (struct sysctl_value){.n = 1, .field = {{false, 12345}}};
	cr_expect_eq(sysctl_value_format(&v, buf, sizeof(buf)), -ENOBUFS);
	v.n = 0;
	cr_expect_eq(sysctl_value_format(&v, buf, sizeof(buf)), -EINVAL);
}

Test(sysctl_value, compare)
{
	struct sysctl_int m5 = {true, 5}, m3 = {true, 3}, z = {false, 0}, p3 = {false, 3},
			  big = {false, UINT64_MAX};

	cr_expect_lt(sysctl_int_compare(&m5, &m3), 0);
	cr_expect_gt(sysctl_int_compare(&m3, &m5), 0);
	cr_expect_lt(sysctl_int_compare(&m3, &z), 0);
	cr_expect_lt(sysctl_int_compare(&z, &p3), 0);
	cr_expect_lt(sysctl_int_compare(&p3, &big), 0);
	cr_expect_eq(sysctl_int_compare(&p3, &p3), 0);
}

Test(sysctl_value, merge_keeps_the_rest)
{
	struct sysctl_value base, upd;
	char out[SYSCTL_VALUE_TEXT_MAX];

	cr_assert_eq(sysctl_value_parse(&printk, "4 4 1 7", 7, &base), 0);
	cr_assert_eq(sysctl_value_parse(&printk, "3 5", 3, &upd), 0);
	sysctl_value_merge(&base, &upd);
	cr_assert_geq(sysctl_value_format(&base, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "3\t5\t1\t7\n");
}

Test(sysctl_value, ping_range_clamp)
{
	uint32_t a = 0, b = 0;

	/* Docker's "0 2147483647" in a container mapping 65536 gids */
	cr_expect(sysctl_ping_range_clamp(0, 2147483647, 0, 65535, &a, &b));
	cr_expect_eq(a, 0);
	cr_expect_eq(b, 65535);
	cr_expect(sysctl_ping_range_clamp(10, 20, 0, 65535, &a, &b));
	cr_expect_eq(a, 10);
	cr_expect_eq(b, 20);
	cr_expect(sysctl_ping_range_clamp(100, 200000, 1000, 2000, &a, &b));
	cr_expect_eq(a, 1000);
	cr_expect_eq(b, 2000);
	/* the kernel's "nobody": min above max */
	cr_expect_not(sysctl_ping_range_clamp(1, 0, 0, 65535, &a, &b));
	/* nothing of the range is mapped */
	cr_expect_not(sysctl_ping_range_clamp(70000, 80000, 0, 65535, &a, &b));
	cr_expect(sysctl_ping_range_clamp(0, 0, 0, 0, &a, &b));
	cr_expect_eq(a, 0);
	cr_expect_eq(b, 0);
}

Test(uptime, format)
{
	char buf[64];

	cr_expect_eq(view_uptime(1003.456, 1000.0, 1, 0, buf, sizeof(buf)), 10);
	cr_expect_str_eq(buf, "3.46 3.46\n");
	/* two CPUs, 1.5 s of them used: 2 x 3.456 - 1.5 */
	view_uptime(1003.456, 1000.0, 2, 1.5, buf, sizeof(buf));
	cr_expect_str_eq(buf, "3.46 5.41\n");
	/* a cgroup that ran more than the container's CPUs could: idle 0, never negative */
	view_uptime(1010.0, 1000.0, 1, 30.0, buf, sizeof(buf));
	cr_expect_str_eq(buf, "10.00 0.00\n");
	view_uptime(5.0, 9.0, 1, 0, buf, sizeof(buf));
	cr_expect_str_eq(buf, "0.00 0.00\n");
	cr_expect_eq(view_uptime(1e9, 0, 1, 0, buf, 4), -ENOBUFS);
}

Test(sysfs, container_uuid)
{
	uint8_t key[SYSFS_UUID_KEY_LEN], other[SYSFS_UUID_KEY_LEN], id[14], big[64] = {0};
	char buf[64], again[64], diff[64];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 14; i++)
		id[i] = (uint8_t)(i + 1);
	/* The first half hashes 00 01 .. 0e under key 00 .. 0f: SipHash-2-4's published
	 * vector for 15 bytes, a129ca6149be45e5, little-endian, version nibble set. */
	cr_expect_eq(sysfs_container_uuid(key, id, sizeof(id), buf, sizeof(buf)), 37);
	cr_expect_eq(strncmp(buf, "e545be49-61ca-49a1-", 19), 0, "%s", buf);
	cr_expect(buf[19] == '8' || buf[19] == '9' || buf[19] == 'a' || buf[19] == 'b', "%s", buf);
	sysfs_container_uuid(key, id, sizeof(id), again, sizeof(again));
	cr_expect_str_eq(buf, again, "not stable");
	id[0] ^= 1;
	sysfs_container_uuid(key, id, sizeof(id), diff, sizeof(diff));
	cr_expect_str_neq(buf, diff, "two ids share a uuid");
	id[0] ^= 1;
	memcpy(other, key, sizeof(key));
	other[15] ^= 0x80;
	sysfs_container_uuid(other, id, sizeof(id), diff, sizeof(diff));
	cr_expect_str_neq(buf, diff, "the key changes nothing");
	cr_expect_eq(sysfs_container_uuid(key, big, sizeof(big), buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(sysfs_container_uuid(key, id, sizeof(id), buf, 20), -ENOBUFS);
}

/* Any bytes: parse never reads past len, and what it accepts formats to text that parses
 * back to the same value. Fixed seed, so a failure reproduces. */
Test(sysctl_value, total_on_random_input)
{
	static const char alphabet[] = "0123456789-xXaf \t\n\r+\0\377";
	static const struct sysctl_format *const formats[] = {
	    &one_int, &bool01, &ulong_fmt, &printk, &range, &sysctl_format_any};
	unsigned seed = 12345, accepted = 0;

	for (int i = 0; i < 200000; i++) {
		char in[32];
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in));
		const struct sysctl_format *f = formats[rand_r(&seed) % 6];
		struct sysctl_value v, w;
		char out[SYSCTL_VALUE_TEXT_MAX];
		char *heap;

		for (size_t j = 0; j < len; j++)
			in[j] = alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
		/* exactly len bytes on the heap: ASan sees any read past them */
		heap = malloc(len ? len : 1);
		cr_assert_not_null(heap);
		memcpy(heap, in, len);
		if (sysctl_value_parse(f, heap, len, &v) == 0) {
			int n = sysctl_value_format(&v, out, sizeof(out));

			accepted++;
			cr_assert_gt(n, 0);
			cr_assert_eq(sysctl_value_parse(f, out, (size_t)n, &w), 0, "'%s'", out);
			cr_assert_eq(w.n, v.n);
			for (unsigned k = 0; k < v.n; k++) {
				cr_assert_eq(w.field[k].neg, v.field[k].neg);
				cr_assert_eq(w.field[k].abs, v.field[k].abs);
			}
		}
		free(heap);
	}
	cr_expect_gt(accepted, 1000, "only %u inputs accepted: the generator is too narrow",
		     accepted);
}
